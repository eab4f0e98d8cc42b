// Subcommands of the lmwb CLI. Each registers its options on the app and returns the action to run.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lmwb {
class LanguageModel;
}

namespace lmwb::cli {

using Action = std::function<int()>;

// Text from files and models, made safe for a terminal line: line breaks and tabs become spaces, other C0 and C1
// control characters and DEL '?' (no escape sequence of an item id or a generated text reaches the terminal).
inline std::string printable(std::string s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\n' || c == '\t' || c == '\r') out += ' ';
        else if (c < 0x20 || c == 0x7F) out += '?';
        else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 && static_cast<unsigned char>(s[i + 1]) <= 0x9F) out += '?', ++i;
        else out += static_cast<char>(c);
    }
    return out;
}

Action add_tokenize_command(CLI::App& app);
Action add_sae_dashboard_command(CLI::App& app);
Action add_detokenize_command(CLI::App& app);
Action add_info_command(CLI::App& app);
Action add_generate_command(CLI::App& app);
Action add_score_command(CLI::App& app);
Action add_eval_command(CLI::App& app);
Action add_merge_command(CLI::App& app);
Action add_compare_command(CLI::App& app);
Action add_metrics_command(CLI::App& app);
Action add_methods_command(CLI::App& app);  // eval_commands.cpp
Action add_formats_command(CLI::App& app);  // eval_commands.cpp
Action add_ratings_command(CLI::App& app);
Action add_explain_command(CLI::App& app);
Action add_uncertainty_command(CLI::App& app);
Action add_side_by_side_command(CLI::App& app);  // circuit_commands.cpp
Action add_chat_command(CLI::App& app);          // chat_command.cpp

// --chat and --system on the commands that take a prompt (chat_command.cpp): the prompt as the user message of the
// model's chat template, after the generation prompt; unchanged without --chat.
struct ChatFlags {
    bool chat = false;
    std::string system;
};
void add_chat_flags(CLI::App* cmd, ChatFlags& flags);
std::string chat_prompt(const std::string& model, const std::string& revision, const ChatFlags& flags, const std::string& prompt);

// explain -m patching | dla (circuit_commands.cpp)
struct CircuitArgs {
    std::string corrupted, sites = "residual,attention,mlp,heads";
    std::vector<int> noise_positions, positions;
    double noise_scale = 3.0;
    bool generation = false;  // explain every generated token (--generation)
    bool no_exact = false;    // attribution patching alone (--no-exact)
    int max_new_tokens = 16;
};
void add_circuit_options(CLI::App* cmd, CircuitArgs& args);
// explain -m sae-features | sae-attribution | sae-ablate.
struct SaeArgs {
    std::vector<std::string> saes;  // SAELens folders or params.npz files
    std::string hook;               // a params.npz's hook point
    int features = 20, feature = -1;
    double value = 0, coefficient = 4.0;
    std::string direction;  // steer: a JSON array of the hook's width instead of a feature
};
void add_sae_options(CLI::App* cmd, SaeArgs& args);
int run_sae_method(const LanguageModel& model, const std::string& method, const std::string& prompt, const std::string& target,
                   const std::string& contrast, const SaeArgs& sae, const std::vector<int>& positions, int top_k, int steps,
                   int max_new_tokens, bool json);
// explain --generation: every continuation token attributed to the prompt and the tokens before it.
int run_generation_attribution(const LanguageModel& model, const std::string& prompt, const std::string& continuation,
                               const std::string& method, int steps, const std::string& quadrature, int internal_batch,
                               std::int32_t baseline_token, const CircuitArgs& args, bool json);
int run_attribution_patching(const LanguageModel& model, const std::string& prompt, const std::string& target, const std::string& contrast,
                             const CircuitArgs& a, std::uint64_t seed, int batch_size, bool json);
int run_direct_logit(const LanguageModel& model, const std::string& prompt, const std::string& target, const std::string& contrast,
                     bool json);
int run_patching(const LanguageModel& model, const std::string& prompt, std::string target, const std::string& contrast,
                 const CircuitArgs& args, std::uint64_t seed, int batch_size, bool json);

}  // namespace lmwb::cli
