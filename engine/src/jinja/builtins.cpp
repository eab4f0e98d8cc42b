// Jinja2's filters and tests (filters.py, tests.py), the methods of str, list and dict that templates call, the
// sandbox's globals (range, dict, namespace) and transformers' (raise_exception, strftime_now, tojson).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include "jinja/parse.h"
#include "jinja/render.h"
#include "jinja/strings.h"
#include "unicode.h"

namespace lmwb::jinja {

using namespace uni;

namespace {

constexpr std::int64_t kMaxRange = 100000;  // the sandbox's MAX_RANGE

std::int64_t as_int(const Value& v, const char* what) {
    if (v.type == Value::Type::Int) return v.i;
    if (v.type == Value::Type::Bool) return v.b;
    throw EvalError{std::string(what) + ": an integer is required, not " + type_name(v)};
}

template <typename Op>
std::int64_t checked(Op op, std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    if (op(a, b, &r)) throw EvalError{"integer overflow (Python's integers are unbounded; these are 64-bit)"};
    return r;
}
bool add(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool sub(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool mul(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_mul_overflow(a, b, r); }

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
    throw EvalError{"unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'"};
}

bool is_int(const Value& v) { return v.type == Value::Type::Int || v.type == Value::Type::Bool; }

Value repeat(const Value& seq, std::int64_t n) {
    if (n <= 0) return seq.is_string() ? Value::string("") : Value::make_list({}, seq.tuple);
    if (seq.is_string()) {
        if (static_cast<double>(seq.s.size()) * static_cast<double>(n) > 64e6) throw EvalError{"the repeated string is too long"};
        std::string out;
        for (std::int64_t k = 0; k < n; ++k) out += seq.s;
        return Value::string(out);
    }
    if (static_cast<double>(seq.list->size()) * static_cast<double>(n) > 1e7) throw EvalError{"the repeated list is too long"};
    List out;
    for (std::int64_t k = 0; k < n; ++k) out.insert(out.end(), seq.list->begin(), seq.list->end());
    return Value::make_list(std::move(out), seq.tuple);
}

double py_mod(double a, double b) {
    double m = std::fmod(a, b);
    if (m != 0 && ((m < 0) != (b < 0))) m += b;
    return m;
}

int compare_values(const Value& a, const Value& b, const std::string& op) {
    if (a.is_number() && b.is_number()) {
        if (is_int(a) && is_int(b)) {
            const std::int64_t x = as_int(a, ""), y = as_int(b, "");
            return x < y ? -1 : x > y ? 1 : 0;
        }
        const double x = a.as_double(), y = b.as_double();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.is_string() && b.is_string()) return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;  // UTF-8 order is code point order
    if (a.is_list() && b.is_list() && a.tuple == b.tuple) {
        for (std::size_t k = 0; k < std::min(a.list->size(), b.list->size()); ++k)
            if (!equal((*a.list)[k], (*b.list)[k])) return compare_values((*a.list)[k], (*b.list)[k], op);
        return a.list->size() < b.list->size() ? -1 : a.list->size() > b.list->size() ? 1 : 0;
    }
    throw EvalError{"'" + op + "' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'"};
}

Value python_slice(const Value& obj, const Value& start, const Value& stop, const Value& step_v) {
    const std::int64_t step = step_v.is_none() ? 1 : as_int(step_v, "slice indices");
    if (step == 0) throw EvalError{"slice step cannot be zero"};
    std::u32string chars;
    std::int64_t n;
    if (obj.is_string()) chars = decode_lossy(obj.s), n = static_cast<std::int64_t>(chars.size());
    else if (obj.is_list()) n = static_cast<std::int64_t>(obj.list->size());
    else if (obj.is_undefined()) throw EvalError{obj.s.empty() ? "undefined value" : obj.s};
    else throw EvalError{"'" + type_name(obj) + "' object is not subscriptable"};
    auto bound = [&](const Value& v, std::int64_t fallback) {
        if (v.is_none()) return fallback;
        std::int64_t i = as_int(v, "slice indices");
        if (i < 0) i += n;
        if (step > 0) return std::clamp<std::int64_t>(i, 0, n);
        return std::clamp<std::int64_t>(i, -1, n - 1);
    };
    const std::int64_t a = bound(start, step > 0 ? 0 : n - 1), z = bound(stop, step > 0 ? n : -1);
    std::vector<std::int64_t> idx;
    for (std::int64_t k = a; step > 0 ? k < z : k > z; k += step) idx.push_back(k);
    if (obj.is_string()) {
        std::u32string out;
        for (auto k : idx) out += chars[static_cast<std::size_t>(k)];
        return Value::string(to_utf8(out));
    }
    List out;
    for (auto k : idx) out.push_back((*obj.list)[static_cast<std::size_t>(k)]);
    return Value::make_list(std::move(out), obj.tuple);
}

void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
    out += '"';
    for (char32_t c : decode_lossy(s)) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default: {
            char buf[16];
            if (c < 0x20 || (ensure_ascii && c > 0x7e)) {
                if (c > 0xFFFF) {
                    const char32_t v = c - 0x10000;
                    std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)), static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
                } else {
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                }
                out += buf;
            } else {
                append_utf8(out, c);
            }
        }
        }
    }
    out += '"';
}

struct JsonStyle {
    int indent = -1;
    std::string item = ", ", key = ": ";
    bool sort_keys = false, ensure_ascii = false;
};

