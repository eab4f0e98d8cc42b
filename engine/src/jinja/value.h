// Jinja's values as Python sees them: None, bool, int, float, str, list/tuple, dict (insertion order), callables,
// namespaces and Undefined.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmwb::jinja {

struct Value;
using List = std::vector<Value>;
struct Dict;
struct Args;
using Function = std::function<Value(Args&)>;

struct Value {
    enum class Type { Undefined, None, Bool, Int, Float, String, Array, Dict, Callable };
    Type type = Type::Undefined;
    bool b = false;
    bool tuple = false;      // a list written or made as a tuple (repr with parentheses)
    bool namespace_ = false;  // namespace(): a dict whose attributes `set` may assign
    const char* view = nullptr;  // a list made by dict.items()/keys()/values(): repr "dict_items([...])"
    std::int64_t i = 0;
    double f = 0;
    std::string s;            // string; for Undefined, what was missing ("'x' is undefined")
    std::shared_ptr<List> list;
    std::shared_ptr<Dict> dict;
    std::shared_ptr<Function> fn;

    static Value undefined(std::string why = {});
    static Value none();
    static Value boolean(bool v);
    static Value integer(std::int64_t v);
    static Value number(double v);
    static Value string(std::string v);
    static Value make_list(List items, bool is_tuple = false);
    static Value make_dict(Dict d);
    static Value function(Function f);
    static Value from_json(const nlohmann::ordered_json& j);

    bool is_undefined() const { return type == Type::Undefined; }
    bool is_none() const { return type == Type::None; }
    bool is_string() const { return type == Type::String; }
    bool is_list() const { return type == Type::Array; }
    bool is_dict() const { return type == Type::Dict; }
    bool is_number() const { return type == Type::Int || type == Type::Float || type == Type::Bool; }
    double as_double() const { return type == Type::Float ? f : static_cast<double>(type == Type::Bool ? b : i); }
    nlohmann::ordered_json to_json() const;  // for tojson; throws std::runtime_error on a function
};

struct Dict {
    std::vector<std::pair<Value, Value>> items;  // keys: str, int, bool, None, float, tuples
    const Value* find(const Value& key) const;
    Value* find(const Value& key);
    void set(const Value& key, Value value);
};

// A call's arguments as Python binds them.
struct Args {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> named;
    std::string callee;  // for errors
    // The argument at `index` or named `name`, else `fallback`; each is taken once.
    Value get(std::size_t index, const char* name, Value fallback = Value::undefined());
    bool has(std::size_t index, const char* name) const;
};

// Python's str(), repr(), truth and ==.
std::string str(const Value& v);
std::string repr(const Value& v);
bool truthy(const Value& v);
bool equal(const Value& a, const Value& b);
std::string type_name(const Value& v);  // "str", "int", "dict object" (as Jinja words errors)
std::string float_repr(double d);

}  // namespace lmwb::jinja
