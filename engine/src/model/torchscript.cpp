// TorchScript bundles: the model runs as its author exported it; we only need its logits.
#include <filesystem>
#include <torch/script.h>
#include <torch/torch.h>

#include <fstream>
#include <set>

#include "kv_cache.h"
#include "transformer.h"

namespace lmwb {

namespace {

class TorchScriptNetwork : public Network {
public:
    TorchScriptNetwork(torch::jit::Module module, const BundleManifest& manifest)
        : module_(std::move(module)), manifest_(manifest) {
        for (const auto& p : module_.parameters()) params_ += p.numel();
        has_embed_ = module_.find_method("embed").has_value();
        has_forward_embeddings_ = module_.find_method("forward_embeddings").has_value();
        has_attentions_ = module_.find_method("attentions").has_value();
        has_hidden_states_ = module_.find_method("hidden_states").has_value();
        has_step_ = module_.find_method("step").has_value();
    }
    bool has_step() const { return has_step_; }
    bool has_attentions() const { return has_attentions_; }
    bool has_hidden_states() const { return has_hidden_states_; }
    bool runs_hooks() const override { return false; }
    torch::Tensor traced_attentions(const torch::Tensor& ids, const torch::Tensor& mask) const override {
        if (!has_attentions_) throw ModelError("this TorchScript bundle exports no 'attentions' method (see docs/model-contract.md)");
        return module_.get_method("attentions")({ids, mask}).toTensor();
    }
    torch::Tensor traced_hidden_states(const torch::Tensor& ids, const torch::Tensor& mask) const override {
        if (!has_hidden_states_) throw ModelError("this TorchScript bundle exports no 'hidden_states' method (see docs/model-contract.md)");
        return module_.get_method("hidden_states")({ids, mask}).toTensor();
    }

    bool has_embeddings() const { return has_embed_ && has_forward_embeddings_; }

    std::int64_t parameter_count() const override { return params_; }

    torch::Tensor embed(const torch::Tensor& ids) const override {
        if (!has_embed_) throw ModelError("this TorchScript bundle exports no 'embed' method (see docs/model-contract.md)");
        return module_.get_method("embed")({ids}).toTensor();
    }

    torch::Tensor forward(const torch::Tensor& embeddings, const torch::Tensor& key_mask, const torch::Tensor&,
                          KVCache*, const TensorHooks*) const override {
        // runs_hooks() is false: callers use traced_attentions / traced_hidden_states
        if (!has_forward_embeddings_)
            throw ModelError("this TorchScript bundle exports no 'forward_embeddings' method (see docs/model-contract.md)");
        return module_.get_method("forward_embeddings")({embeddings, key_mask}).toTensor();
    }

    torch::Tensor forward_ids(const torch::Tensor& ids, const torch::Tensor& key_mask, const torch::Tensor& positions,
                              KVCache* cache) const override {
        if (!cache) return logits_of(module_.forward({ids, key_mask}), ids.size(0), ids.size(1));
        return cached_step(ids, key_mask, positions, *cache);
    }