void json_dump(std::string& out, const nlohmann::ordered_json& j, const JsonStyle& st, int level) {
    auto newline = [&](int lv) {
        if (st.indent < 0) return;
        out += '\n';
        out += std::string(static_cast<std::size_t>(st.indent * lv), ' ');
    };
    switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: out += "null"; return;
    case nlohmann::ordered_json::value_t::boolean: out += j.get<bool>() ? "true" : "false"; return;
    case nlohmann::ordered_json::value_t::number_integer: out += std::to_string(j.get<std::int64_t>()); return;
    case nlohmann::ordered_json::value_t::number_unsigned: out += std::to_string(j.get<std::uint64_t>()); return;
    case nlohmann::ordered_json::value_t::number_float: {
        const double d = j.get<double>();
        out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity") : float_repr(d);
        return;
    }
    case nlohmann::ordered_json::value_t::string: json_string(out, j.get<std::string>(), st.ensure_ascii); return;
    case nlohmann::ordered_json::value_t::array: {
        if (j.empty()) { out += "[]"; return; }
        out += '[';
        bool first = true;
        for (const auto& e : j) {
            if (!first) out += st.item;
            first = false;
            newline(level + 1);
            json_dump(out, e, st, level + 1);
        }
        newline(level);
        out += ']';
        return;
    }
    case nlohmann::ordered_json::value_t::object: {
        if (j.empty()) { out += "{}"; return; }
        std::vector<std::pair<std::string, const nlohmann::ordered_json*>> members;
        for (const auto& [k, v] : j.items()) members.emplace_back(k, &v);
        if (st.sort_keys) std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        out += '{';
        bool first = true;
        for (const auto& [k, v] : members) {
            if (!first) out += st.item;
            first = false;
            newline(level + 1);
            json_string(out, k, st.ensure_ascii);
            out += st.key;
            json_dump(out, *v, st, level + 1);
        }
        newline(level);
        out += '}';
        return;
    }
    default: out += "null";
    }
}

std::string dump_value(const Value& v, const JsonStyle& st) {
    std::string out;
    try {
        json_dump(out, v.to_json(), st, 0);
    } catch (const std::runtime_error& e) {
        throw EvalError{e.what()};
    }
    return out;
}

Value unsafe(const std::string& type, const std::string& name) {
    return Value::function([type, name](Args&) -> Value { throw EvalError{"access to attribute '" + name + "' of '" + type + "' object is unsafe."}; });
}

std::string text_arg(Args& a, std::size_t i, const char* name) {
    const Value v = a.get(i, name);
    if (!v.is_string()) throw EvalError{a.callee + "() argument '" + name + "' must be str, not " + type_name(v)};
    return v.s;
}

