// A template as a model folder's tokenizer_config.json or a task YAML ships it, then optionally the JSON variables it
// renders with. Parsing and rendering may fail with jinja::Error only, within the step and output budgets, in every
// environment.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "lmwb/jinja.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = lmwb::fuzz::split_files({reinterpret_cast<const char*>(data), size}, 2);
    nlohmann::ordered_json vars = nlohmann::ordered_json::object();
    if (parts.size() > 1) {
        vars = nlohmann::ordered_json::parse(parts[1], nullptr, false);
        if (vars.is_discarded() || !vars.is_object()) vars = nlohmann::ordered_json::object();
    }
    for (int e = 0; e < 3; ++e) {
        lmwb::jinja::Environment env = e == 0 ? lmwb::jinja::Environment::transformers() : e == 1 ? lmwb::jinja::Environment::lm_eval() : lmwb::jinja::Environment{};
        env.max_steps = 200000;
        env.max_output = 1 << 20;
        env.strftime_now = [](const std::string&) { return std::string("07 Dec 2026"); };
        try {
            const lmwb::jinja::Template t(parts[0], "fuzz", env);
            const std::string out = t.render(vars);
            lmwb::fuzz::check(out.size() <= env.max_output + (1 << 20), "output beyond the budget");
        } catch (const lmwb::jinja::Error&) {
        }
    }
    return 0;
}
