#include "lmwb/control.h"

namespace lmwb {

namespace {
thread_local const CancelToken* g_current = nullptr;
}

CancelScope::CancelScope(const CancelToken& token) : previous_(g_current) { g_current = &token; }
CancelScope::~CancelScope() { g_current = previous_; }
const CancelToken* CancelScope::current() { return g_current; }

}  // namespace lmwb
