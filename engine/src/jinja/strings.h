// Python's str methods on UTF-8 text, by code point (strings.cpp).
#pragma once

#include <string>
#include <vector>

#include "jinja/value.h"

namespace lmwb::jinja {

std::string py_strip(const std::string& s, const Value& chars, bool left, bool right);
std::vector<std::string> py_split(const std::string& s, const Value& sep, std::int64_t maxsplit, bool from_right);
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string py_title(const std::string& s);       // str.title()
std::string py_capitalize(const std::string& s);  // str.capitalize()
std::string py_replace(const std::string& s, const std::string& old, const std::string& with, std::int64_t count);
std::int64_t py_find(const std::string& s, const std::string& sub, bool from_right);  // code points; -1
std::int64_t py_count(const std::string& s, const std::string& sub);
std::vector<std::string> py_splitlines(const std::string& s, bool keepends);
std::size_t py_length(const std::string& s);  // code points
// "%s and %d" % args, the conversions templates use (s r d i f x o c e g and %%).
std::string py_percent(const std::string& format, const Value& args);
// "{} {0} {name}".format(...): fields with an optional format spec of fill/align/width/precision and type f, d, s.
std::string py_format(const std::string& format, Args& args);
std::string html_escape(const std::string& s);

}  // namespace lmwb::jinja
