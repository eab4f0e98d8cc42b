#include "safetensors.h"

#include "lmwb/json_file.h"
#include "lmwb/text.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "lmwb/model_error.h"

namespace lmwb {

namespace {

struct DTypeInfo {
    const char* name;
    DType dtype;
    std::size_t size;
};
constexpr DTypeInfo kDTypes[] = {{"F32", DType::F32, 4}, {"F16", DType::F16, 2}, {"BF16", DType::BF16, 2},
                                 {"F64", DType::F64, 8}, {"I64", DType::I64, 8}, {"I32", DType::I32, 4},
                                 {"I16", DType::I16, 2}, {"I8", DType::I8, 1},   {"U8", DType::U8, 1},
                                 {"BOOL", DType::Bool, 1}};

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw ModelError(path + ": " + what); }
[[noreturn]] void model_error(const std::string& message) { throw ModelError(message); }

}  // namespace

std::int64_t TensorView::numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

void SafetensorsFile::Unmap::operator()(void* p) const {
    if (p) ::munmap(p, size);
}

SafetensorsFile::SafetensorsFile(const std::string& path) {
    // A FIFO or a device would block or never end: only regular files are read.
    struct stat pre {};
    if (::stat(path.c_str(), &pre) == 0 && !S_ISREG(pre.st_mode)) fail(path, "not a regular file");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        fail(path, "cannot stat");
    }
    const auto size_ = static_cast<std::size_t>(st.st_size);
    if (size_ < 8) {
        ::close(fd);
        fail(path, "truncated safetensors file: " + std::to_string(size_) + " bytes, fewer than the 8-byte header length");
    }
    void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (mapped == MAP_FAILED) fail(path, "cannot memory-map the file");
    map_ = std::unique_ptr<void, Unmap>(mapped, Unmap{size_});  // unmapped on every error below too
    auto* bytes = static_cast<const unsigned char*>(mapped);
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
    // Messages say where a file fails, never what its bytes are: a file that is not what it claims may be anything.
    if (header_len > size_ - 8)
        fail(path, "not a safetensors file (or a truncated one): its first 8 bytes do not give a header length within its " +
                       std::to_string(size_) + " bytes");
    nlohmann::json header;
    try {
        header = json_file::parse_strict(std::string_view(reinterpret_cast<const char*>(bytes) + 8, header_len));
    } catch (const json_file::DuplicateKey& e) {
        fail(path, "corrupt safetensors header: tensor or key '" + e.key + "' appears twice");
    } catch (const json_file::TooDeep& e) {
        fail(path, std::string("corrupt safetensors header: ") + e.what());
    } catch (const nlohmann::json::parse_error& e) {
        fail(path, "corrupt safetensors header: not valid JSON at byte " + std::to_string(8 + (e.byte > 0 ? e.byte - 1 : 0)));
    } catch (const nlohmann::json::exception&) {  // a number beyond double's range ("1e400")
        fail(path, "corrupt safetensors header: a number out of range");
    }
    if (!header.is_object()) fail(path, "corrupt safetensors header: not a JSON object");
    const unsigned char* data = bytes + 8 + header_len;
    std::size_t data_size = size_ - 8 - header_len;
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    for (auto& [name, entry] : header.items()) {
        if (name == "__metadata__") continue;
        auto where = "tensor '" + name + "': ";
        if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
            fail(path, where + "needs dtype, shape and data_offsets");
        TensorView t;
        t.name = name;
        t.file = path;
        t.dtype_name = entry["dtype"].is_string() ? entry["dtype"].get<std::string>() : "?";
        std::size_t elem = 0;
        for (auto& d : kDTypes)
            if (t.dtype_name == d.name) { t.dtype = d.dtype; elem = d.size; }
        if (elem == 0) fail(path, where + "unsupported dtype '" + t.dtype_name + "'");
        if (!entry["shape"].is_array()) fail(path, where + "shape must be an array");
        std::uint64_t count = 1;
        for (auto& d : entry["shape"]) {
            if (!d.is_number_integer() || d.get<long long>() < 0) fail(path, where + "shape entries must be non-negative integers");
            t.shape.push_back(d.get<std::int64_t>());
            if (__builtin_mul_overflow(count, d.get<std::uint64_t>(), &count) || count > (std::uint64_t{1} << 48))
                fail(path, where + "shape is too large");
        }
        auto& off = entry["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            fail(path, where + "data_offsets must be [begin, end]");
        auto b = off[0].get<std::uint64_t>(), e = off[1].get<std::uint64_t>();
        if (b > e || e > data_size)
            fail(path, where + "data offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                           ") lie outside the data section of " + std::to_string(data_size) + " bytes");
        if ((e - b) != static_cast<std::uint64_t>(t.numel()) * elem)
            fail(path, where + "data size " + std::to_string(e - b) + " bytes does not match shape and dtype (" +
                           std::to_string(t.numel() * static_cast<std::int64_t>(elem)) + " bytes)");
        t.data = data + b;
        t.nbytes = e - b;
        spans.emplace_back(b, e);
        tensors_.emplace(name, std::move(t));
    }
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i)
        if (spans[i].first < spans[i - 1].second) fail(path, "corrupt safetensors file: tensor data regions overlap");
}

