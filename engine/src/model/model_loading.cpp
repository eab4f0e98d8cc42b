// Opening a model: a checkpoint folder or a TorchScript bundle, its tokenizer, configuration and weights.
#include <torch/torch.h>

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <thread>

#include <nlohmann/json.hpp>

#include "lmwb/json_file.h"

#include "lmwb/model_source.h"
#include "config.h"
#include "compute_threads.h"
#include "hf_model.h"
#include "host_memory.h"

namespace lmwb {

namespace {

namespace fs = std::filesystem;

std::vector<std::int64_t> read_generation_eos(const fs::path& dir) {
    std::vector<std::int64_t> out;
    std::error_code ec;
    if (!fs::exists(dir / "generation_config.json", ec)) return out;  // optional
    const auto j = read_json_object((dir / "generation_config.json").string(), "generation settings");
    if (j.contains("eos_token_id")) {
        auto& e = j["eos_token_id"];
        if (e.is_number_integer()) out.push_back(e.get<std::int64_t>());
        else if (e.is_array())
            for (auto& v : e) if (v.is_number_integer()) out.push_back(v.get<std::int64_t>());
    }
    return out;
}

}  // namespace

// Between batches and decode steps; networks that check per layer (ours) also stop inside a pass.
void check_cancelled() {
    if (const CancelToken* t = CancelScope::current()) t->check();
}

torch::Tensor long_tensor(const std::vector<std::int64_t>& v) {
    return torch::tensor(v, torch::TensorOptions().dtype(torch::kLong));
}

void check_finite(const torch::Tensor& logits, const std::string& what) {
    if (!torch::isfinite(logits).all().item<bool>())
        throw ModelError("the model produced NaN or infinite logits while " + what +
                         " (broken weights, or a dtype that overflows: try --dtype float32)");
}

void check_finite_gradients(const torch::Tensor& g) {
    if (!torch::isfinite(g).all().item<bool>())
        throw ModelError("the model produced NaN or infinite gradients while attributing (broken weights, or a dtype that "
                         "overflows: try --dtype float32)");
}

torch::Tensor HfModel::ids_tensor(const std::vector<std::int64_t>& ids, std::int64_t rows) const {
    for (auto id : ids)
        if (id < 0 || id >= info_.vocab_size)
            throw ModelError("token id " + std::to_string(id) + " is outside the model's vocabulary of " +
                             std::to_string(info_.vocab_size) + " (tokenizer.json and config.json disagree)");
    return long_tensor(ids).view({rows, -1}).to(device());
}

HfModel::~HfModel() = default;

const Tokenizer& HfModel::tokenizer() const {
    std::call_once(tokenizer_built_, [this] {
        try {
            tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_file(info_.path));
        } catch (const TokenizerError& e) {
            throw ModelError(e.what());
        }
    });
    return *tokenizer_;
}

HfModel::HfModel(const std::string& path, const ModelOptions& options)
    : options_(options), device_(std::make_unique<torch::Device>(torch::kCPU)) {
    options_.control = {};  // the opener's hooks serve the opening only
    fs::path dir(path);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw ModelError(path + ": not a folder (expected a Hugging Face checkpoint folder)");
    threads_ = open_compute_threads(options.threads);
    info_.threads = threads_;
    info_.path = path;
    try {
        if (options.load_weights) {
            tokenizer();
            info_.tokenizer = tokenizer_->describe();
        } else {
            info_.tokenizer = Tokenizer::describe_file(path);  // a 128k vocabulary's merges take longer than the rest of `info`
        }
    } catch (const TokenizerError& e) {
        throw ModelError(e.what());
    }
    info_.tokenizer_file = (dir / (fs::exists(dir / "tokenizer.json") ? "tokenizer.json" : "vocab.json")).string();
    info_.device = options.device;
    if (fs::exists(dir / "lmwb.json")) {
        open_bundle(dir, options);
        info_.compute_dtype = info_.held_dtype = "float32";  // as exported (load_torchscript refuses any other)
    } else {
        info_.compute_dtype = compute_dtype(options);
        open_hf_folder(dir, options);
    }
    device_ = std::make_unique<torch::Device>(options.device);  // validated by the network
    kv_cache_ = model_ && model_->new_cache(1, 1) != nullptr;  // TorchScript bundles without a step method keep none
    // Prefix for an empty context and for rolling windows: BOS, else end-of-text, as lm-eval does.
    if (prefix_ < 0 || prefix_ >= info_.vocab_size) prefix_ = eos_.empty() ? 0 : eos_.front();
    if (prefix_ < 0 || prefix_ >= info_.vocab_size) prefix_ = 0;
}

