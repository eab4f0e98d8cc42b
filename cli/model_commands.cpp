#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <iostream>
#include <memory>

#include "commands.h"
#include "lmwb/model.h"
#include "model_flags.h"

namespace lmwb::cli {

namespace {

// "12GB", "800MB", "2.5GiB", "16g", "1000000": bytes (k/M/G/T are powers of 1000, Ki/Mi/Gi/Ti of 1024).
std::string parse_size(const std::string& text) {
    std::size_t used = 0;
    double number = -1;
    try {
        number = std::stod(text, &used);
    } catch (const std::exception&) {
    }
    std::string unit;
    for (char c : text.substr(used)) if (c != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!unit.empty() && unit.back() == 'b') unit.pop_back();
    const bool binary = !unit.empty() && unit.back() == 'i';
    if (binary) unit.pop_back();
    const std::string units = "kmgt";
    const auto power = unit.empty() ? 0 : units.find(unit) + 1;
    if (!(number >= 0) || unit.size() > 1 || power == std::string::npos + 1 || (binary && power == 0))
        throw CLI::ValidationError("--max-memory " + text + ": expected a size such as 12GB, 800MB or 2.5GiB");
    return std::to_string(static_cast<std::uint64_t>(number * std::pow(binary ? 1024.0 : 1000.0, static_cast<double>(power))));
}

}  // namespace

void add_model_flags(CLI::App* cmd, ModelFlags& flags) {
    cmd->add_option("--revision", flags.revision, "With a repository name: the branch, tag or commit in the cache (default: main)");
    cmd->add_option("--threads", flags.threads, "Compute threads (default: all cores)");
    cmd->add_option("--device", flags.device, "cpu, or cuda[:N] where LibTorch has CUDA");
    cmd->add_option("--dtype", flags.dtype,
                    "auto (on the CPU: float32 compute, a 16-bit checkpoint's matrices kept in 16 bits; on a GPU: bfloat16), "
                    "float32 (a float32 copy of the weights), bfloat16, or float16 on a GPU");
    cmd->add_option("--max-memory", flags.max_memory,
                    "Memory the model may use, weights and activations, e.g. 12GB (default: what the machine has available); "
                    "what does not fit is refused before it starts, attribution batches are sized to fit")
        ->transform(parse_size, "SIZE");
}

ModelOptions model_options(const ModelFlags& flags) {
    if (flags.threads < 0 || flags.threads > 1024)
        throw std::runtime_error("--threads " + std::to_string(flags.threads) + ": expected 0 (all cores) to 1024");
    ModelOptions o;
    o.threads = flags.threads;
    o.device = flags.device;
    o.dtype = flags.dtype;
    o.revision = flags.revision;
    o.max_memory = static_cast<std::size_t>(flags.max_memory);
    return o;
}

namespace {

struct ModelArgs {
    std::string path;
    ModelFlags flags;
    bool json = false;
};

void add_model_options(CLI::App* cmd, ModelArgs& a) {
    cmd->add_option("model", a.path, "Hugging Face checkpoint folder, or a repository name (org/name) in the local Hugging Face cache")->required();
    add_model_flags(cmd, a.flags);
    cmd->add_flag("--json", a.json, "Print JSON");
}

std::unique_ptr<LanguageModel> open_model(const ModelArgs& a, bool load_weights = true) {
    ModelOptions o = model_options(a.flags);
    o.load_weights = load_weights;
    return LanguageModel::open(a.path, o);
}

std::string dump(const nlohmann::json& j) { return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

Action add_info_command(CLI::App& app) {
    auto a = std::make_shared<ModelArgs>();
    add_model_options(app.add_subcommand("info", "Describe a model: architecture, size, context, dtype, capabilities"), *a);
    return [a]() -> int {
        auto m = open_model(*a, false);  // config, tokenizer's description and headers: no weight is read or converted
        const ModelInfo& i = m->info();
        nlohmann::json j = {{"path", i.path}, {"format", i.format}, {"architecture", i.architecture},
                            {"parameters", i.parameters}, {"vocab_size", i.vocab_size}, {"context_length", i.context_length},
                            {"hidden_size", i.hidden_size}, {"layers", i.layers}, {"heads", i.heads}, {"kv_heads", i.kv_heads},
                            {"stored_dtype", i.stored_dtype}, {"compute_dtype", i.compute_dtype}, {"held_dtype", i.held_dtype},
                            {"device", i.device},
                            {"weight_bytes", i.weight_bytes}, {"capabilities", i.capabilities}, {"warnings", i.warnings},
                            {"tokenizer", i.tokenizer}};
        if (!i.repository.empty()) j["repository"] = i.repository, j["revision"] = i.revision;
        if (a->json) {
            std::cout << dump(j) << "\n";
            return 0;
        }
        std::printf("%s\n  architecture   %s (%s)\n  parameters     %lld (%.1f MB of weights, stored %s, held %s, computed in %s on %s)\n"
                    "  vocabulary     %lld\n  context        %lld tokens\n  shape          %lld layers, hidden %lld, %lld heads (%lld key/value)\n"
                    "  tokenizer      %s\n  capabilities  ",
                    i.path.c_str(), i.architecture.c_str(), i.format.c_str(), static_cast<long long>(i.parameters),
                    static_cast<double>(i.weight_bytes) / 1e6, i.stored_dtype.c_str(), i.held_dtype.c_str(), i.compute_dtype.c_str(), i.device.c_str(),
                    static_cast<long long>(i.vocab_size), static_cast<long long>(i.context_length), static_cast<long long>(i.layers),
                    static_cast<long long>(i.hidden_size), static_cast<long long>(i.heads), static_cast<long long>(i.kv_heads),
                    i.tokenizer.c_str());
        for (auto& c : i.capabilities) std::printf(" %s", c.c_str());
        std::printf("\n");
        if (!i.repository.empty()) std::printf("  repository     %s at %s (Hugging Face cache)\n", i.repository.c_str(), i.revision.c_str());
        for (const auto& w : i.warnings) std::printf("  warning        %s\n", w.c_str());
        return 0;
    };
}

Action add_generate_command(CLI::App& app) {
    struct Args : ModelArgs {
        std::string prompt;
        GenerationOptions g;
        ChatFlags chat;
    };
    auto a = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand("generate", "Continue a prompt (temperature 0 is greedy)");
    add_model_options(cmd, *a);
    cmd->add_option("prompt", a->prompt, "Prompt text; '-' reads stdin")->required();
    cmd->add_option("--max-new-tokens", a->g.max_new_tokens, "Tokens to generate")->check(CLI::NonNegativeNumber);
    cmd->add_option("--temperature", a->g.temperature, "0: greedy")->check(CLI::NonNegativeNumber);
    cmd->add_option("--top-k", a->g.top_k, "Sample among the k most likely (0: off)")->check(CLI::NonNegativeNumber);
    cmd->add_option("--top-p", a->g.top_p, "Nucleus sampling mass")->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--repetition-penalty", a->g.repetition_penalty, "Penalty for tokens already present (1: off)");
    cmd->add_option("--stop", a->g.stop, "Stop before this string (repeatable)");
    cmd->add_option("--seed", a->g.seed, "Sampling seed");
    add_chat_flags(cmd, a->chat);
    return [a]() -> int {
        if (a->prompt == "-") a->prompt.assign(std::istreambuf_iterator<char>(std::cin), {});
        a->prompt = chat_prompt(a->path, a->flags.revision, a->chat, a->prompt);
        auto m = open_model(*a);
        GenerationResult r = m->generate(a->prompt, a->g);
        if (!a->json) {
            std::cout << a->prompt << r.text << "\n";
            if (r.truncated) std::cerr << "lmwb: warning: the prompt was cut on the left to fit the context\n";
            return 0;
        }
        nlohmann::json tokens = nlohmann::json::array();
        for (auto& t : r.tokens) {
            nlohmann::json top = nlohmann::json::array();
            for (auto& alt : t.top) top.push_back({{"id", alt.id}, {"text", alt.text}, {"logprob", alt.logprob}});
            tokens.push_back({{"id", t.id}, {"text", t.text}, {"logprob", t.logprob}, {"entropy", t.entropy}, {"top", top},
                              {"seconds", t.seconds}});
        }
        std::vector<std::int32_t> ids;
        for (auto& t : r.tokens) ids.push_back(t.id);
        std::cout << dump({{"prompt", a->prompt}, {"prompt_tokens", r.prompt_tokens}, {"text", r.text}, {"token_ids", ids},
                           {"tokens", tokens}, {"stop_reason", r.stop_reason}, {"truncated", r.truncated},
                           {"seed", a->g.seed}, {"temperature", a->g.temperature}})
                  << "\n";
        return 0;
    };
}

Action add_score_command(CLI::App& app) {
    struct Args : ModelArgs {
        std::string context, continuation;
        ChatFlags chat;
    };
    auto a = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand("score", "Log-probability of a continuation given a context");
    add_model_options(cmd, *a);
    cmd->add_option("--context", a->context, "Context text")->required();
    cmd->add_option("--continuation", a->continuation, "Continuation text")->required();
    add_chat_flags(cmd, a->chat);
    return [a]() -> int {
        a->context = chat_prompt(a->path, a->flags.revision, a->chat, a->context);
        auto m = open_model(*a);
        ScoreResult r = m->score({{a->context, a->continuation}}, 1).front();
        if (!a->json) {
            std::printf("logprob %.6f  (%zu tokens, greedy: %s%s)\n", r.logprob, r.tokens.size(), r.is_greedy ? "yes" : "no",
                        r.truncated ? ", context truncated" : "");
            for (std::size_t i = 0; i < r.tokens.size(); ++i)
                std::printf("  %8d  %-20s  %.6f\n", r.tokens[i], m->tokenizer().decode({r.tokens[i]}).c_str(), r.token_logprobs[i]);
            return 0;
        }
        nlohmann::json toks = nlohmann::json::array();
        for (std::size_t i = 0; i < r.tokens.size(); ++i)
            toks.push_back({{"id", r.tokens[i]}, {"text", m->tokenizer().decode({r.tokens[i]})}, {"logprob", r.token_logprobs[i]}});
        std::cout << dump({{"context", a->context}, {"continuation", a->continuation}, {"logprob", r.logprob},
                           {"is_greedy", r.is_greedy}, {"truncated", r.truncated}, {"tokens", toks}})
                  << "\n";
        return 0;
    };
}

}  // namespace lmwb::cli