    torch::Tensor input_states(const torch::Tensor& embeddings, const torch::Tensor&) const override { return embeddings; }
    torch::Tensor logits(const torch::Tensor& states) const override { return states.to(torch::kFloat32); }
    // Without a step method there is no cache: each generation step recomputes the sequence.
    KVCachePtr new_cache(std::int64_t, std::int64_t capacity) const override {
        if (!has_step_) return KVCachePtr();
        KVCachePtr c(new KVCache);
        c->capacity = capacity;
        return c;
    }

private:
    // step(input_ids [B, T], attention_mask [B, P + T], positions [B, T], past) -> (logits [B, T, V], present): past and
    // present list each layer's keys then values, [B, kv_heads, P or P + T, head_dim]; past is empty at first.
    torch::Tensor cached_step(const torch::Tensor& ids, const torch::Tensor& key_mask, const torch::Tensor& positions,
                              KVCache& cache) const {
        const std::int64_t B = ids.size(0), T = ids.size(1), P = cache.length;
        if (P + T > cache.capacity) throw ModelError("KV cache capacity exceeded");
        c10::List<torch::Tensor> past;
        for (std::size_t l = 0; P > 0 && l < cache.k.size(); ++l) {
            past.push_back(cache.k[l].narrow(2, 0, P));
            past.push_back(cache.v[l].narrow(2, 0, P));
        }
        auto out = module_.get_method("step")({ids, key_mask, positions.contiguous(), past});
        if (!out.isTuple() || out.toTuple()->elements().size() != 2 || !out.toTuple()->elements()[1].isTensorList())
            throw ModelError("step must return (logits, list of keys and values) (see docs/model-contract.md)");
        auto elems = out.toTuple()->elements();
        auto logits = logits_of(elems[0], B, T);
        auto present = elems[1].toTensorList();
        if (present.size() == 0 || present.size() % 2 != 0 || (P > 0 && present.size() != 2 * cache.k.size()))
            throw ModelError("step returned " + std::to_string(present.size()) + " key and value tensors, expected two per layer");
        const bool first = cache.k.empty();  // buffers are allocated now that the shapes are known
        for (std::size_t i = 0; i < present.size(); ++i) {
            torch::Tensor t = present.get(i);
            if (t.dim() != 4 || t.size(0) != B || t.size(2) != P + T)
                throw ModelError("step returned keys or values of shape " + std::string(c10::str(t.sizes())) + ", expected [" +
                                 std::to_string(B) + ", heads, " + std::to_string(P + T) + ", head_dim]");
            if (first) (i % 2 == 0 ? cache.k : cache.v).push_back(torch::zeros({B, t.size(1), cache.capacity, t.size(3)}, t.options()));
            auto& dst = (i % 2 == 0 ? cache.k : cache.v)[i / 2];
            dst.narrow(2, P, T).copy_(t.narrow(2, P, T));
        }
        cache.length = P + T;
        return logits;
    }

    torch::Tensor logits_of(const c10::IValue& out, std::int64_t rows, std::int64_t cols) const {
        torch::Tensor t;
        if (out.isTensor()) {
            if (manifest_.logits_output != 0 || !manifest_.logits_key.empty())
                throw ModelError("lmwb.json: /outputs/logits: output " +
                                 (manifest_.logits_key.empty() ? std::to_string(manifest_.logits_output) : "'" + manifest_.logits_key + "'") +
                                 " does not exist (forward returns a single tensor)");
            t = out.toTensor();
        }
        else if (out.isTuple()) {
            if (!manifest_.logits_key.empty())
                throw ModelError("lmwb.json: /outputs/logits: forward returns a tuple: give the logits' index, not a key");
            auto elems = out.toTuple()->elements();
            if (manifest_.logits_output < 0 || static_cast<std::size_t>(manifest_.logits_output) >= elems.size())
                throw ModelError("lmwb.json: /outputs/logits: output " + std::to_string(manifest_.logits_output) +
                                 " does not exist (forward returns " + std::to_string(elems.size()) + " values)");
            t = elems[static_cast<std::size_t>(manifest_.logits_output)].toTensor();
        } else if (out.isGenericDict()) {
            if (manifest_.logits_key.empty())
                throw ModelError("lmwb.json: /outputs/logits: forward returns a dict: give the logits' key, not an index");
            auto d = out.toGenericDict();
            auto it = d.find(manifest_.logits_key);
            if (it == d.end()) throw ModelError("lmwb.json: /outputs/logits: forward's result has no '" + manifest_.logits_key + "'");
            t = it->value().toTensor();
        } else {
            throw ModelError("forward must return logits, a tuple or a dict (see docs/model-contract.md)");
        }
        if (t.dim() != 3 || t.size(0) != rows || t.size(1) != cols || t.size(2) != manifest_.vocab_size)
            throw ModelError("forward returned a tensor of shape " + std::string(c10::str(t.sizes())) + ", expected [" +
                             std::to_string(rows) + ", " + std::to_string(cols) + ", " + std::to_string(manifest_.vocab_size) + "]");
        return t;
    }