Value string_method(const std::string& s, const std::string& name) {
    auto m = [&](auto body) { return Value::function([s, body, name](Args& a) -> Value { a.callee = name; return body(s, a); }); };
    if (name == "strip" || name == "lstrip" || name == "rstrip")
        return m([name](const std::string& x, Args& a) { return Value::string(py_strip(x, a.get(0, "chars", Value::none()), name != "rstrip", name != "lstrip")); });
    if (name == "split" || name == "rsplit") {
        return m([name](const std::string& x, Args& a) {
            const Value sep = a.get(0, "sep", Value::none());
            const Value maxsplit = a.get(1, "maxsplit", Value::integer(-1));
            List out;
            for (auto& p : py_split(x, sep, as_int(maxsplit, "maxsplit"), name == "rsplit")) out.push_back(Value::string(p));
            return Value::make_list(std::move(out));
        });
    }
    if (name == "startswith" || name == "endswith") {
        return m([name](const std::string& x, Args& a) {
            const Value what = a.get(0, name == "startswith" ? "prefix" : "suffix");
            List options = what.is_list() ? *what.list : List{what};
            for (const auto& o : options) {
                if (!o.is_string()) throw EvalError{name + " first arg must be str or a tuple of str, not " + type_name(o)};
                const bool hit = name == "startswith" ? x.compare(0, o.s.size(), o.s) == 0
                                                      : x.size() >= o.s.size() && x.compare(x.size() - o.s.size(), o.s.size(), o.s) == 0;
                if (hit) return Value::boolean(true);
            }
            return Value::boolean(false);
        });
    }
    if (name == "upper") return m([](const std::string& x, Args&) { return Value::string(py_upper(x)); });
    if (name == "lower" || name == "casefold") return m([](const std::string& x, Args&) { return Value::string(py_lower(x)); });
    if (name == "title") return m([](const std::string& x, Args&) { return Value::string(py_title(x)); });
    if (name == "capitalize") return m([](const std::string& x, Args&) { return Value::string(py_capitalize(x)); });
    if (name == "replace")
        return m([](const std::string& x, Args& a) {
            const std::string old = text_arg(a, 0, "old"), with = text_arg(a, 1, "new");
            return Value::string(py_replace(x, old, with, as_int(a.get(2, "count", Value::integer(-1)), "count")));
        });
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex")
        return m([name](const std::string& x, Args& a) {
            const std::int64_t i = py_find(x, text_arg(a, 0, "sub"), name[0] == 'r');
            if (i < 0 && name.find("index") != std::string::npos) throw EvalError{"substring not found"};
            return Value::integer(i);
        });
    if (name == "count") return m([](const std::string& x, Args& a) { return Value::integer(py_count(x, text_arg(a, 0, "sub"))); });
    if (name == "join")
        return m([](const std::string& x, Args& a) {
            const Value items = a.get(0, "iterable");
            if (!items.is_list()) throw EvalError{"can only join an iterable"};
            std::string out;
            for (std::size_t k = 0; k < items.list->size(); ++k) {
                const Value& e = (*items.list)[k];
                if (!e.is_string()) throw EvalError{"sequence item " + std::to_string(k) + ": expected str instance, " + type_name(e) + " found"};
                out += (k ? x : "") + e.s;
            }
            return Value::string(out);
        });
    if (name == "splitlines")
        return m([](const std::string& x, Args& a) {
            List out;
            for (auto& p : py_splitlines(x, truthy(a.get(0, "keepends", Value::boolean(false))))) out.push_back(Value::string(p));
            return Value::make_list(std::move(out));
        });
    if (name == "format") return m([](const std::string& x, Args& a) { return Value::string(py_format(x, a)); });
    if (name == "removeprefix" || name == "removesuffix")
        return m([name](const std::string& x, Args& a) {
            const std::string p = text_arg(a, 0, "prefix");
            if (name == "removeprefix") return Value::string(x.compare(0, p.size(), p) == 0 ? x.substr(p.size()) : x);
            return Value::string(x.size() >= p.size() && x.compare(x.size() - p.size(), p.size(), p) == 0 ? x.substr(0, x.size() - p.size()) : x);
        });
    auto predicate = [&](auto each) {
        return m([each](const std::string& x, Args&) {
            const auto chars = decode_lossy(x);
            return Value::boolean(!chars.empty() && std::all_of(chars.begin(), chars.end(), each));
        });
    };
    if (name == "isspace") return predicate([](char32_t c) { return python_space(c); });
    if (name == "isdigit" || name == "isdecimal" || name == "isnumeric") return predicate([](char32_t c) { return is_numeric(c); });
    if (name == "isalpha") return predicate([](char32_t c) { return is_rust_word(c) && !is_numeric(c) && c != '_'; });
    if (name == "isalnum") return predicate([](char32_t c) { return is_rust_word(c) && c != '_'; });
    if (name == "isupper") return m([](const std::string& x, Args&) { return Value::boolean(py_upper(x) == x && py_lower(x) != x); });
    if (name == "islower") return m([](const std::string& x, Args&) { return Value::boolean(py_lower(x) == x && py_upper(x) != x); });
    if (name == "zfill")
        return m([](const std::string& x, Args& a) {
            const std::int64_t w = as_int(a.get(0, "width"), "width"), n = static_cast<std::int64_t>(py_length(x));
            if (w <= n) return Value::string(x);
            const std::size_t sign = !x.empty() && (x[0] == '-' || x[0] == '+') ? 1 : 0;
            std::string out = x;
            out.insert(sign, std::string(static_cast<std::size_t>(w - n), '0'));
            return Value::string(out);
        });
    if (name == "center" || name == "ljust" || name == "rjust")
        return m([name](const std::string& x, Args& a) {
            const std::int64_t w = as_int(a.get(0, "width"), "width"), n = static_cast<std::int64_t>(py_length(x));
            const Value fill = a.get(1, "fillchar", Value::string(" "));
            if (w <= n) return Value::string(x);
            const auto pad = static_cast<std::size_t>(w - n);
            std::string f;
            for (std::size_t k = 0; k < pad; ++k) f += fill.s;
            if (name == "ljust") return Value::string(x + f);
            if (name == "rjust") return Value::string(f + x);
            const std::size_t left = pad / 2 + (pad & static_cast<std::size_t>(w) & 1);
            std::string l, r;
            for (std::size_t k = 0; k < left; ++k) l += fill.s;
            for (std::size_t k = left; k < pad; ++k) r += fill.s;
            return Value::string(l + x + r);
        });
    return Value::undefined("'str object' has no attribute '" + name + "'");
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b) {
    if (op == "+") {
        if (is_int(a) && is_int(b)) return Value::integer(checked(add, as_int(a, ""), as_int(b, "")));
        if (a.is_number() && b.is_number()) return Value::number(a.as_double() + b.as_double());
        if (a.is_string() && b.is_string()) return Value::string(a.s + b.s);
        if (a.is_list() && b.is_list() && a.tuple == b.tuple) {
            List out = *a.list;
            out.insert(out.end(), b.list->begin(), b.list->end());
            return Value::make_list(std::move(out), a.tuple);
        }
        if (a.is_string() || b.is_string()) throw EvalError{a.is_string() ? "can only concatenate str (not \"" + type_name(b) + "\") to str"
                                                                          : "unsupported operand type(s) for +: '" + type_name(a) + "' and 'str'"};
        unsupported(op, a, b);
    }
    if (op == "-") {
        if (is_int(a) && is_int(b)) return Value::integer(checked(sub, as_int(a, ""), as_int(b, "")));
        if (a.is_number() && b.is_number()) return Value::number(a.as_double() - b.as_double());
        unsupported(op, a, b);
    }
    if (op == "*") {
        if (is_int(a) && is_int(b)) return Value::integer(checked(mul, as_int(a, ""), as_int(b, "")));
        if (a.is_number() && b.is_number()) return Value::number(a.as_double() * b.as_double());
        if ((a.is_string() || a.is_list()) && is_int(b)) return repeat(a, as_int(b, ""));
        if ((b.is_string() || b.is_list()) && is_int(a)) return repeat(b, as_int(a, ""));
        unsupported(op, a, b);
    }
    if (op == "/") {
        if (!a.is_number() || !b.is_number()) unsupported(op, a, b);
        if (b.as_double() == 0) throw EvalError{"division by zero"};
        return Value::number(a.as_double() / b.as_double());
    }
    if (op == "//" || op == "%") {
        if (op == "%" && a.is_string()) return Value::string(py_percent(a.s, b));
        if (!a.is_number() || !b.is_number()) unsupported(op, a, b);
        if (b.as_double() == 0) throw EvalError{op == "%" ? "integer modulo by zero" : "integer division or modulo by zero"};
        if (is_int(a) && is_int(b)) {
            const std::int64_t x = as_int(a, ""), y = as_int(b, "");
            std::int64_t q = x / y, r = x % y;
            if (r != 0 && ((r < 0) != (y < 0))) --q, r += y;
            return Value::integer(op == "//" ? q : r);
        }
        const double x = a.as_double(), y = b.as_double();
        return Value::number(op == "//" ? std::floor((x - py_mod(x, y)) / y + 0.5) : py_mod(x, y));
    }
    if (op == "**") {
        if (!a.is_number() || !b.is_number()) unsupported("** or pow()", a, b);
        if (is_int(a) && is_int(b) && as_int(b, "") >= 0) {
            std::int64_t r = 1, base = as_int(a, "");
            for (std::int64_t k = 0; k < as_int(b, ""); ++k) r = checked(mul, r, base);
            return Value::integer(r);
        }
        return Value::number(std::pow(a.as_double(), b.as_double()));
    }
    throw EvalError{"unknown operator " + op};
}

