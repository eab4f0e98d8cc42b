#include "compute_threads.h"

#include <dlfcn.h>

#include <torch/torch.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "lmwb/model.h"

namespace lmwb {

namespace {

using SetThreads = void (*)(int);

SetThreads openblas_setter() {
    static const auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    return f;
}

std::atomic<int> blas_threads{0};  // what this process last set (0: nothing yet)

void set_blas_threads(int n) {
    static std::mutex setting;
    std::lock_guard<std::mutex> lock(setting);
    if (blas_threads.load() == n) return;
    if (auto f = openblas_setter()) f(n);
    else at::set_num_threads(n);  // another BLAS: let LibTorch parallelise instead
    blas_threads.store(n);
}

}  // namespace

int open_compute_threads(int requested) {
    if (requested < 0 || requested > 1024) throw ModelError("threads " + std::to_string(requested) + ": expected 0 (all cores) to 1024");
    const int n = requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    static std::once_flag torch_pool;
    std::call_once(torch_pool, [] {
        if (openblas_setter()) at::set_num_threads(1);
    });
    few_rows::reserve_threads(n);
    if (blas_threads.load() == 0) set_blas_threads(n);
    return n;
}

ModelThreads::ModelThreads(int threads) : few_rows_(threads) {
    if (blas_threads.load(std::memory_order_relaxed) != threads) set_blas_threads(threads);
}

void set_process_threads(int threads) {
    const int n = open_compute_threads(threads);
    few_rows::set_threads(n);
    set_blas_threads(n);
}

ComputeThreads compute_threads_now() { return {blas_threads.load(), few_rows::CallThreads::current()}; }

}  // namespace lmwb
