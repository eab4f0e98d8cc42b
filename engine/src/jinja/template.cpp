// json.dumps as Python writes it, the globals (range, dict, namespace, joiner; transformers' raise_exception and
// strftime_now), the environments and the public Template.
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

namespace {

constexpr std::int64_t kMaxRange = 100000;  // the sandbox's MAX_RANGE

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


}  // namespace

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