bool compare_op(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return equal(a, b);
    if (op == "!=") return !equal(a, b);
    if (a.is_undefined() || b.is_undefined()) throw EvalError{(a.is_undefined() ? a : b).s.empty() ? "undefined value" : (a.is_undefined() ? a : b).s};
    const int c = compare_values(a, b, op);
    if (op == "<") return c < 0;
    if (op == ">") return c > 0;
    if (op == "<=") return c <= 0;
    return c >= 0;
}

bool contains(const Value& container, const Value& item) {
    switch (container.type) {
    case Value::Type::String:
        if (!item.is_string()) throw EvalError{"'in <string>' requires string as left operand, not " + type_name(item)};
        return container.s.find(item.s) != std::string::npos;
    case Value::Type::Array:
        return std::any_of(container.list->begin(), container.list->end(), [&](const Value& v) { return equal(v, item); });
    case Value::Type::Dict: return container.dict->find(item) != nullptr;
    case Value::Type::Undefined: return false;  // iterating an Undefined gives nothing
    default: throw EvalError{"argument of type '" + type_name(container) + "' is not iterable"};
    }
}

Value bound_method(const Value& obj, const std::string& name) {
    if (obj.is_string()) return string_method(obj.s, name);
    if (obj.is_dict() && !obj.namespace_) {
        const Value self = obj;
        if (name == "items")
            return Value::function([self](Args&) {
                List out;
                for (const auto& [k, v] : self.dict->items) out.push_back(Value::make_list({k, v}, true));
                Value r = Value::make_list(std::move(out));
                r.view = "dict_items";
                return r;
            });
        if (name == "keys" || name == "values")
            return Value::function([self, name](Args&) {
                List out;
                for (const auto& [k, v] : self.dict->items) out.push_back(name == "keys" ? k : v);
                Value r = Value::make_list(std::move(out));
                r.view = name == "keys" ? "dict_keys" : "dict_values";
                return r;
            });
        if (name == "get")
            return Value::function([self](Args& a) {
                a.callee = "get";
                const Value key = a.get(0, "key");
                const Value fallback = a.get(1, "default", Value::none());
                const Value* v = self.dict->find(key);
                return v ? *v : fallback;
            });
        if (name == "copy") return Value::function([self](Args&) { return Value::make_dict(*self.dict); });
        for (const char* m : {"pop", "popitem", "setdefault", "update", "clear"})
            if (name == m) return unsafe("dict", name);
        return Value::undefined();
    }
    if (obj.is_list()) {
        const Value self = obj;
        if (name == "index")
            return Value::function([self](Args& a) {
                const Value x = a.get(0, "value");
                for (std::size_t k = 0; k < self.list->size(); ++k)
                    if (equal((*self.list)[k], x)) return Value::integer(static_cast<std::int64_t>(k));
                throw EvalError{repr(x) + " is not in list"};
            });
        if (name == "count")
            return Value::function([self](Args& a) {
                const Value x = a.get(0, "value");
                return Value::integer(std::count_if(self.list->begin(), self.list->end(), [&](const Value& v) { return equal(v, x); }));
            });
        if (name == "copy" && !obj.tuple) return Value::function([self](Args&) { return Value::make_list(*self.list); });
        for (const char* m : {"append", "pop", "extend", "insert", "remove", "reverse", "sort", "clear"})
            if (name == m && !obj.tuple) return unsafe("list", name);
    }
    return Value::undefined();
}

Value Renderer::get_attr(const Value& obj, const std::string& name) const {
    if (obj.is_undefined()) throw EvalError{obj.s.empty() ? "undefined value has no attribute '" + name + "'" : obj.s};
    if (name.size() > 1 && name[0] == '_') return Value::undefined("access to attribute '" + name + "' is unsafe");
    if (obj.is_dict()) {
        Value m = bound_method(obj, name);
        if (!m.is_undefined()) return m;
        if (const Value* v = obj.dict->find(Value::string(name))) return *v;
        return Value::undefined("'" + std::string(obj.namespace_ ? "Namespace" : "dict") + " object' has no attribute '" + name + "'");
    }
    Value m = bound_method(obj, name);
    if (!m.is_undefined()) return m;
    return Value::undefined("'" + type_name(obj) + " object' has no attribute '" + name + "'");
}

