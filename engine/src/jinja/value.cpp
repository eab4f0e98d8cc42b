#include "jinja/value.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include <utf8proc.h>

#include "unicode.h"

namespace lmwb::jinja {

using namespace uni;

Value Value::undefined(std::string why) {
    Value v;
    v.s = std::move(why);
    return v;
}
Value Value::none() {
    Value v;
    v.type = Type::None;
    return v;
}
Value Value::boolean(bool x) {
    Value v;
    v.type = Type::Bool;
    v.b = x;
    return v;
}
Value Value::integer(std::int64_t x) {
    Value v;
    v.type = Type::Int;
    v.i = x;
    return v;
}
Value Value::number(double x) {
    Value v;
    v.type = Type::Float;
    v.f = x;
    return v;
}
Value Value::string(std::string x) {
    Value v;
    v.type = Type::String;
    v.s = std::move(x);
    return v;
}
Value Value::make_list(List items, bool is_tuple) {
    Value v;
    v.type = Type::Array;
    v.tuple = is_tuple;
    v.list = std::make_shared<List>(std::move(items));
    return v;
}
Value Value::make_dict(Dict d) {
    Value v;
    v.type = Type::Dict;
    v.dict = std::make_shared<Dict>(std::move(d));
    return v;
}
Value Value::function(Function f) {
    Value v;
    v.type = Type::Callable;
    v.fn = std::make_shared<Function>(std::move(f));
    return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
    switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return integer(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
        const auto u = j.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(INT64_MAX)) return number(static_cast<double>(u));
        return integer(static_cast<std::int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return number(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
        List l;
        for (const auto& e : j) l.push_back(from_json(e));
        return make_list(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
        Dict d;
        for (const auto& [k, e] : j.items()) d.items.emplace_back(string(k), from_json(e));
        return make_dict(std::move(d));
    }
    default: return undefined();
    }
}

nlohmann::ordered_json Value::to_json() const {
    switch (type) {
    case Type::None: return nullptr;
    case Type::Bool: return b;
    case Type::Int: return i;
    case Type::Float: return f;
    case Type::String: return s;
    case Type::Array: {
        auto a = nlohmann::ordered_json::array();
        for (const auto& e : *list) a.push_back(e.to_json());
        return a;
    }
    case Type::Dict: {
        auto o = nlohmann::ordered_json::object();
        for (const auto& [k, e] : dict->items) {
            // json.dumps writes int, float, bool and None keys as their JSON text
            std::string key = k.is_string() ? k.s : k.type == Type::None ? "null" : k.type == Type::Bool ? (k.b ? "true" : "false") : str(k);
            o[key] = e.to_json();
        }
        return o;
    }
    case Type::Undefined: throw std::runtime_error("Object of type Undefined is not JSON serializable");
    case Type::Callable: break;
    }
    throw std::runtime_error("Object of type function is not JSON serializable");
}

const Value* Dict::find(const Value& key) const {
    for (const auto& kv : items)
        if (equal(kv.first, key)) return &kv.second;
    return nullptr;
}
Value* Dict::find(const Value& key) {
    for (auto& kv : items)
        if (equal(kv.first, key)) return &kv.second;
    return nullptr;
}
void Dict::set(const Value& key, Value value) {
    if (Value* v = find(key)) *v = std::move(value);
    else items.emplace_back(key, std::move(value));
}

Value Args::get(std::size_t index, const char* name, Value fallback) {
    if (index < positional.size()) {
        for (const auto& n : named)
            if (n.first == name) throw std::runtime_error(callee + "() got multiple values for argument '" + name + "'");
        return positional[index];
    }
    for (auto it = named.begin(); it != named.end(); ++it)
        if (it->first == name) {
            Value v = std::move(it->second);
            named.erase(it);
            return v;
        }
    return fallback;
}
bool Args::has(std::size_t index, const char* name) const {
    if (index < positional.size()) return true;
    for (const auto& n : named)
        if (n.first == name) return true;
    return false;
}

std::string float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, r.ptr);
    std::string sign;
    if (sci[0] == '-') sign = "-", sci.erase(0, 1);
    const auto e = sci.find('e');
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int exponent = std::stoi(sci.substr(e + 1));
    const int decpt = exponent + 1, n = static_cast<int>(digits.size());
    std::string out;
    if (decpt > -4 && decpt <= 16) {  // Python's repr: fixed notation in this range
        if (decpt <= 0) out = "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
        else if (decpt >= n) out = digits + std::string(static_cast<std::size_t>(decpt - n), '0') + ".0";
        else out = digits.substr(0, static_cast<std::size_t>(decpt)) + "." + digits.substr(static_cast<std::size_t>(decpt));
    } else {
        out = digits.substr(0, 1);
        if (n > 1) out += "." + digits.substr(1);
        const int x = decpt - 1;
        std::string ex = std::to_string(std::abs(x));
        if (ex.size() < 2) ex = "0" + ex;
        out += std::string("e") + (x < 0 ? "-" : "+") + ex;
    }
    return sign + out;
}

