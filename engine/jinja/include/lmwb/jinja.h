// A Jinja2 template engine for the templates models and benchmarks ship: Hugging Face chat templates (rendered as
// transformers renders them) and lm-evaluation-harness task templates. Python's semantics where templates see them
// (str(), repr of lists and dicts, slicing, `in`, string methods, integer and float arithmetic), Jinja2's lexer rules
// (whitespace control, trim_blocks, lstrip_blocks, the trailing newline) and its default Undefined (printing is
// empty, falsy, iterating gives nothing; an attribute of it is an error) or StrictUndefined. Templates cannot read
// files (include, import and extends are refused) and a render has a step and output budget.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace lmwb::jinja {

// A syntax or rendering error: "NAME:LINE:COLUMN: message" (1-based), or a raise_exception() from the template.
class Error : public std::runtime_error {
public:
    Error(const std::string& name, int line, int column, const std::string& message);
    std::string name, message;
    int line = 0, column = 0;
};

struct Environment {
    bool trim_blocks = false;            // the first newline after a block tag is dropped
    bool lstrip_blocks = false;          // spaces and tabs before a block tag on its line are dropped
    bool keep_trailing_newline = false;  // else one newline at the end of the template is dropped
    bool strict_undefined = false;       // StrictUndefined: printing, testing or iterating an undefined is an error
    bool transformers_globals = false;   // raise_exception(), strftime_now() and transformers' tojson
    bool sandboxed = false;              // ImmutableSandboxedEnvironment: range() of at most 100,000, no list.append
    bool loop_controls = false;          // the loopcontrols extension: {% break %} and {% continue %}
    std::size_t max_steps = 20'000'000;  // expressions and statements a render may evaluate
    std::size_t max_output = 64u << 20;  // bytes a render may produce
    // strftime_now(format): the local time now unless set (tests fix the clock).
    std::function<std::string(const std::string& format)> strftime_now;

    // transformers' chat template environment (ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks, the
    // loopcontrols extension, raise_exception, strftime_now and its own tojson).
    static Environment transformers();
    // lm-evaluation-harness's (utils.py: StrictUndefined, keep_trailing_newline, the regex_replace filter).
    static Environment lm_eval();
};

class Template {
public:
    // Parses `source`; `name` is what errors call the template ("chat_template", "task.yaml: doc_to_text").
    Template(std::string_view source, std::string name, Environment environment = {});
    ~Template();
    Template(Template&&) noexcept;
    Template& operator=(Template&&) noexcept;
    // The template rendered with the object's members as variables (key order kept: dicts iterate in it).
    std::string render(const nlohmann::ordered_json& variables) const;
    const std::string& name() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Python's json.dumps(value, ensure_ascii=False, indent=indent, separators=..., sort_keys=...) text, as
// transformers' tojson filter writes it (indent < 0: none).
std::string python_json(const nlohmann::ordered_json& value, int indent = -1, bool sort_keys = false);

}  // namespace lmwb::jinja