Value Renderer::get_item(const Value& obj, const Value& key) const {
    if (obj.is_undefined()) throw EvalError{obj.s.empty() ? "undefined value has no item" : obj.s};
    if (obj.is_dict()) {
        if (const Value* v = obj.dict->find(key)) return *v;
        if (key.is_string()) {
            Value m = bound_method(obj, key.s);
            if (!m.is_undefined()) return m;
        }
        return Value::undefined("'dict object' has no attribute " + repr(key));
    }
    if ((obj.is_list() || obj.is_string()) && is_int(key)) {
        std::int64_t i = as_int(key, "");
        if (obj.is_list()) {
            const auto n = static_cast<std::int64_t>(obj.list->size());
            if (i < 0) i += n;
            if (i < 0 || i >= n) return Value::undefined("'" + type_name(obj) + " object' has no element " + std::to_string(as_int(key, "")));
            return (*obj.list)[static_cast<std::size_t>(i)];
        }
        const auto chars = decode_lossy(obj.s);
        const auto n = static_cast<std::int64_t>(chars.size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value::undefined("'str object' has no element " + std::to_string(as_int(key, "")));
        std::string c;
        append_utf8(c, chars[static_cast<std::size_t>(i)]);
        return Value::string(c);
    }
    if (key.is_string()) return get_attr(obj, key.s);
    return Value::undefined("'" + type_name(obj) + " object' has no element " + repr(key));
}

bool Renderer::test(const std::string& name, const Value& v, Args& a) {
    auto arg = [&]() { return a.get(0, "other"); };
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "boolean") return v.type == Value::Type::Bool;
    if (name == "true") return v.type == Value::Type::Bool && v.b;
    if (name == "false") return v.type == Value::Type::Bool && !v.b;
    if (name == "integer") return v.type == Value::Type::Int;
    if (name == "float") return v.type == Value::Type::Float;
    if (name == "number") return v.is_number();
    if (name == "string") return v.is_string();
    if (name == "mapping") return v.is_dict() && !v.namespace_;
    if (name == "iterable") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
    if (name == "sequence") return v.is_string() || v.is_list() || (v.is_dict() && !v.namespace_) || v.is_undefined();
    if (name == "callable") return v.type == Value::Type::Callable;
    if (name == "escaped") return false;
    if (name == "odd" || name == "even") {
        const std::int64_t i = as_int(v, name.c_str());
        return (((i % 2) + 2) % 2 == 1) == (name == "odd");
    }
    if (name == "divisibleby") {
        const std::int64_t d = as_int(a.get(0, "num"), "divisibleby");
        if (d == 0) throw EvalError{"integer division or modulo by zero"};
        return as_int(v, "divisibleby") % d == 0;
    }
    if (name == "eq" || name == "equalto" || name == "==") return equal(v, arg());
    if (name == "ne" || name == "!=") return !equal(v, arg());
    if (name == "lt" || name == "lessthan" || name == "<") return compare_op("<", v, arg());
    if (name == "le" || name == "<=") return compare_op("<=", v, arg());
    if (name == "gt" || name == "greaterthan" || name == ">") return compare_op(">", v, arg());
    if (name == "ge" || name == ">=") return compare_op(">=", v, arg());
    if (name == "in") return contains(a.get(0, "seq"), v);
    if (name == "sameas") {
        const Value o = arg();
        if (v.type != o.type) return false;
        if (v.is_list()) return v.list == o.list;
        if (v.is_dict()) return v.dict == o.dict;
        return equal(v, o);
    }
    if (name == "lower") return v.is_string() && py_lower(v.s) == v.s;
    if (name == "upper") return v.is_string() && py_upper(v.s) == v.s;
    if (name == "filter" || name == "test") {
        static const char* filters[] = {"abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
                                        "first", "float", "forceescape", "format", "indent", "int", "items", "join", "last", "length",
                                        "list", "lower", "map", "max", "min", "pprint", "reject", "rejectattr", "replace", "reverse",
                                        "round", "safe", "select", "selectattr", "sort", "string", "sum", "title", "tojson", "trim",
                                        "unique", "upper", "wordcount"};
        const Value n = a.get(0, "name");
        if (!n.is_string()) return false;
        if (name == "filter") return std::find_if(std::begin(filters), std::end(filters), [&](const char* f) { return n.s == f; }) != std::end(filters);
        Args none;
        try {
            (void)test(n.s, Value::none(), none);
            return true;
        } catch (const EvalError& e) {
            return e.message.rfind("No test named", 0) != 0;
        }
    }
    throw EvalError{"No test named '" + name + "'."};
}

