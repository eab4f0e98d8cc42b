#include "lmwb/json_file.h"

#include <algorithm>
#include <climits>
#include <set>

#include "lmwb/files.h"

namespace lmwb::json_file {

using nlohmann::json;

json parse_strict(std::string_view text, int max_depth) {
    std::vector<std::set<std::string>> open;
    return json::parse(text.begin(), text.end(), [&](int depth, json::parse_event_t event, json& parsed) {
        switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
            if (depth >= max_depth) throw TooDeep(max_depth);
            open.emplace_back();  // an array's level holds no keys, but pops as an object's does
            break;
        case json::parse_event_t::object_end:
        case json::parse_event_t::array_end: open.pop_back(); break;
        case json::parse_event_t::key:
            if (!open.back().insert(parsed.get<std::string>()).second) throw DuplicateKey(parsed.get<std::string>());
            break;
        default: break;
        }
        return true;
    });
}

json parse(std::string_view text, const std::string& where, Fail fail, const Limits& limits) {
    try {
        return parse_strict(text, limits.max_depth);
    } catch (const DuplicateKey& e) {
        fail(where + ": " + e.what());
    } catch (const TooDeep& e) {
        fail(where + ": " + e.what());
    } catch (const json::exception& e) {  // parse errors, and numbers beyond double's range ("1e400")
        std::string why = e.what();
        const auto bracket = why.find("] ");  // "[json.exception.parse_error.101] parse error at line 1, …"
        fail(where + ": malformed JSON: " + (bracket == std::string::npos ? why : why.substr(bracket + 2)));
    }
    throw std::logic_error("json_file::parse: the fail function returned");
}

json read(const std::string& path, const std::string& needed_by, Fail fail, const Limits& limits) {
    std::string why;
    const auto content = files::read_regular(path, &why, limits.max_bytes);
    if (!content) fail(path + ": cannot open: " + why + (needed_by.empty() ? "" : " (" + needed_by + ")"));
    return parse(*content, path, fail, limits);
}

json read_object(const std::string& path, const std::string& needed_by, Fail fail, const Limits& limits) {
    json j = read(path, needed_by, fail, limits);
    if (!j.is_object()) fail(path + ": expected a JSON object, found " + std::string(j.type_name()));
    return j;
}

Object::Object(const nlohmann::json& value, std::string where, Fail thrower, std::string pointer)
    : j_(value), where_(std::move(where)), fail_(thrower), pointer_(std::move(pointer)) {
    if (!j_.is_object()) fail_(where_ + ": " + (pointer_.empty() ? std::string("/") : pointer_) + ": expected an object, found " + j_.type_name());
}

void Object::fail(const std::string& key, const std::string& what) const {
    fail_(where_ + ": " + pointer(key) + ": " + what);
    throw std::logic_error("json_file::Object: the fail function returned");
}

bool Object::has(const std::string& key) const { return j_.contains(key) && !j_[key].is_null(); }

const nlohmann::json& Object::field(const std::string& key) const {
    if (!has(key)) fail(key, "missing field");
    return j_[key];
}

std::int64_t Object::integer(const std::string& key) const {
    const nlohmann::json& v = field(key);
    if (!v.is_number_integer()) fail(key, "expected an integer, found " + std::string(v.type_name()));
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) fail(key, "is out of range");
    return v.get<std::int64_t>();
}

std::int64_t Object::integer(const std::string& key, std::int64_t fallback) const { return has(key) ? integer(key) : fallback; }

double Object::number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const nlohmann::json& v = j_[key];
    if (!v.is_number()) fail(key, "expected a number, found " + std::string(v.type_name()));
    return v.get<double>();
}

bool Object::boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const nlohmann::json& v = j_[key];
    if (!v.is_boolean()) fail(key, "expected true or false, found " + std::string(v.type_name()));
    return v.get<bool>();
}

std::string Object::string(const std::string& key, const std::string& fallback) const { return has(key) ? string(key) : fallback; }

std::string Object::string(const std::string& key) const {
    const nlohmann::json& v = field(key);
    if (!v.is_string()) fail(key, "expected a string, found " + std::string(v.type_name()));
    return v.get<std::string>();
}

std::vector<std::string> Object::strings(const std::string& key) const {
    std::vector<std::string> out;
    if (!has(key)) return out;
    const nlohmann::json& v = j_[key];
    if (!v.is_array()) fail(key, "expected a list of strings, found " + std::string(v.type_name()));
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string()) fail(key + "/" + std::to_string(i), "expected a string, found " + std::string(v[i].type_name()));
        out.push_back(v[i].get<std::string>());
    }
    return out;
}

Object Object::object(const std::string& key) const { return Object(field(key), where_, fail_, pointer(key)); }

void Object::only(const std::vector<std::string>& keys) const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
        if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) fail_(where_ + ": unknown field '" + pointer(it.key()) + "'");
}

}  // namespace lmwb::json_file