    mutable torch::jit::Module module_;  // running a method is not const in the TorchScript API
    BundleManifest manifest_;
    std::int64_t params_ = 0;
    bool has_embed_ = false, has_forward_embeddings_ = false, has_attentions_ = false, has_hidden_states_ = false, has_step_ = false;
};

}  // namespace

namespace {

// Uncompressed sizes of the records of a zip file (model.pt is one), from its central directory, ZIP64 included.
std::vector<std::uint64_t> record_sizes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    f.seekg(0, std::ios::end);
    const auto size = static_cast<std::uint64_t>(f.tellg());
    auto read = [&](std::uint64_t at, std::size_t n) {
        std::string b(n, '\0');
        f.seekg(static_cast<std::streamoff>(at));
        f.read(b.data(), static_cast<std::streamsize>(n));
        if (!f) throw ModelError(path + ": not a readable zip archive");
        return b;
    };
    auto u = [](const std::string& b, std::size_t at, int bytes) {
        std::uint64_t v = 0;
        for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
        return v;
    };
    const std::uint64_t tail_len = std::min<std::uint64_t>(size, 65557);
    const std::string tail = read(size - tail_len, tail_len);
    const auto eocd = tail.rfind(std::string("PK\x05\x06", 4));
    if (eocd == std::string::npos || eocd + 22 > tail.size()) throw ModelError(path + ": not a zip archive (no end of central directory)");
    std::uint64_t entries = u(tail, eocd + 10, 2), cd_size = u(tail, eocd + 12, 4), cd_offset = u(tail, eocd + 16, 4);
    if (entries == 0xFFFF || cd_offset == 0xFFFFFFFF) {  // ZIP64: the locator sits just before the record
        if (eocd < 20 || tail.compare(eocd - 20, 4, std::string("PK\x06\x07", 4)) != 0) throw ModelError(path + ": damaged ZIP64 directory");
        const std::string z = read(u(tail, eocd - 20 + 8, 8), 56);
        if (z.compare(0, 4, std::string("PK\x06\x06", 4)) != 0) throw ModelError(path + ": damaged ZIP64 directory");
        entries = u(z, 32, 8), cd_size = u(z, 40, 8), cd_offset = u(z, 48, 8);
    }
    if (cd_offset + cd_size > size) throw ModelError(path + ": the zip directory lies outside the file");
    const std::string cd = read(cd_offset, static_cast<std::size_t>(cd_size));
    std::vector<std::uint64_t> out;
    for (std::size_t at = 0; out.size() < entries;) {
        if (at + 46 > cd.size() || cd.compare(at, 4, std::string("PK\x01\x02", 4)) != 0) throw ModelError(path + ": damaged zip directory");
        std::uint64_t bytes = u(cd, at + 24, 4);
        const std::size_t name = u(cd, at + 28, 2), extra = u(cd, at + 30, 2), comment = u(cd, at + 32, 2);
        if (bytes == 0xFFFFFFFF)  // the 64-bit size is the first field of the ZIP64 extra block
            for (std::size_t e = at + 46 + name; e + 4 <= at + 46 + name + extra && e + 4 <= cd.size();) {
                const auto tag = u(cd, e, 2), len = u(cd, e + 2, 2);
                if (tag == 1 && e + 12 <= cd.size()) bytes = u(cd, e + 4, 8);
                e += 4 + len;
            }
        out.push_back(bytes);
        at += 46 + name + extra + comment;
    }
    return out;
}

// What the archive's records declare they inflate to, checked before LibTorch reads a byte: torch.jit.save stores
// records uncompressed, so a file whose records declare far more than its own size is a zip bomb (a 3.7 MB file
// inflating to 3 GiB cost 52 s and 3.3 GB before LibTorch refused it).
void check_declared_sizes(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw ModelError(path + ": cannot read its size (" + ec.message() + ")");
    std::vector<std::uint64_t> sizes;
    try {
        sizes = record_sizes(path);
    } catch (const ModelError& e) {
        throw ModelError(path + ": not a loadable TorchScript file (" + std::string(e.what()).substr(path.size() + 2) + ")");
    }
    std::uint64_t total = 0;
    for (auto n : sizes) total += std::min<std::uint64_t>(n, UINT64_MAX / 4);
    const std::uint64_t limit = 2 * static_cast<std::uint64_t>(size) + (64ull << 20);
    if (total > limit)
        throw ModelError(path + ": its records declare " + std::to_string(total >> 20) + " MiB once inflated, in a file of " +
                         std::to_string(static_cast<std::uint64_t>(size) >> 20) + " MiB (TorchScript archives are stored "
                         "uncompressed): refusing to load a zip bomb");
}

// A record cut short still loads (the storage keeps its declared size, backed by fewer bytes): every parameter's and
// buffer's storage must have a record of exactly its size.
void check_storages(const torch::jit::Module& module, const std::string& path) {
    std::multiset<std::uint64_t> records;
    for (auto n : record_sizes(path)) records.insert(n);
    std::set<const void*> seen;
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& p : module.named_parameters(true)) tensors.emplace_back(p.name, p.value);
    for (const auto& b : module.named_buffers(true)) tensors.emplace_back(b.name, b.value);
    for (const auto& [name, t] : tensors) {
        if (!t.defined() || !t.has_storage() || t.storage().nbytes() == 0 || !seen.insert(t.storage().data()).second) continue;
        auto it = records.find(t.storage().nbytes());
        if (it == records.end())
            throw ModelError(path + ": tensor '" + name + "' needs " + std::to_string(t.storage().nbytes()) +
                             " bytes of storage and no record of the file holds them (a cut or damaged model.pt)");
        records.erase(it);
    }
}

}  // namespace