namespace {

Value attribute_path(const Renderer& r, const Value& item, const std::string& path) {
    Value v = item;
    std::size_t k = 0;
    while (true) {
        const std::size_t dot = path.find('.', k);
        const std::string part = path.substr(k, dot == std::string::npos ? std::string::npos : dot - k);
        if (!part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
            v = r.get_item(v, Value::integer(std::stoll(part)));
        else
            v = r.get_item(v, Value::string(part));
        if (dot == std::string::npos) return v;
        if (v.is_undefined()) return v;
        k = dot + 1;
    }
}

Value sort_key(const Value& v, bool case_sensitive) {
    if (!case_sensitive && v.is_string()) return Value::string(py_lower(v.s));
    return v;
}

}  // namespace

Value Renderer::filter(const std::string& name, const Value& v, Args& a) {
    if (name == "__slice__") return python_slice(a.positional[0], a.positional[1], a.positional[2], a.positional[3]);
    auto text = [&]() { return to_text(v); };
    if (name == "trim") return Value::string(py_strip(text(), a.get(0, "chars", Value::none()), true, true));
    if (name == "length" || name == "count") {
        switch (v.type) {
        case Value::Type::String: return Value::integer(static_cast<std::int64_t>(py_length(v.s)));
        case Value::Type::Array: return Value::integer(static_cast<std::int64_t>(v.list->size()));
        case Value::Type::Dict: return Value::integer(static_cast<std::int64_t>(v.dict->items.size()));
        case Value::Type::Undefined:
            if (env_.strict_undefined) throw EvalError{v.s};
            return Value::integer(0);
        default: throw EvalError{"object of type '" + type_name(v) + "' has no len()"};
        }
    }
    if (name == "first" || name == "last") {
        List items = iterate(v);
        if (items.empty()) return Value::undefined(name == "first" ? "No first item, sequence was empty." : "No last item, sequence was empty.");
        return name == "first" ? items.front() : items.back();
    }
    if (name == "join") {
        const Value d = a.get(0, "d", Value::string(""));
        const Value attribute = a.get(1, "attribute", Value::none());
        std::string out;
        bool first = true;
        for (const auto& item : iterate(v)) {
            out += (first ? "" : to_text(d)) + to_text(attribute.is_none() ? item : attribute_path(*this, item, str(attribute)));
            first = false;
        }
        return Value::string(out);
    }
    if (name == "default" || name == "d") {
        const Value fallback = a.get(0, "default_value", Value::string(""));
        const bool boolean = truthy(a.get(1, "boolean", Value::boolean(false)));
        if (v.is_undefined() || (boolean && !truthy(v))) return fallback;
        return v;
    }
    if (name == "tojson") {
        JsonStyle st;
        const Value indent = a.get(0, "indent", Value::none());
        if (!indent.is_none()) st.indent = static_cast<int>(as_int(indent, "indent")), st.item = ",";
        if (env_.transformers_globals) {  // json.dumps(x, ensure_ascii=False, indent, separators, sort_keys)
            const Value sep = a.get(1, "separators", Value::none());
            if (sep.is_list() && sep.list->size() == 2) st.item = str((*sep.list)[0]), st.key = str((*sep.list)[1]);
            st.sort_keys = truthy(a.get(2, "sort_keys", Value::boolean(false)));
            const Value ascii = a.get(3, "ensure_ascii", Value::boolean(false));
            st.ensure_ascii = truthy(ascii);
            return Value::string(dump_value(v, st));
        }
        st.sort_keys = true;  // Jinja's own: htmlsafe_json_dumps with sort_keys and ASCII
        st.ensure_ascii = true;
        std::string s = dump_value(v, st), out;
        for (char c : s) {
            if (c == '<') out += "\\u003c";
            else if (c == '>') out += "\\u003e";
            else if (c == '&') out += "\\u0026";
            else if (c == '\'') out += "\\u0027";
            else out += c;
        }
        return Value::string(out);
    }
    if (name == "upper") return Value::string(py_upper(text()));
    if (name == "lower") return Value::string(py_lower(text()));
    if (name == "capitalize") return Value::string(py_capitalize(text()));
    if (name == "title") {  // Jinja's own: words begin after - whitespace ( { [ <
        const std::u32string t = decode_lossy(text());
        std::u32string out;
        bool start = true;
        for (char32_t c : t) {
            const bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || python_space(c);
            std::string one;
            append_utf8(one, c);
            out += decode_lossy(sep ? one : start ? py_upper(one) : py_lower(one));
            start = sep;
        }
        return Value::string(to_utf8(out));
    }
    if (name == "replace") {
        const std::string old = to_text(a.get(0, "old")), with = to_text(a.get(1, "new"));
        const Value count = a.get(2, "count", Value::none());
        return Value::string(py_replace(text(), old, with, count.is_none() ? -1 : as_int(count, "count")));
    }
    if (name == "string") return Value::string(text());
    if (name == "safe" || name == "forceescape" || name == "escape" || name == "e") {
        if (name == "safe") return v.is_string() ? v : Value::string(text());
        return Value::string(html_escape(text()));
    }
    if (name == "list") return Value::make_list(iterate(v));  // a plain list, whatever it was
    if (name == "items") {
        if (v.is_undefined()) return Value::make_list({});
        if (!v.is_dict()) throw EvalError{"Can only get item pairs from a mapping."};
        Args none;
        return call(bound_method(v, "items"), none);
    }
    if (name == "int") {
        const Value fallback = a.get(0, "default", Value::integer(0));
        const std::int64_t base = as_int(a.get(1, "base", Value::integer(10)), "base");
        if (is_int(v)) return Value::integer(as_int(v, ""));
        if (v.type == Value::Type::Float) return std::isfinite(v.f) ? Value::integer(static_cast<std::int64_t>(std::trunc(v.f))) : fallback;
        if (v.is_string()) {
            const std::string s = py_strip(v.s, Value::none(), true, true);
            try {
                std::size_t used = 0;
                const long long i = std::stoll(s, &used, static_cast<int>(base));
                if (used == s.size()) return Value::integer(i);
            } catch (const std::exception&) {
            }
            try {
                std::size_t used = 0;
                const double d = std::stod(s, &used);
                if (used == s.size() && std::isfinite(d)) return Value::integer(static_cast<std::int64_t>(std::trunc(d)));
            } catch (const std::exception&) {
            }
        }
        return fallback;
    }
    if (name == "float") {
        const Value fallback = a.get(0, "default", Value::number(0.0));
        if (v.is_number()) return Value::number(v.as_double());
        if (v.is_string()) {
            const std::string s = py_strip(v.s, Value::none(), true, true);
            try {
                std::size_t used = 0;
                const double d = std::stod(s, &used);
                if (used == s.size()) return Value::number(d);
            } catch (const std::exception&) {
            }
        }
        return fallback;
    }
    if (name == "round") {
        const std::int64_t precision = as_int(a.get(0, "precision", Value::integer(0)), "precision");
        const std::string method = str(a.get(1, "method", Value::string("common")));
        if (!v.is_number()) throw EvalError{"round: a number is required, not " + type_name(v)};
        const double scale = std::pow(10.0, static_cast<double>(precision)), x = v.as_double() * scale;
        double r;
        if (method == "common") r = std::nearbyint(x);  // Python's round(): halves to even
        else if (method == "ceil") r = std::ceil(x);
        else if (method == "floor") r = std::floor(x);
        else throw EvalError{"method must be common, ceil or floor"};
        return Value::number(r / scale);
    }
    if (name == "abs") {
        if (v.type == Value::Type::Float) return Value::number(std::fabs(v.f));
        return Value::integer(std::llabs(as_int(v, "abs")));
    }
    if (name == "sum") {
        const Value attribute = a.get(0, "attribute", Value::none());
        Value total = a.get(1, "start", Value::integer(0));
        for (const auto& item : iterate(v)) total = binary_op("+", total, attribute.is_none() ? item : attribute_path(*this, item, str(attribute)));
        return total;
    }
    if (name == "min" || name == "max" || name == "sort" || name == "unique" || name == "dictsort") {
        const bool case_sensitive = truthy(a.get(name == "sort" ? 1 : 0, "case_sensitive", Value::boolean(false)));
        const bool reverse = name == "sort" ? truthy(a.get(0, "reverse", Value::boolean(false))) : name == "dictsort" ? truthy(a.get(2, "reverse", Value::boolean(false))) : false;
        const Value attribute = name == "dictsort" ? Value::none() : a.get(name == "sort" ? 2 : 1, "attribute", Value::none());
        List items;
        if (name == "dictsort") {
            if (!v.is_dict()) throw EvalError{"You can only sort by either \"key\" or \"value\""};
            const std::string by = str(a.get(1, "by", Value::string("key")));
            for (const auto& [k, e] : v.dict->items) items.push_back(Value::make_list({k, e}, true));
            const std::size_t pos = by == "value" ? 1 : 0;
            std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
                return compare_values(sort_key((*x.list)[pos], case_sensitive), sort_key((*y.list)[pos], case_sensitive), "<") < 0;
            });
            if (reverse) std::reverse(items.begin(), items.end());
            return Value::make_list(std::move(items));
        }
        items = iterate(v);
        auto key = [&](const Value& item) { return sort_key(attribute.is_none() ? item : attribute_path(*this, item, str(attribute)), case_sensitive); };
        if (name == "unique") {
            List out, seen;
            for (const auto& item : items) {
                const Value k = key(item);
                if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equal(s, k); })) seen.push_back(k), out.push_back(item);
            }
            return Value::make_list(std::move(out));
        }
        if (name == "sort") {
            std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
                const int c = compare_values(key(x), key(y), "<");
                return reverse ? c > 0 : c < 0;
            });
            return Value::make_list(std::move(items));
        }
        if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
        Value best = items.front();
        for (const auto& item : items) {
            const int c = compare_values(key(item), key(best), "<");
            if ((name == "min" && c < 0) || (name == "max" && c > 0)) best = item;
        }
        return best;
    }
    if (name == "reverse") {
        if (v.is_string()) {
            auto t = decode_lossy(v.s);
            std::reverse(t.begin(), t.end());
            return Value::string(to_utf8(t));
        }
        List items = iterate(v);
        std::reverse(items.begin(), items.end());
        return Value::make_list(std::move(items));
    }
    if (name == "map") {
        List out;
        const List items = iterate(v);
        if (a.positional.empty()) {
            const Value attribute = a.get(99, "attribute");
            const Value fallback = a.get(99, "default");
            for (const auto& item : items) {
                Value x = attribute_path(*this, item, str(attribute));
                out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
            }
            return Value::make_list(std::move(out));
        }
        const std::string f = str(a.positional[0]);
        for (const auto& item : items) {
            Args rest;
            rest.positional.assign(a.positional.begin() + 1, a.positional.end());
            rest.named = a.named;
            rest.callee = f;
            out.push_back(filter(f, item, rest));
        }
        return Value::make_list(std::move(out));
    }
    if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
        const bool attr = name.size() > 6;
        const bool keep_when = name[0] == 's';
        std::size_t k = 0;
        std::string attribute;
        if (attr) {
            if (a.positional.empty()) throw EvalError{"Missing parameter for attribute name"};
            attribute = str(a.positional[k++]);
        }
        const bool has_test = k < a.positional.size();
        const std::string t = has_test ? str(a.positional[k++]) : "";
        List out;
        for (const auto& item : iterate(v)) {
            const Value x = attr ? attribute_path(*this, item, attribute) : item;
            bool pass;
            if (!has_test) {
                pass = truthy(x);
            } else {
                Args rest;
                rest.positional.assign(a.positional.begin() + static_cast<std::ptrdiff_t>(k), a.positional.end());
                rest.named = a.named;
                rest.callee = t;
                pass = test(t, x, rest);
            }
            if (pass == keep_when) out.push_back(item);
        }
        return Value::make_list(std::move(out));
    }
    if (name == "attr") {  // getattr() only: a dict's keys are not its attributes
        Value m = bound_method(v, str(a.get(0, "name")));
        return m.is_undefined() ? Value::undefined("'" + type_name(v) + " object' has no attribute " + repr(a.get(0, "name"))) : m;
    }
    if (name == "batch") {
        const std::int64_t n = as_int(a.get(0, "linecount"), "linecount");
        if (n <= 0) throw EvalError{"batch size must be positive"};
        const Value fill = a.get(1, "fill_with", Value::none());
        List out, cur;
        for (const auto& item : iterate(v)) {
            cur.push_back(item);
            if (static_cast<std::int64_t>(cur.size()) == n) out.push_back(Value::make_list(std::move(cur))), cur.clear();
        }
        if (!cur.empty()) {
            if (!fill.is_none()) while (static_cast<std::int64_t>(cur.size()) < n) cur.push_back(fill);
            out.push_back(Value::make_list(std::move(cur)));
        }
        return Value::make_list(std::move(out));
    }
    if (name == "indent") {
        const Value width = a.get(0, "width", Value::integer(4));
        const bool first = truthy(a.get(1, "first", Value::boolean(false))), blank = truthy(a.get(2, "blank", Value::boolean(false)));
        const std::string pad = width.is_string() ? width.s : std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, as_int(width, "width"))), ' ');
        std::string s = text() + "\n", out;
        const auto lines = py_splitlines(s, true);
        for (std::size_t k = 0; k < lines.size(); ++k) {
            const bool empty = py_strip(lines[k], Value::none(), true, true).empty();
            out += ((k == 0 && !first) || (empty && !blank) ? "" : pad) + lines[k];
        }
        out.pop_back();
        return Value::string(out);
    }
    if (name == "center") {
        Args c;
        c.positional = {a.get(0, "width", Value::integer(80))};
        return call(string_method(text(), "center"), c);
    }
    if (name == "wordcount") {
        std::int64_t n = 0;
        bool in = false;
        for (char32_t c : decode_lossy(text())) {
            const bool w = is_rust_word(c);
            if (w && !in) ++n;
            in = w;
        }
        return Value::integer(n);
    }
    if (name == "pprint") return Value::string(repr(v));
    if (name == "format") {
        if (!a.named.empty() && !a.positional.empty()) throw EvalError{"can't handle positional and keyword arguments at the same time"};
        if (!a.named.empty()) {
            Dict d;
            for (auto& [k, x] : a.named) d.set(Value::string(k), x);
            return Value::string(py_percent(text(), Value::make_dict(std::move(d))));
        }
        return Value::string(py_percent(text(), Value::make_list(a.positional, true)));
    }
    throw EvalError{"No filter named '" + name + "'."};
}

