// Template text to syntax tree (parse.cpp).
#pragma once

#include <string>
#include <string_view>

#include "jinja/ast.h"
#include "lmwb/jinja.h"

namespace lmwb::jinja {

Program parse(std::string_view source, const std::string& name, const Environment& env);

}  // namespace lmwb::jinja
