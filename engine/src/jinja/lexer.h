// Template text to tokens (lexer.cpp), for the parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "jinja/value.h"
#include "lmwb/jinja.h"

namespace lmwb::jinja {

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };

struct Token {
    Tok type;
    std::string text;
    int line = 0, column = 0;
    Value value;  // String, Int, Float
};

// Throws Error naming `name`, the line and the column.
std::vector<Token> lex(std::string_view source, const std::string& name, const Environment& env);

}  // namespace lmwb::jinja