void install_globals(std::map<std::string, Value>& g, const Environment& env) {
    // Outside the sandbox a range is bounded by what a render may do anyway (its steps).
    const std::int64_t max_range = env.sandboxed ? kMaxRange : static_cast<std::int64_t>(std::min<std::size_t>(env.max_steps, 50'000'000));
    g["range"] = Value::function([max_range](Args& a) -> Value {
        std::int64_t start = 0, stop, step = 1;
        if (a.positional.size() == 1) stop = as_int(a.positional[0], "range");
        else if (a.positional.size() >= 2) {
            start = as_int(a.positional[0], "range"), stop = as_int(a.positional[1], "range");
            if (a.positional.size() > 2) step = as_int(a.positional[2], "range");
        } else throw EvalError{"range expected at least 1 argument, got 0"};
        if (step == 0) throw EvalError{"range() arg 3 must not be zero"};
        const std::int64_t n = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0) : (start > stop ? (start - stop - step - 1) / -step : 0);
        if (n > max_range)
            throw EvalError{max_range == kMaxRange ? "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."
                                                   : "range() of " + std::to_string(n) + " items is beyond this engine's limit"};
        List out;
        for (std::int64_t k = 0; k < n; ++k) out.push_back(Value::integer(start + k * step));
        return Value::make_list(std::move(out));
    });
    g["dict"] = Value::function([](Args& a) -> Value {
        Dict d;
        if (!a.positional.empty() && a.positional[0].is_dict()) d = *a.positional[0].dict;
        for (auto& [k, v] : a.named) d.set(Value::string(k), v);
        return Value::make_dict(std::move(d));
    });
    g["namespace"] = Value::function([](Args& a) -> Value {
        Dict d;
        if (!a.positional.empty() && a.positional[0].is_dict()) d = *a.positional[0].dict;
        for (auto& [k, v] : a.named) d.set(Value::string(k), v);
        Value ns = Value::make_dict(std::move(d));
        ns.namespace_ = true;
        return ns;
    });
    g["joiner"] = Value::function([](Args& a) -> Value {
        const std::string sep = a.positional.empty() ? ", " : str(a.positional[0]);
        auto used = std::make_shared<bool>(false);
        return Value::function([sep, used](Args&) -> Value {
            if (!*used) {
                *used = true;
                return Value::string("");
            }
            return Value::string(sep);
        });
    });
    if (!env.transformers_globals) return;
    g["raise_exception"] = Value::function([](Args& a) -> Value { throw RaisedError{a.positional.empty() ? std::string() : str(a.positional[0])}; });
    auto clock = env.strftime_now;
    g["strftime_now"] = Value::function([clock](Args& a) -> Value {
        const std::string format = a.positional.empty() ? std::string() : str(a.positional[0]);
        if (clock) return Value::string(clock(format));
        const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
        std::tm local{};
        localtime_r(&now, &local);
        char buf[256];
        const std::size_t n = std::strftime(buf, sizeof buf, format.c_str(), &local);
        return Value::string(std::string(buf, n));
    });
}

