#include "jinja/strings.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <utf8proc.h>

#include "jinja/render.h"
#include "lmwb/text.h"
#include "unicode.h"

namespace lmwb::jinja {

using namespace uni;

namespace {

std::u32string u32(const std::string& s) { return decode_lossy(s); }

bool cased(char32_t c) {
    const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

void append_upper(std::u32string& out, char32_t c) {
    if (c == 0xDF) { out += U"SS"; return; }  // the one full mapping templates meet
    out += static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
}
void append_lower(std::u32string& out, char32_t c) { out += to_lower(c); }
void append_title(std::u32string& out, char32_t c) {
    if (c == 0xDF) { out += U"Ss"; return; }
    out += static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(c)));
}

}  // namespace

std::string py_strip(const std::string& s, const Value& chars, bool left, bool right) {
    const std::u32string t = u32(s);
    std::u32string set;
    const bool spaces = chars.is_none() || chars.is_undefined();
    if (!spaces) {
        if (!chars.is_string()) throw EvalError{"strip arg must be None or str"};
        set = u32(chars.s);
    }
    auto drop = [&](char32_t c) { return spaces ? text::is_space(c) : set.find(c) != std::u32string::npos; };
    std::size_t a = 0, z = t.size();
    if (left) while (a < z && drop(t[a])) ++a;
    if (right) while (z > a && drop(t[z - 1])) --z;
    return to_utf8(t.substr(a, z - a));
}

