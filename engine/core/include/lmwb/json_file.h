// One typed JSON layer for every file the workbench reads (config.json, lmwb.json, generation_config.json, suite
// definitions and items, reports, journals, ratings): the rules that hold for all of them once — a regular file, a
// size cap, unique keys, a nesting limit — and typed access whose errors read "file: /field: expected X, found Y".
// Each reader names its own exception type (ModelError, SuiteError, ReportError) through `Fail`.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmwb::json_file {

// The parse every reader shares: unique keys and a nesting limit. Throws nlohmann's exceptions for malformed text
// (and numbers beyond double's range), DuplicateKey and TooDeep.
struct DuplicateKey : std::runtime_error {
    explicit DuplicateKey(const std::string& name) : std::runtime_error("the key '" + name + "' appears twice in one object"), key(name) {}
    std::string key;
};
struct TooDeep : std::runtime_error {
    explicit TooDeep(int depth) : std::runtime_error("nested deeper than " + std::to_string(depth) + " levels") {}
};
nlohmann::json parse_strict(std::string_view text, int max_depth = 64);

// Throws the reader's own error type with this message (never returns).
using Fail = void (*)(const std::string& message);

struct Limits {
    std::size_t max_bytes = std::size_t{256} << 20;  // a file larger than this is refused before it is parsed
    int max_depth = 64;                               // objects and arrays nested deeper are refused
};

// The JSON value of a file: "<path>: cannot open: no such file (<needed_by>)", "<path>: malformed JSON: …",
// "<path>: the key 'x' appears twice in one object", "<path>: nested deeper than 64 levels".
nlohmann::json read(const std::string& path, const std::string& needed_by, Fail fail, const Limits& limits = {});
// The same rules for text from elsewhere (a JSONL line: where = "items.jsonl:12").
nlohmann::json parse(std::string_view text, const std::string& where, Fail fail, const Limits& limits = {});
// read(), and the value must be an object.
nlohmann::json read_object(const std::string& path, const std::string& needed_by, Fail fail, const Limits& limits = {});

// An object of a file with typed fields. Errors name the file and the field's JSON pointer.
class Object {
public:
    Object(const nlohmann::json& value, std::string where, Fail thrower, std::string pointer = {});
    const nlohmann::json& json() const { return j_; }
    // The field is there and not null.
    bool has(const std::string& key) const;
    std::int64_t integer(const std::string& key) const;  // required
    std::int64_t integer(const std::string& key, std::int64_t fallback) const;
    double number(const std::string& key, double fallback) const;
    bool boolean(const std::string& key, bool fallback) const;
    std::string string(const std::string& key, const std::string& fallback) const;
    std::string string(const std::string& key) const;  // required
    std::vector<std::string> strings(const std::string& key) const;  // absent: empty
    Object object(const std::string& key) const;        // required, an object
    // Every key is one of these: "unknown field '/few_shot/counts'".
    void only(const std::vector<std::string>& keys) const;
    [[noreturn]] void fail(const std::string& key, const std::string& what) const;
    std::string pointer(const std::string& key) const { return pointer_ + "/" + key; }

private:
    const nlohmann::json& field(const std::string& key) const;
    const nlohmann::json& j_;
    std::string where_;
    Fail fail_;
    std::string pointer_;
};

}  // namespace lmwb::json_file