void HfModel::refuse_weights_beyond_memory(const std::string& where, const ModelOptions& options) const {
    const std::size_t budget = options.max_memory ? options.max_memory : available_memory_bytes();
    if (budget == 0 || held_bytes_ <= budget) return;
    std::string advice = "a machine with more memory";
    const std::size_t as_stored = held_weight_bytes(info_, "auto");
    if (options.dtype == "float32" && as_stored < held_bytes_)
        advice = "--dtype auto keeps the " + info_.stored_dtype + " weights as stored (" + format_bytes(as_stored) + ")";
    throw ModelError(where + ": the weights take " + format_bytes(held_bytes_) + " held as " +
                     (held_bytes_ == info_.weight_bytes ? "stored (" + info_.stored_dtype + ")" : info_.compute_dtype) + ", and " +
                     (options.max_memory ? "--max-memory allows " : "the machine has ") + format_bytes(budget) +
                     (options.max_memory ? "" : " available") + ": " + advice);
}

std::size_t HfModel::activation_budget() const {
    if (options_.max_memory) return options_.max_memory > held_bytes_ ? options_.max_memory - held_bytes_ : 0;
    std::size_t available = available_memory_bytes();
    if (available == 0) return std::numeric_limits<std::size_t>::max();  // not known: nothing refused
    // What earlier passes freed into the heap is ours to use again, though the kernel counts it as taken.
    available += heap_free_bytes();
    // Mapped weights are page cache the kernel counts as available, but each pass needs them resident.
    if (weights_mapped_) available = available > held_bytes_ ? available - held_bytes_ : 0;
    const std::size_t margin = (std::size_t{256} << 20) + available / 20;
    return available > margin ? available - margin : 0;
}

void HfModel::check_memory(const PassShape& pass, const std::string& what, const std::string& advice) const {
    const std::size_t need = estimate_activation_bytes(info_, pass), budget = activation_budget();
    if (need <= budget) return;
    throw ModelError(what + " needs about " + format_bytes(need) + " of memory beyond the weights (" + format_bytes(held_bytes_) +
                     "), and " + format_bytes(budget) + (options_.max_memory ? " is left under --max-memory" : " is available") +
                     ": " + advice);
}

void HfModel::open_hf_folder(const fs::path& dir, const ModelOptions& options) {
    ArchConfig cfg = read_config((dir / "config.json").string());
    weights_ = std::make_unique<WeightStore>(dir.string());  // headers only: the data stays mapped, unread
    info_.weight_bytes = weights_->total_bytes();
    info_.weight_files = weights_->files();
    std::string stored;
    for (auto& n : weights_->names()) {
        const TensorView* view = weights_->find(n);
        if (stored.empty()) stored = view->dtype_name;
        else if (stored != view->dtype_name && stored.find("mixed") == std::string::npos) stored += " (mixed)";
    }
    info_.stored_dtype = stored;
    held_bytes_ = held_weight_bytes(info_, options.dtype, options.device);
    if (options.load_weights) refuse_weights_beyond_memory(dir.string(), options);
    // Without load_weights the network is built of meta tensors: every name, shape and dtype is checked against the
    // headers as a load would, and nothing is read (a checkpoint `score` refuses is not described as fine).
    std::unique_ptr<Transformer> t;
    try {
        t = std::make_unique<Transformer>(cfg, *weights_, options);
    } catch (const c10::Error& e) {  // one line naming what to change, never LibTorch's 38-frame backtrace
        const std::string what = e.what_without_backtrace();
        if (is_out_of_memory(e)) {
            double elements = 0;
            for (const auto& n : weights_->names()) elements += static_cast<double>(weights_->find(n)->numel());
            char need[64];
            std::snprintf(need, sizeof need, "%.1f GiB", elements * (info_.compute_dtype == "float32" ? 4 : 2) / (1 << 30));
            throw ModelError(dir.string() + ": not enough memory to hold the weights as " + info_.compute_dtype + " (about " + need +
                             " for a checkpoint of " + std::to_string(weights_->total_bytes() >> 20) + " MiB stored); a 16-bit "
                             "dtype or a machine with more memory");
        }
        throw ModelError(dir.string() + ": " + what.substr(0, what.find('\n')));
    }
    if (const auto& unused = t->unused_tensors(); !unused.empty())
        info_.warnings.push_back(std::to_string(unused.size()) + " tensors of the checkpoint are not used (" + unused.front() +
                                 (unused.size() > 1 ? ", …" : "") + "): does num_hidden_layers (" + std::to_string(cfg.layers) +
                                 ") or the architecture match the weights?");
    info_.parameters = t->parameter_count();
    info_.held_dtype = t->held_dtype();
    weights_mapped_ = info_.held_dtype != info_.compute_dtype && options.device == "cpu";  // 16-bit matrices kept as mapped
    info_.final_norm = t->final_norm_kind();
    info_.norm_eps = cfg.norm_eps;
    info_.final_logit_softcap = cfg.final_softcap;
    if (options.load_weights) model_ = std::move(t);
    if (cfg.rope_scaling.type == "longrope") length_switched_rope_ = cfg.rope_scaling.original_max_position_embeddings;
    eos_ = read_generation_eos(dir);
    if (eos_.empty()) eos_ = cfg.eos_token_ids;
    prefix_ = !cfg.bos_token_ids.empty() ? cfg.bos_token_ids.front() : -1;
    info_.format = "huggingface";
    info_.architecture = cfg.model_type;
    info_.vocab_size = cfg.vocab_size;
    info_.context_length = cfg.max_positions;
    info_.hidden_size = cfg.hidden_size;
    info_.layers = cfg.layers;
    info_.heads = cfg.heads;
    info_.kv_heads = cfg.kv_heads;
    info_.head_dim = cfg.head_dim;
    info_.intermediate_size = cfg.intermediate_size;
    info_.capabilities = {"score", "generate", "kv_cache", "attentions", "hidden_states", "embeddings", "embedding_gradients"};
}