std::vector<std::string> py_split(const std::string& s, const Value& sep, std::int64_t maxsplit, bool from_right) {
    std::vector<std::string> out;
    if (sep.is_none() || sep.is_undefined()) {  // runs of whitespace, no empty pieces
        std::u32string t = u32(s);
        if (from_right) std::reverse(t.begin(), t.end());
        std::size_t k = 0;
        std::int64_t splits = 0;
        while (k < t.size()) {
            while (k < t.size() && text::is_space(t[k])) ++k;
            if (k >= t.size()) break;
            if (maxsplit >= 0 && splits >= maxsplit) {
                std::size_t z = t.size();
                while (z > k && text::is_space(t[z - 1])) --z;
                std::u32string piece = t.substr(k, z - k);
                if (from_right) std::reverse(piece.begin(), piece.end());
                out.push_back(to_utf8(piece));
                break;
            }
            std::size_t e = k;
            while (e < t.size() && !text::is_space(t[e])) ++e;
            std::u32string piece = t.substr(k, e - k);
            if (from_right) std::reverse(piece.begin(), piece.end());
            out.push_back(to_utf8(piece));
            ++splits;
            k = e;
        }
        if (from_right) std::reverse(out.begin(), out.end());
        return out;
    }
    if (!sep.is_string()) throw EvalError{"must be str or None, not " + type_name(sep)};
    if (sep.s.empty()) throw EvalError{"empty separator"};
    const std::string& d = sep.s;
    if (!from_right) {
        std::size_t k = 0;
        std::int64_t splits = 0;
        while (true) {
            const std::size_t f = (maxsplit >= 0 && splits >= maxsplit) ? std::string::npos : s.find(d, k);
            if (f == std::string::npos) {
                out.push_back(s.substr(k));
                return out;
            }
            out.push_back(s.substr(k, f - k));
            k = f + d.size();
            ++splits;
        }
    }
    std::size_t end = s.size();
    std::int64_t splits = 0;
    while (true) {
        std::size_t f = std::string::npos;
        if (!(maxsplit >= 0 && splits >= maxsplit) && end >= d.size()) f = s.rfind(d, end - d.size());
        if (f == std::string::npos) {
            out.push_back(s.substr(0, end));
            break;
        }
        out.push_back(s.substr(f + d.size(), end - f - d.size()));
        end = f;
        ++splits;
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::string py_upper(const std::string& s) {
    std::u32string out;
    for (char32_t c : u32(s)) append_upper(out, c);
    return to_utf8(out);
}
std::string py_lower(const std::string& s) {
    std::u32string out;
    for (char32_t c : u32(s)) append_lower(out, c);
    return to_utf8(out);
}
std::string py_title(const std::string& s) {
    std::u32string out;
    bool previous_cased = false;
    for (char32_t c : u32(s)) {
        if (previous_cased) append_lower(out, c);
        else append_title(out, c);
        previous_cased = cased(c);
    }
    return to_utf8(out);
}
std::string py_capitalize(const std::string& s) {
    std::u32string out;
    bool first = true;
    for (char32_t c : u32(s)) {
        if (first) append_title(out, c);
        else append_lower(out, c);
        first = false;
    }
    return to_utf8(out);
}

std::string py_replace(const std::string& s, const std::string& old, const std::string& with, std::int64_t count) {
    std::string out;
    if (old.empty()) {  // Python inserts between every character
        std::int64_t n = 0;
        const std::u32string t = u32(s);
        for (std::size_t k = 0; k <= t.size(); ++k) {
            if (count < 0 || n < count) out += with, ++n;
            if (k < t.size()) append_utf8(out, t[k]);
        }
        return out;
    }
    std::size_t k = 0;
    std::int64_t n = 0;
    while (true) {
        const std::size_t f = (count >= 0 && n >= count) ? std::string::npos : s.find(old, k);
        if (f == std::string::npos) break;
        out.append(s, k, f - k);
        out += with;
        k = f + old.size();
        ++n;
    }
    out.append(s, k, std::string::npos);
    return out;
}

std::int64_t py_find(const std::string& s, const std::string& sub, bool from_right) {
    const std::size_t f = from_right ? s.rfind(sub) : s.find(sub);
    if (f == std::string::npos) return -1;
    return static_cast<std::int64_t>(py_length(s.substr(0, f)));
}

std::int64_t py_count(const std::string& s, const std::string& sub) {
    if (sub.empty()) return static_cast<std::int64_t>(py_length(s)) + 1;
    std::int64_t n = 0;
    for (std::size_t k = s.find(sub); k != std::string::npos; k = s.find(sub, k + sub.size())) ++n;
    return n;
}

std::vector<std::string> py_splitlines(const std::string& s, bool keepends) {
    std::vector<std::string> out;
    const std::u32string t = u32(s);
    std::size_t start = 0;
    for (std::size_t k = 0; k < t.size(); ++k) {
        const char32_t c = t[k];
        const bool br = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 || c == 0x2028 || c == 0x2029;
        if (!br) continue;
        std::size_t end = k + 1;
        if (c == '\r' && k + 1 < t.size() && t[k + 1] == '\n') end = k + 2;
        out.push_back(to_utf8(t.substr(start, (keepends ? end : k) - start)));
        start = end;
        k = end - 1;
    }
    if (start < t.size()) out.push_back(to_utf8(t.substr(start)));
    return out;
}

std::size_t py_length(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

namespace {

// One conversion with its flags, width and precision, as printf-style formatting (and format specs) do it.
std::string convert(char type, const Value& v, const std::string& flags, int width, int precision) {
    std::string body;
    auto number = [&](const char* what) -> double {
        if (!v.is_number()) throw EvalError{std::string("%") + type + " format: a real number is required, not " + type_name(v)};
        (void)what;
        return v.as_double();
    };
    switch (type) {
    case 's': body = str(v); if (precision >= 0) body = to_utf8(decode_lossy(body).substr(0, static_cast<std::size_t>(precision))); break;
    case 'r': body = repr(v); break;
    case 'd': case 'i': {
        if (!v.is_number()) throw EvalError{std::string("%") + type + " format: a real number is required, not " + type_name(v)};
        const std::int64_t i = v.type == Value::Type::Float ? static_cast<std::int64_t>(std::trunc(v.f)) : (v.type == Value::Type::Bool ? v.b : v.i);
        body = std::to_string(i);
        break;
    }
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
        const double d = number("f");
        char buf[512];
        const std::string spec = std::string("%.") + std::to_string(precision < 0 ? 6 : precision) + type;
        std::snprintf(buf, sizeof buf, spec.c_str(), d);
        body = buf;
        break;
    }
    case 'x': case 'X': case 'o': {
        if (!v.is_number() || v.type == Value::Type::Float) throw EvalError{std::string("%") + type + " format: an integer is required"};
        const std::int64_t i = v.type == Value::Type::Bool ? v.b : v.i;
        char buf[64];
        std::snprintf(buf, sizeof buf, type == 'o' ? "%llo" : type == 'x' ? "%llx" : "%llX", static_cast<unsigned long long>(std::llabs(i)));
        body = (i < 0 ? "-" : "") + std::string(buf);
        break;
    }
    case 'c': {
        if (v.is_string()) body = v.s;
        else append_utf8(body, static_cast<char32_t>(v.i));
        break;
    }
    default: throw EvalError{std::string("unsupported format character '") + type + "'"};
    }
    if (flags.find('+') != std::string::npos && body[0] != '-' && std::string("dioxXfFeEgG").find(type) != std::string::npos) body = "+" + body;
    const auto len = static_cast<int>(py_length(body));
    if (width > len) {
        if (flags.find('-') != std::string::npos) body += std::string(static_cast<std::size_t>(width - len), ' ');
        else if (flags.find('0') != std::string::npos && std::string("dioxXfFeEgG").find(type) != std::string::npos) {
            const std::size_t sign = body[0] == '-' || body[0] == '+' ? 1 : 0;
            body.insert(sign, std::string(static_cast<std::size_t>(width - len), '0'));
        } else {
            body = std::string(static_cast<std::size_t>(width - len), ' ') + body;
        }
    }
    return body;
}

}  // namespace

std::string py_percent(const std::string& fmt, const Value& args) {
    List list;
    const Dict* mapping = nullptr;
    if (args.is_list() && args.tuple) list = *args.list;
    else if (args.is_dict()) mapping = args.dict.get();
    else list = {args};
    std::size_t next = 0;
    std::string out;
    for (std::size_t k = 0; k < fmt.size(); ++k) {
        if (fmt[k] != '%') { out += fmt[k]; continue; }
        if (++k >= fmt.size()) throw EvalError{"incomplete format"};
        if (fmt[k] == '%') { out += '%'; continue; }
        const Value* arg = nullptr;
        Value keyed;
        if (fmt[k] == '(') {
            const std::size_t close = fmt.find(')', k);
            if (close == std::string::npos || !mapping) throw EvalError{"format requires a mapping"};
            const Value* v = mapping->find(Value::string(fmt.substr(k + 1, close - k - 1)));
            if (!v) throw EvalError{"KeyError: '" + fmt.substr(k + 1, close - k - 1) + "'"};
            keyed = *v;
            arg = &keyed;
            k = close + 1;
        }
        std::string flags;
        while (k < fmt.size() && std::string("-+ #0").find(fmt[k]) != std::string::npos) flags += fmt[k++];
        int width = 0, precision = -1;
        while (k < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[k]))) width = width * 10 + (fmt[k++] - '0');
        if (k < fmt.size() && fmt[k] == '.') {
            precision = 0;
            ++k;
            while (k < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[k]))) precision = precision * 10 + (fmt[k++] - '0');
        }
        if (k >= fmt.size()) throw EvalError{"incomplete format"};
        if (!arg) {
            if (next >= list.size()) throw EvalError{"not enough arguments for format string"};
            arg = &list[next++];
        }
        out += convert(fmt[k], *arg, flags, width, precision);
    }
    if (!mapping && next < list.size()) throw EvalError{"not all arguments converted during string formatting"};
    return out;
}