SafetensorsFile::~SafetensorsFile() = default;

WeightStore::WeightStore(const std::string& folder) : folder_(folder) {
    namespace fs = std::filesystem;
    fs::path dir(folder);
    fs::path single = dir / "model.safetensors", index = dir / "model.safetensors.index.json";
    std::vector<std::string> shard_names;
    if (fs::exists(single)) {
        shard_names.push_back("model.safetensors");
    } else if (fs::exists(index)) {
        const nlohmann::json j = json_file::read_object(index.string(), "the index of a sharded checkpoint", model_error, {std::size_t{64} << 20, 64});
        if (!j.contains("weight_map") || !j["weight_map"].is_object()) fail(index.string(), "/weight_map: missing or not an object");
        std::error_code ec;
        const fs::path root = fs::weakly_canonical(dir, ec);
        auto inside = [](const fs::path& p, const fs::path& base) {
            const auto rel = p.lexically_relative(base);
            return !rel.empty() && *rel.begin() != ".." && rel.native().rfind("..", 0) != 0;
        };
        // A Hugging Face cache snapshot (models--org--name/snapshots/<commit>/) holds links into its repository's
        // blobs/: the one place a shard may lead out of its folder.
        const bool snapshot = root.parent_path().filename() == "snapshots" && root.parent_path().parent_path().filename().string().rfind("models--", 0) == 0;
        const fs::path blobs = root.parent_path().parent_path() / "blobs";
        for (auto& [name, file] : j["weight_map"].items()) {
            if (!file.is_string()) fail(index.string(), "/weight_map/" + name + ": expected a file name");
            // Shards are files of this folder: no absolute path, no way out through .. or a link (but the cache's).
            const fs::path shard(file.get<std::string>());
            const fs::path resolved = fs::weakly_canonical(dir / shard, ec);
            const bool cache_link = snapshot && !shard.is_absolute() && shard.has_filename() && shard == shard.filename() &&
                                    fs::is_symlink(dir / shard, ec) && inside(resolved, fs::weakly_canonical(blobs, ec));
            if (shard.is_absolute() || (!inside(resolved, root) && !cache_link))
                fail(index.string(), "/weight_map/" + name + ": shard '" + file.get<std::string>() + "' is outside the model folder" +
                                         (snapshot ? " and its repository's blobs/" : ""));
            if (std::find(shard_names.begin(), shard_names.end(), file.get<std::string>()) == shard_names.end())
                shard_names.push_back(file.get<std::string>());
        }
    } else if (fs::exists(dir / "pytorch_model.bin")) {
        fail(folder, "only pytorch_model.bin found: pickled PyTorch weights are not read (unsafe to load); convert "
                     "them to model.safetensors");
    } else {
        std::error_code ec;
        for (const fs::path& p : {single, index})
            if (fs::is_symlink(p, ec))  // a cache entry whose blob is gone: an interrupted or pruned download
                fail(p.string(), "links to " + fs::read_symlink(p, ec).string() + ", which does not exist (an incomplete download?)");
        fail(folder, "no model.safetensors or model.safetensors.index.json in this folder");
    }
    for (auto& name : shard_names) {
        paths_.push_back((dir / name).string());
        files_.push_back(std::make_unique<SafetensorsFile>(paths_.back()));
        for (auto& [tname, view] : files_.back()->tensors()) {
            auto [it, fresh] = index_.emplace(tname, &view);
            if (!fresh) fail(paths_.back(), "tensor '" + tname + "' is also in " + it->second->file + "; each tensor must be in one shard");
        }
    }
}

const TensorView* WeightStore::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : it->second;
}

std::vector<std::string> WeightStore::names() const {
    std::vector<std::string> out;
    for (auto& [n, v] : index_) out.push_back(n);
    return out;
}

std::size_t WeightStore::total_bytes() const {
    std::size_t n = 0;
    for (auto& [name, v] : index_) n += v->nbytes;
    return n;
}

}  // namespace lmwb