void HfModel::open_bundle(const fs::path& dir, const ModelOptions& options) {
    std::string mpath = (dir / "lmwb.json").string();
    const nlohmann::json m = read_json_object(mpath, "a TorchScript bundle needs lmwb.json");
    const json_file::Object manifest(m, mpath, [](const std::string& message) { throw ModelError(message); });
    auto integer = [&](const char* key, bool required) -> std::int64_t {
        if (!required && !manifest.has(key)) return -1;
        return manifest.integer(key);
    };
    auto text = [&](const char* key, const std::string& fallback) { return manifest.string(key, fallback); };
    if (text("format", "") != "lmwb-torchscript") throw ModelError(mpath + ": /format: expected \"lmwb-torchscript\"");
    BundleManifest bm;
    bm.vocab_size = integer("vocab_size", true);
    bm.context_length = integer("context_length", true);
    if (bm.vocab_size <= 0 || bm.context_length <= 0) throw ModelError(mpath + ": vocab_size and context_length must be positive");
    if (m.contains("outputs") && m["outputs"].is_object() && m["outputs"].contains("logits")) {
        auto& l = m["outputs"]["logits"];
        if (l.is_number_integer()) bm.logits_output = l.get<int>();
        else if (l.is_string()) bm.logits_key = l.get<std::string>();
        else throw ModelError(mpath + ": /outputs/logits: expected an index or a key");
    }
    model_ = load_torchscript((dir / "model.pt").string(), bm, options, info_.capabilities);
    if (m.contains("eos_token_id") && m["eos_token_id"].is_array()) {  // e.g. Llama 3
        for (auto& v : m["eos_token_id"])
            if (v.is_number_integer()) eos_.push_back(v.get<std::int64_t>());
    } else if (auto eos = integer("eos_token_id", false); eos >= 0) {
        eos_ = {eos};
    }
    prefix_ = integer("bos_token_id", false);
    info_.format = "torchscript";
    info_.architecture = text("architecture", "unknown");
    info_.parameters = net().parameter_count();
    info_.vocab_size = bm.vocab_size;
    info_.context_length = bm.context_length;
    info_.hidden_size = std::max<std::int64_t>(0, integer("hidden_size", false));
    info_.layers = std::max<std::int64_t>(0, integer("layers", false));
    info_.heads = std::max<std::int64_t>(0, integer("heads", false));
    info_.kv_heads = std::max<std::int64_t>(0, integer("kv_heads", false));
    if (info_.kv_heads == 0) info_.kv_heads = info_.heads;
    std::error_code ec;
    info_.weight_bytes = static_cast<std::size_t>(fs::file_size(dir / "model.pt", ec));
    info_.weight_files = {(dir / "model.pt").string()};
    info_.stored_dtype = "TorchScript";
}

double matmul_gflops(int n, int threads) {
    set_process_threads(threads);
    auto a = torch::randn({n, n}), b = torch::randn({n, n});
    std::vector<double> rates;
    torch::mm(a, b);  // warm-up
    for (int i = 0; i < 5; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto c = torch::mm(a, b);
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rates.push_back(2.0 * n * n * static_cast<double>(n) / s / 1e9);
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
}

bool is_out_of_memory(const std::exception& e) {
    if (dynamic_cast<const std::bad_alloc*>(&e)) return true;
    const auto* c10e = dynamic_cast<const c10::Error*>(&e);
    const std::string what = c10e ? c10e->what_without_backtrace() : e.what();
    for (const char* sign : {"can't allocate memory", "not enough memory", "out of memory", "Cannot allocate memory"})
        if (what.find(sign) != std::string::npos) return true;
    return false;
}

std::unique_ptr<LanguageModel> LanguageModel::open(const std::string& path, const ModelOptions& options) {
    keep_tensor_buffers_in_heap();
    const std::string folder = resolve_model(path, options.revision);
    auto m = std::make_unique<HfModel>(folder, options);
    if (folder != path && path.find('/') != std::string::npos && !std::filesystem::is_directory(path))
        m->name_source(path, options.revision);  // a repository of the cache, not a bundled model's name
    return m;
}

}  // namespace lmwb