namespace {

bool printable(char32_t c) {
    if (c == ' ') return true;
    switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
    }
}

std::string string_repr(const std::string& s) {
    const bool single = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
    const char q = single ? '"' : '\'';
    std::string out(1, q);
    for (char32_t c : decode_lossy(s)) {
        if (c == static_cast<char32_t>(q) || c == '\\') out += '\\', out += static_cast<char>(c);
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (printable(c)) append_utf8(out, c);
        else {
            char buf[16];
            if (c < 0x100) std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
            else if (c < 0x10000) std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            else std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
            out += buf;
        }
    }
    return out + q;
}

}  // namespace

std::string repr(const Value& v) {
    switch (v.type) {
    case Value::Type::String: return string_repr(v.s);
    case Value::Type::Array: {
        if (v.view) {
            Value plain = v;
            plain.view = nullptr;
            return std::string(v.view) + "(" + repr(plain) + ")";
        }
        std::string out = v.tuple ? "(" : "[";
        for (std::size_t k = 0; k < v.list->size(); ++k) out += (k ? ", " : "") + repr((*v.list)[k]);
        if (v.tuple && v.list->size() == 1) out += ",";
        return out + (v.tuple ? ")" : "]");
    }
    case Value::Type::Dict: {
        if (v.namespace_) return "<Namespace " + repr(Value::make_dict(*v.dict)) + ">";
        std::string out = "{";
        bool first = true;
        for (const auto& [k, e] : v.dict->items) out += (first ? "" : ", ") + repr(k) + ": " + repr(e), first = false;
        return out + "}";
    }
    case Value::Type::Undefined: return "Undefined";
    default: return str(v);
    }
}

std::string str(const Value& v) {
    switch (v.type) {
    case Value::Type::Undefined: return "";
    case Value::Type::None: return "None";
    case Value::Type::Bool: return v.b ? "True" : "False";
    case Value::Type::Int: return std::to_string(v.i);
    case Value::Type::Float: return float_repr(v.f);
    case Value::Type::String: return v.s;
    case Value::Type::Callable: return "<function>";
    default: return repr(v);
    }
}

bool truthy(const Value& v) {
    switch (v.type) {
    case Value::Type::Undefined: case Value::Type::None: return false;
    case Value::Type::Bool: return v.b;
    case Value::Type::Int: return v.i != 0;
    case Value::Type::Float: return v.f != 0;
    case Value::Type::String: return !v.s.empty();
    case Value::Type::Array: return !v.list->empty();
    case Value::Type::Dict: return !v.dict->items.empty() || v.namespace_;
    case Value::Type::Callable: return true;
    }
    return false;
}

bool equal(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.type != Value::Type::Float && b.type != Value::Type::Float) return (a.type == Value::Type::Bool ? a.b : a.i) == (b.type == Value::Type::Bool ? b.b : b.i);
        return a.as_double() == b.as_double();
    }
    if (a.type != b.type) return false;
    switch (a.type) {
    case Value::Type::Undefined: case Value::Type::None: return true;
    case Value::Type::String: return a.s == b.s;
    case Value::Type::Array:
        if (a.tuple != b.tuple || a.list->size() != b.list->size()) return false;
        for (std::size_t k = 0; k < a.list->size(); ++k)
            if (!equal((*a.list)[k], (*b.list)[k])) return false;
        return true;
    case Value::Type::Dict:
        if (a.dict == b.dict) return true;
        if (a.namespace_ || b.namespace_ || a.dict->items.size() != b.dict->items.size()) return false;
        for (const auto& [k, e] : a.dict->items) {
            const Value* o = b.dict->find(k);
            if (!o || !equal(e, *o)) return false;
        }
        return true;
    case Value::Type::Callable: return a.fn == b.fn;
    default: return false;
    }
}

std::string type_name(const Value& v) {
    switch (v.type) {
    case Value::Type::Undefined: return "Undefined";
    case Value::Type::None: return "NoneType";
    case Value::Type::Bool: return "bool";
    case Value::Type::Int: return "int";
    case Value::Type::Float: return "float";
    case Value::Type::String: return "str";
    case Value::Type::Array: return v.tuple ? "tuple" : "list";
    case Value::Type::Dict: return v.namespace_ ? "Namespace" : "dict";
    case Value::Type::Callable: return "function";
    }
    return "object";
}

}  // namespace lmwb::jinja
