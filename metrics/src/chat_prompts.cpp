#include "chat_prompts.h"

#include "lmwb/chat_template.h"
#include "lmwb/jinja.h"
#include "lmwb/model.h"
#include "lmwb/suite.h"

namespace lmwb::eval {

namespace {

using datasets::TaskKind;

std::string chat_prompt(const ChatTemplate& t, const datasets::SuiteItem& item, const RunSettings& st) {
    auto message = [](const char* role, const std::string& content) { return nlohmann::ordered_json{{"role", role}, {"content", content}}; };
    nlohmann::ordered_json turns = nlohmann::ordered_json::array();
    if (st.fewshot_as_multiturn) {
        for (const auto& shot : item.shots) {
            turns.push_back(message("user", shot.prompt));
            turns.push_back(message("assistant", shot.target));
        }
        turns.push_back(message("user", item.question));
    } else {
        turns.push_back(message("user", item.prompt));  // examples, delimiters and the prompt joined
    }
    if (st.system_instruction.empty()) return t.render(turns, true);
    nlohmann::ordered_json with_system = nlohmann::ordered_json::array({message("system", st.system_instruction)});
    for (const auto& m : turns) with_system.push_back(m);
    try {
        return t.render(with_system, true);
    } catch (const jinja::Error&) {  // lm-eval drops the system role when the template refuses it
        return t.render(turns, true);
    }
}

}  // namespace

bool apply_chat_templates(const LanguageModel& model, std::vector<datasets::Suite>& suites, RunSettings& settings,
                          std::vector<SuiteReport>& reports) {
    auto uses = [&](const datasets::Suite& s) { return (settings.apply_chat_template || s.chat) && s.kind != TaskKind::Perplexity; };
    const datasets::Suite* first = nullptr;
    for (const auto& s : suites)
        if (uses(s) && !first) first = &s;
    if (!first) {
        if (settings.fewshot_as_multiturn || !settings.system_instruction.empty())
            throw ReportError(std::string(settings.fewshot_as_multiturn ? "--fewshot-as-multiturn" : "--system") +
                              " shapes prompts that go through a chat template: add --apply-chat-template (or \"chat\": true in a suite)");
        return false;
    }
    const auto tpl = ChatTemplate::from_folder(model.info().path);
    if (!tpl)
        throw ReportError(model.info().path + ": the model has no chat template (tokenizer_config.json's chat_template or chat_template.jinja), which " +
                          (settings.apply_chat_template ? std::string("--apply-chat-template") : "suite '" + first->name + "' (\"chat\": true)") + " needs");
    settings.chat_template = datasets::sha256_hex(tpl->source());
    for (std::size_t si = 0; si < suites.size(); ++si) {
        datasets::Suite& s = suites[si];
        if (!uses(s)) continue;
        for (auto& item : s.items) {
            try {
                item.prompt = chat_prompt(*tpl, item, settings);
            } catch (const std::exception& e) {
                throw ReportError(s.path + ": item '" + item.id + "': the chat template: " + e.what());
            }
        }
        if (s.kind == TaskKind::MultipleChoice) s.target_delimiter.clear();  // a choice follows the generation prompt
        reports[si].chat = true;
    }
    return true;
}

}  // namespace lmwb::eval