std::string py_format(const std::string& fmt, Args& args) {
    std::string out;
    std::size_t auto_index = 0;
    for (std::size_t k = 0; k < fmt.size(); ++k) {
        const char c = fmt[k];
        if (c == '}') {
            if (k + 1 < fmt.size() && fmt[k + 1] == '}') { out += '}'; ++k; continue; }
            throw EvalError{"Single '}' encountered in format string"};
        }
        if (c != '{') { out += c; continue; }
        if (k + 1 < fmt.size() && fmt[k + 1] == '{') { out += '{'; ++k; continue; }
        const std::size_t close = fmt.find('}', k);
        if (close == std::string::npos) throw EvalError{"Single '{' encountered in format string"};
        std::string field = fmt.substr(k + 1, close - k - 1), spec;
        const std::size_t colon = field.find(':');
        if (colon != std::string::npos) spec = field.substr(colon + 1), field = field.substr(0, colon);
        Value v;
        if (field.empty()) {
            if (auto_index >= args.positional.size()) throw EvalError{"Replacement index " + std::to_string(auto_index) + " out of range"};
            v = args.positional[auto_index++];
        } else if (std::all_of(field.begin(), field.end(), [](char x) { return std::isdigit(static_cast<unsigned char>(x)); })) {
            const std::size_t i = std::stoul(field);
            if (i >= args.positional.size()) throw EvalError{"Replacement index " + field + " out of range"};
            v = args.positional[i];
        } else {
            bool found = false;
            for (const auto& [name, value] : args.named)
                if (name == field) v = value, found = true;
            if (!found) throw EvalError{"KeyError: '" + field + "'"};
        }
        if (spec.empty()) {
            out += str(v);
        } else {  // [[fill]align][0][width][.precision][type]
            char fill = ' ', align = 0;
            std::size_t p = 0;
            if (spec.size() >= 2 && std::string("<>^").find(spec[1]) != std::string::npos) fill = spec[0], align = spec[1], p = 2;
            else if (!spec.empty() && std::string("<>^").find(spec[0]) != std::string::npos) align = spec[0], p = 1;
            std::string flags;
            if (p < spec.size() && spec[p] == '0') flags += '0', ++p;
            int width = 0, precision = -1;
            while (p < spec.size() && std::isdigit(static_cast<unsigned char>(spec[p]))) width = width * 10 + (spec[p++] - '0');
            if (p < spec.size() && spec[p] == '.') {
                precision = 0;
                ++p;
                while (p < spec.size() && std::isdigit(static_cast<unsigned char>(spec[p]))) precision = precision * 10 + (spec[p++] - '0');
            }
            const char type = p < spec.size() ? spec[p] : (v.is_string() ? 's' : v.type == Value::Type::Float ? 'g' : v.is_number() ? 'd' : 's');
            std::string body = type == 'g' && p >= spec.size() && precision < 0 ? str(v) : convert(type, v, flags, 0, precision);
            const auto len = static_cast<int>(py_length(body));
            if (width > len) {
                const std::size_t pad = static_cast<std::size_t>(width - len);
                if (!align) align = v.is_number() && !v.is_string() ? '>' : '<';
                if (flags == "0" && fill == ' ') fill = '0';
                if (align == '<') body += std::string(pad, fill);
                else if (align == '>') body = std::string(pad, fill) + body;
                else body = std::string(pad / 2, fill) + body + std::string(pad - pad / 2, fill);
            }
            out += body;
        }
        k = close;
    }
    return out;
}

}  // namespace lmwb::jinja
