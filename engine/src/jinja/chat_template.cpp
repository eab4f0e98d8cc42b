// transformers' apply_chat_template: tokenization_utils_base.py get_chat_template (which template), and
// chat_template_utils.py render_jinja_template (what the template sees: messages, tools=None, documents=None,
// add_generation_prompt and the special tokens map).
#include "lmwb/chat_template.h"

#include <filesystem>

#include "lmwb/files.h"
#include "lmwb/jinja.h"
#include "lmwb/json_file.h"

namespace lmwb {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& message) { throw ChatTemplateError(message); }

std::string read_text(const fs::path& p) {
    std::string why;
    auto text = files::read_regular(p.string(), &why, std::size_t{16} << 20);
    if (!text) fail(p.string() + ": cannot read: " + why);
    return *text;
}

// A special token as tokenizer_config.json writes it: a string, or an AddedToken object with "content".
std::optional<std::string> token_text(const nlohmann::json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return std::nullopt;
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source, const std::string& origin, std::map<std::string, std::string> special_tokens)
    : source_(source), origin_(origin), special_tokens_(std::move(special_tokens)),
      compiled_(std::make_shared<const jinja::Template>(source, origin, jinja::Environment::transformers())) {}

std::optional<ChatTemplate> ChatTemplate::from_folder(const std::string& dir, const std::string& name) {
    const fs::path config_path = fs::path(dir) / "tokenizer_config.json";
    nlohmann::json config = nlohmann::json::object();
    if (fs::exists(config_path)) config = json_file::read_object(config_path.string(), "the chat template's special tokens", fail);
    std::map<std::string, std::string> tokens;
    for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"})
        if (config.contains(key))
            if (auto t = token_text(config[key])) tokens[key] = *t;
    const fs::path file = fs::path(dir) / "chat_template.jinja";
    if (fs::exists(file)) {
        if (!name.empty()) fail(file.string() + ": a single template; --chat-template-name '" + name + "' names one of a list");
        return ChatTemplate(read_text(file), file.string(), tokens);
    }
    if (!config.contains("chat_template") || config["chat_template"].is_null()) {
        if (!name.empty()) fail(config_path.string() + ": no chat_template, so no template named '" + name + "'");
        return std::nullopt;
    }
    const nlohmann::json& t = config["chat_template"];
    const std::string where = config_path.string() + ": chat_template";
    if (t.is_string()) {
        if (!name.empty() && name != "default") fail(where + ": a single template, not one named '" + name + "'");
        return ChatTemplate(t.get<std::string>(), where, tokens);
    }
    if (!t.is_array()) fail(where + ": expected a string or a list of {\"name\", \"template\"}");
    const std::string want = name.empty() ? "default" : name;
    std::string names;
    for (std::size_t k = 0; k < t.size(); ++k) {
        const auto& e = t[k];
        if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("template") || !e["template"].is_string())
            fail(where + "/" + std::to_string(k) + ": expected {\"name\": string, \"template\": string}");
        names += (names.empty() ? "" : ", ") + e["name"].get<std::string>();
        if (e["name"] == want) return ChatTemplate(e["template"].get<std::string>(), where + "/" + std::to_string(k) + " (" + want + ")", tokens);
    }
    fail(where + ": no template named '" + want + "' (it has: " + names + ")");
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt, const nlohmann::ordered_json& extra) const {
    check_messages(messages, "messages");
    nlohmann::ordered_json vars = nlohmann::ordered_json::object();
    for (const auto& [k, v] : special_tokens_) vars[k] = v;
    vars["messages"] = messages;
    vars["tools"] = nullptr;
    vars["documents"] = nullptr;
    vars["add_generation_prompt"] = add_generation_prompt;
    if (extra.is_object())
        for (const auto& [k, v] : extra.items()) vars[k] = v;
    return compiled_->render(vars);
}

std::string ChatTemplate::render_prompt(const std::string& prompt, const std::string& system) const {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
    messages.push_back({{"role", "user"}, {"content", prompt}});
    return render(messages, true);
}

void check_messages(const nlohmann::ordered_json& messages, const std::string& where) {
    if (!messages.is_array()) throw ChatTemplateError(where + ": expected a list of messages ({\"role\": …, \"content\": …})");
    for (std::size_t k = 0; k < messages.size(); ++k) {
        const auto& m = messages[k];
        const std::string at = where + ": message " + std::to_string(k + 1);
        if (!m.is_object()) throw ChatTemplateError(at + ": expected an object with \"role\" and \"content\"");
        if (!m.contains("role")) throw ChatTemplateError(at + ": 'role' is missing");
        if (!m["role"].is_string()) throw ChatTemplateError(at + ": 'role' must be a string");
        if (!m.contains("content")) throw ChatTemplateError(at + ": 'content' is missing");
        if (!m["content"].is_string() && !m["content"].is_array() && !m["content"].is_null())
            throw ChatTemplateError(at + ": 'content' must be a string or a list of parts");
    }
}

}  // namespace lmwb
