// What the built-ins share (operators.cpp, methods.cpp, filters.cpp, template.cpp): Python's integer and comparison
// rules, slicing, json.dumps, and str's methods.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "jinja/value.h"

namespace lmwb::jinja {

std::int64_t as_int(const Value& v, const char* what);  // an int or bool, else EvalError naming `what`
bool is_int(const Value& v);
int compare_values(const Value& a, const Value& b, const std::string& op);  // Python's ordering; EvalError between types
Value python_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

struct JsonStyle {
    int indent = -1;
    std::string item = ", ", key = ": ";
    bool sort_keys = false, ensure_ascii = false;
};
void json_dump(std::string& out, const nlohmann::ordered_json& j, const JsonStyle& st, int level);
std::string dump_value(const Value& v, const JsonStyle& st);  // EvalError for what JSON cannot hold

Value string_method(const std::string& s, const std::string& name);  // undefined when str has no such method

}  // namespace lmwb::jinja
