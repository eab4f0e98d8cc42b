// A model's chat template, rendered as transformers' apply_chat_template(messages, tokenize=False) renders it:
// the template from the model folder, its special tokens, the environment transformers builds (lmwb/jinja.h).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace lmwb {

namespace jinja {
class Template;
}

class ChatTemplateError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ChatTemplate {
public:
    // The template of a model folder: chat_template.jinja when present, else tokenizer_config.json's chat_template
    // (a string, or the named list form: `name`, else "default"). nullopt when the folder has none. Syntax errors
    // are thrown here (jinja::Error, naming the file, line and column); a bad tokenizer_config.json as
    // ChatTemplateError.
    static std::optional<ChatTemplate> from_folder(const std::string& dir, const std::string& name = {});
    // A template given as text (special tokens as transformers would pass them: bos_token, eos_token, …).
    ChatTemplate(const std::string& source, const std::string& origin, std::map<std::string, std::string> special_tokens = {});

    // messages: a JSON list of {"role", "content", …}; `extra` adds template variables (enable_thinking, …).
    std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                       const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;
    // A prompt as the user message (after `system` as a system message when given), then the generation prompt.
    std::string render_prompt(const std::string& prompt, const std::string& system = {}) const;

    const std::string& source() const { return source_; }
    const std::string& origin() const { return origin_; }  // ".../tokenizer_config.json: chat_template"
    const std::map<std::string, std::string>& special_tokens() const { return special_tokens_; }

private:
    std::string source_, origin_;
    std::map<std::string, std::string> special_tokens_;
    std::shared_ptr<const jinja::Template> compiled_;
};

// A JSON list of chat messages, each an object with a string "role" and a string (or list) "content": the
// problem named by index ("messages.json: message 2: 'role' is missing").
void check_messages(const nlohmann::ordered_json& messages, const std::string& where);

}  // namespace lmwb
