// Python's operators on Jinja values: + - * / // % ** with int overflow refused, comparisons, `in`, slicing.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include "jinja/builtins.h"
#include "jinja/parse.h"
#include "jinja/render.h"
#include "jinja/strings.h"
#include "unicode.h"

namespace lmwb::jinja {

using namespace uni;

std::int64_t as_int(const Value& v, const char* what) {
    if (v.type == Value::Type::Int) return v.i;
    if (v.type == Value::Type::Bool) return v.b;
    throw EvalError{std::string(what) + ": an integer is required, not " + type_name(v)};
}

namespace {

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

}  // namespace

bool is_int(const Value& v) { return v.type == Value::Type::Int || v.type == Value::Type::Bool; }

namespace {

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

}  // namespace

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

}  // namespace lmwb::jinja