// --- the public API --------------------------------------------------------------------------------------------

Error::Error(const std::string& template_name, int at_line, int at_column, const std::string& what)
    : std::runtime_error(template_name + ":" + std::to_string(at_line) + ":" + std::to_string(at_column) + ": " + what),
      name(template_name), message(what), line(at_line), column(at_column) {}

Environment Environment::transformers() {
    Environment e;
    e.trim_blocks = true;
    e.lstrip_blocks = true;
    e.transformers_globals = true;
    e.sandboxed = true;
    e.loop_controls = true;
    return e;
}

Environment Environment::lm_eval() {
    Environment e;
    e.strict_undefined = true;
    e.keep_trailing_newline = true;
    return e;
}

struct Template::Impl {
    Environment env;
    Program program;
};

Template::Template(std::string_view source, std::string name, Environment environment) : impl_(std::make_unique<Impl>()) {
    impl_->env = std::move(environment);
    impl_->program = parse(source, name, impl_->env);
}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const nlohmann::ordered_json& variables) const {
    Renderer r(impl_->program, impl_->env);
    return r.render(variables);
}

const std::string& Template::name() const { return impl_->program.name; }

std::string python_json(const nlohmann::ordered_json& value, int indent, bool sort_keys) {
    JsonStyle st;
    st.indent = indent;
    if (indent >= 0) st.item = ",";
    st.sort_keys = sort_keys;
    std::string out;
    json_dump(out, value, st, 0);
    return out;
}

}  // namespace lmwb::jinja
