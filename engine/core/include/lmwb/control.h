// What a long computation receives from whoever started it: a cancellation token to honour and a sink for progress.
// One core type for every library (engine, attribution, evaluation) and every front-end (CLI, GUI).
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>

namespace lmwb {

// Thrown by work that saw its token cancelled. Not an error: callers report "cancelled", not a failure.
class Cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "cancelled"; }
};

// A shared flag: copies of a token see the same state. request() is async-signal-safe (a lock-free atomic store),
// so a SIGINT handler may call it on a token made before the handler was installed.
class CancelToken {
public:
    CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
    void request() const noexcept { flag_->store(true, std::memory_order_relaxed); }
    bool requested() const noexcept { return flag_->load(std::memory_order_relaxed); }
    void check() const {
        if (requested()) throw Cancelled();
    }

private:
    std::shared_ptr<std::atomic<bool>> flag_;
};

struct Progress {
    std::size_t done = 0, total = 0;  // total 0: not known
    std::string unit;                 // what is counted: "points", "coalitions", "samples", "items", "layers", "tensors"
    std::string stage;                // what the count belongs to, e.g. a suite's name or "weights"
};

struct Control {
    CancelToken cancel;
    std::function<void(const Progress&)> progress;  // called on the working thread

    void check() const { cancel.check(); }
    void report(std::size_t done, std::size_t total, const std::string& unit, const std::string& stage = {}) const {
        if (progress) progress(Progress{done, total, unit, stage});
    }
};

// While a scope is alive on a thread, the engine's passes on that thread check its token between layers, forward and
// backward, and throw Cancelled: a cancel takes effect within one layer of one batch, not after a whole pass.
// Scopes nest; the innermost holds.
class CancelScope {
public:
    explicit CancelScope(const CancelToken& token);
    ~CancelScope();
    CancelScope(const CancelScope&) = delete;
    CancelScope& operator=(const CancelScope&) = delete;
    static const CancelToken* current();  // nullptr outside any scope

private:
    const CancelToken* previous_;
};

// One layer of a pass: the forward starting it, or the gradient leaving it (backward runs layers - 1 down to 0).
struct LayerStep {
    int layer = 0, layers = 0;
    bool backward = false;
};
using LayerObserver = std::function<void(const LayerStep&)>;

// While a scope is alive on a thread, the engine's passes on that thread report each layer they start and each layer
// the gradient leaves: work whose unit of progress is a whole pass (a batch of IG points) can show where in the pass
// it is. Scopes nest; the innermost holds.
class LayerScope {
public:
    explicit LayerScope(LayerObserver observe);
    ~LayerScope();
    LayerScope(const LayerScope&) = delete;
    LayerScope& operator=(const LayerScope&) = delete;
    static std::shared_ptr<const LayerObserver> current();  // null outside any scope

private:
    std::shared_ptr<const LayerObserver> previous_;
};

}  // namespace lmwb