std::unique_ptr<Network> load_torchscript(const std::string& model_pt, const BundleManifest& manifest,
                                          const ModelOptions& options, std::vector<std::string>& capabilities) {
    if (options.dtype != "auto" && options.dtype != "float32")
        throw ModelError("TorchScript bundles run in the dtype they were exported with; --dtype " + options.dtype + " does not apply");
    torch::Device device(torch::kCPU);
    if (options.device != "cpu") {
        try {
            device = torch::Device(options.device);
        } catch (const c10::Error&) {
            throw ModelError("unknown device '" + options.device + "' (cpu, cuda or cuda:N)");
        }
        if (!device.is_cuda()) throw ModelError("unsupported device '" + options.device + "' (cpu, cuda or cuda:N)");
        if (!torch::cuda::is_available())
            throw ModelError("device '" + options.device + "' requested, but this LibTorch has no CUDA support (or no GPU is visible)");
    }
    check_declared_sizes(model_pt);
    torch::jit::Module module;
    try {
        module = torch::jit::load(model_pt, device);
    } catch (const std::exception& e) {  // c10::Error, or the script compiler's ErrorReport
        auto* c10e = dynamic_cast<const c10::Error*>(&e);
        std::string what = c10e ? c10e->what_without_backtrace() : e.what();
        auto op = what.find("Unknown builtin op: ");
        if (op != std::string::npos) {
            auto end = what.find_first_of(".\n", op + 20);
            throw ModelError(model_pt + ": uses operator " + what.substr(op + 20, end - op - 20) +
                             ", which this LibTorch (1.13) lacks; export with torch 1.13 or avoid that operator");
        }
        throw ModelError(model_pt + ": not a loadable TorchScript file: " + what.substr(0, what.find('\n')));
    }
    module.eval();
    check_storages(module, model_pt);
    // Attributions need gradients with respect to inputs only; weight gradients would cost a copy of the model and
    // race between threads.
    for (auto p : module.parameters()) p.set_requires_grad(false);
    if (!module.find_method("forward")) throw ModelError(model_pt + ": the module has no 'forward' method (see docs/model-contract.md)");
    auto net = std::make_unique<TorchScriptNetwork>(std::move(module), manifest);
    capabilities = {"score", "generate"};
    if (net->has_attentions()) capabilities.push_back("attentions");
    if (net->has_hidden_states()) capabilities.push_back("hidden_states");
    if (net->has_step()) capabilities.push_back("kv_cache");
    if (net->has_embeddings()) {
        capabilities.push_back("embeddings");
        capabilities.push_back("embedding_gradients");
    }
    return net;
}

}  // namespace lmwb
