#include "lmwb/control.h"

namespace lmwb {

namespace {
thread_local const CancelToken* g_current = nullptr;
thread_local std::shared_ptr<const LayerObserver> g_observer;
}

CancelScope::CancelScope(const CancelToken& token) : previous_(g_current) { g_current = &token; }
CancelScope::~CancelScope() { g_current = previous_; }
const CancelToken* CancelScope::current() { return g_current; }

LayerScope::LayerScope(LayerObserver observe) : previous_(g_observer) { g_observer = std::make_shared<const LayerObserver>(std::move(observe)); }
LayerScope::~LayerScope() { g_observer = previous_; }
std::shared_ptr<const LayerObserver> LayerScope::current() { return g_observer; }

}  // namespace lmwb
