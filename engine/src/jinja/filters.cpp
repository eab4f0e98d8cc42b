// Jinja2's tests (tests.py) and filters (filters.py).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include "jinja/builtins.h"
#include "jinja/parse.h"
#include "jinja/render.h"
#include "jinja/strings.h"
#include "lmwb/text.h"
#include "unicode.h"

namespace lmwb::jinja {

using namespace uni;

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
            const bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || text::is_space(c);
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

}  // namespace lmwb::jinja
