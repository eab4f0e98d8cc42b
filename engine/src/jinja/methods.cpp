// The methods of str, list and dict templates call, and attribute and item lookup as Jinja's sandbox does them.
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

namespace {

Value unsafe(const std::string& type, const std::string& name) {
    return Value::function([type, name](Args&) -> Value { throw EvalError{"access to attribute '" + name + "' of '" + type + "' object is unsafe."}; });
}

std::string text_arg(Args& a, std::size_t i, const char* name) {
    const Value v = a.get(i, name);
    if (!v.is_string()) throw EvalError{a.callee + "() argument '" + name + "' must be str, not " + type_name(v)};
    return v.s;
}

}  // namespace

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
    if (name == "isspace") return predicate([](char32_t c) { return text::is_space(c); });
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

}  // namespace lmwb::jinja
