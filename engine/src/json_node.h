// Read-only view of a JSON value that knows its file and JSON path, so every error names both.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "lmwb/tokenizer.h"

namespace lmwb {

class JsonNode {
public:
    JsonNode(const nlohmann::json& value, std::string path, const std::string& file)
        : value_(&value), path_(std::move(path)), file_(&file) {}

    const nlohmann::json& raw() const { return *value_; }
    const std::string& path() const { return path_; }
    const std::string& file() const { return *file_; }
    bool is_null() const { return value_->is_null(); }
    bool is_string() const { return value_->is_string(); }
    bool is_array() const { return value_->is_array(); }
    bool is_object() const { return value_->is_object(); }

    // Present and not null.
    bool has(const std::string& key) const {
        return value_->is_object() && value_->contains(key) && !(*value_)[key].is_null();
    }
    JsonNode at(const std::string& key) const {
        if (!value_->is_object()) fail("expected an object, found " + type_name());
        auto it = value_->find(key);
        if (it == value_->end()) fail("missing field '" + key + "'", path_ + "/" + key);
        return JsonNode(*it, path_ + "/" + key, *file_);
    }
    std::optional<JsonNode> opt(const std::string& key) const {
        if (!has(key)) return std::nullopt;
        return at(key);
    }
    JsonNode at(std::size_t index) const {
        if (!value_->is_array()) fail("expected an array, found " + type_name());
        if (index >= value_->size()) fail("index " + std::to_string(index) + " out of range");
        return JsonNode((*value_)[index], path_ + "/" + std::to_string(index), *file_);
    }
    std::size_t size() const {
        if (!value_->is_array() && !value_->is_object()) fail("expected an array, found " + type_name());
        return value_->size();
    }

    std::string str() const {
        if (!value_->is_string()) fail("expected a string, found " + type_name());
        return value_->get<std::string>();
    }
    long long integer() const {
        if (!value_->is_number_integer()) fail("expected an integer, found " + type_name());
        return value_->get<long long>();
    }
    std::int32_t token_id() const {
        long long v = integer();
        if (v < 0 || v > INT32_MAX) fail("token id " + std::to_string(v) + " out of range");
        return static_cast<std::int32_t>(v);
    }
    bool boolean() const {
        if (!value_->is_boolean()) fail("expected true or false, found " + type_name());
        return value_->get<bool>();
    }
    double number() const {
        if (!value_->is_number()) fail("expected a number, found " + type_name());
        return value_->get<double>();
    }

    std::string str(const std::string& key, const std::string& fallback) const {
        return has(key) ? at(key).str() : fallback;
    }
    bool boolean(const std::string& key, bool fallback) const { return has(key) ? at(key).boolean() : fallback; }
    long long integer(const std::string& key, long long fallback) const {
        return has(key) ? at(key).integer() : fallback;
    }

    [[noreturn]] void fail(const std::string& message) const { fail(message, path_); }
    [[noreturn]] void fail(const std::string& message, const std::string& path) const {
        throw TokenizerError(*file_ + ": " + (path.empty() ? "/" : path) + ": " + message);
    }
    std::string type_name() const { return value_->type_name(); }

private:
    const nlohmann::json* value_;
    std::string path_;
    const std::string* file_;
};

}  // namespace lmwb
