// Memory-mapped safetensors files (single or sharded through model.safetensors.index.json). Plain views of the
// raw bytes; conversion to tensors happens in the model code.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lmwb {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool, Other };

struct TensorView {
    std::string name;
    std::string dtype_name;  // as written in the file, e.g. "BF16"
    DType dtype = DType::Other;
    std::vector<std::int64_t> shape;
    const void* data = nullptr;
    std::size_t nbytes = 0;
    std::string file;
    std::int64_t numel() const;  // the shape is checked against overflow when the file is read
};

class SafetensorsFile {
public:
    // Throws ModelError naming the file and what is wrong (truncated header, overlapping offsets, ...).
    explicit SafetensorsFile(const std::string& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::map<std::string, TensorView>& tensors() const { return tensors_; }

private:
    struct Unmap {
        std::size_t size;
        void operator()(void* p) const;
    };
    std::unique_ptr<void, Unmap> map_{nullptr, Unmap{0}};
    std::map<std::string, TensorView> tensors_;
};

// All weights of a checkpoint folder: model.safetensors, or the shards its index names.
class WeightStore {
public:
    explicit WeightStore(const std::string& folder);
    const TensorView* find(const std::string& name) const;
    std::vector<std::string> names() const;
    std::size_t total_bytes() const;
    const std::string& folder() const { return folder_; }
    const std::vector<std::string>& files() const { return paths_; }  // the safetensors files, in index order

private:
    std::string folder_;
    std::vector<std::string> paths_;
    std::vector<std::unique_ptr<SafetensorsFile>> files_;
    std::map<std::string, const TensorView*> index_;
};

}  // namespace lmwb
