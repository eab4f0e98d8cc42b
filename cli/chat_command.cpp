// lmwb chat: a model's chat template applied to a conversation, as transformers' apply_chat_template does.
#include <iostream>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "lmwb/chat_template.h"
#include "lmwb/files.h"
#include "lmwb/model_source.h"
#include "lmwb/tokenizer.h"

namespace lmwb::cli {

nlohmann::ordered_json read_messages(const std::string& path) {
    std::string text;
    if (path == "-") {
        std::ostringstream s;
        s << std::cin.rdbuf();
        text = s.str();
    } else {
        std::string why;
        auto content = files::read_regular(path, &why, std::size_t{64} << 20);
        if (!content) throw std::runtime_error(path + ": cannot read the messages: " + why);
        text = std::move(*content);
    }
    nlohmann::ordered_json messages;
    try {
        messages = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(path + ": malformed JSON: " + e.what());
    }
    check_messages(messages, path);
    return messages;
}

nlohmann::ordered_json parse_template_vars(const std::vector<std::string>& assignments) {
    nlohmann::ordered_json vars = nlohmann::ordered_json::object();
    for (const auto& a : assignments) {
        const auto eq = a.find('=');
        if (eq == std::string::npos || eq == 0) throw std::runtime_error("--template-var " + a + ": expected NAME=JSON (enable_thinking=false)");
        try {
            vars[a.substr(0, eq)] = nlohmann::ordered_json::parse(a.substr(eq + 1));
        } catch (const nlohmann::json::exception&) {
            vars[a.substr(0, eq)] = a.substr(eq + 1);  // a bare word is a string
        }
    }
    return vars;
}

void add_chat_flags(CLI::App* cmd, ChatFlags& flags) {
    cmd->add_flag("--chat", flags.chat, "Apply the model's chat template: the prompt as a user message, then the generation prompt");
    cmd->add_option("--system", flags.system, "With --chat: a system message before the prompt");
}

std::string chat_prompt(const std::string& model, const std::string& revision, const ChatFlags& flags, const std::string& prompt) {
    if (!flags.chat) {
        if (!flags.system.empty()) throw std::runtime_error("--system applies with --chat");
        return prompt;
    }
    const std::string dir = resolve_model(model, revision);
    auto tpl = ChatTemplate::from_folder(dir);
    if (!tpl) throw std::runtime_error(dir + ": no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja) for --chat");
    return tpl->render_prompt(prompt, flags.system);
}

Action add_chat_command(CLI::App& app) {
    struct Opts {
        std::string model, messages, name;
        std::vector<std::string> vars;
        bool generation_prompt = false, json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("chat", "Apply a model's chat template to a conversation (the text, or with --json its token ids too)");
    cmd->add_option("model", o->model, "Model folder (tokenizer_config.json or chat_template.jinja, and tokenizer.json for --json), or a cached repository")
        ->required();
    cmd->add_option("--messages", o->messages, "JSON list of {\"role\", \"content\"} messages; '-' reads stdin")->required();
    cmd->add_flag("--add-generation-prompt", o->generation_prompt, "End with the start of the assistant's turn");
    cmd->add_option("--chat-template-name", o->name, "Which of a list of named templates (default: \"default\")");
    cmd->add_option("--template-var", o->vars, "NAME=JSON passed to the template (enable_thinking=false); repeatable");
    cmd->add_flag("--json", o->json, "Print {\"text\": …, \"ids\": […]}: the text tokenized without adding special tokens again");
    return [o]() -> int {
        const std::string dir = resolve_model(o->model);
        auto tpl = ChatTemplate::from_folder(dir, o->name);
        if (!tpl) throw std::runtime_error(dir + ": no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja)");
        const std::string text = tpl->render(read_messages(o->messages), o->generation_prompt, parse_template_vars(o->vars));
        if (!o->json) {
            std::cout << text;  // exactly the text; a terminal gets a final line break for its prompt
            if (::isatty(STDOUT_FILENO) && !text.empty() && text.back() != '\n') std::cout << '\n';
            return 0;
        }
        const Tokenizer tok = Tokenizer::from_file(dir);
        nlohmann::ordered_json out;
        out["text"] = text;
        out["ids"] = tok.encode(text, false).ids;
        std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    };
}

}  // namespace lmwb::cli
