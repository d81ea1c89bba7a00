// Running work whose recursion depth depends on its input (parsing YAML, compiling a regex) where the stack is
// large. The threads that may start such work do not all have one: CivetWeb's workers run on 100 KiB stacks, and
// yaml-cpp needs about 220 KiB to reach its own nesting limit (2,000 levels), so a 200-level config reloaded by
// POST /-/reload used to overflow the stack and kill the process.
#pragma once

#include <cstddef>
#include <functional>

#include "util/result.h"

namespace ief {

// Twice the main thread's usual 8 MiB: room for yaml-cpp at its nesting limit and a capped regex many times over,
// even in a sanitizer build. Only address space until touched.
constexpr size_t kLargeStackBytes = 16 << 20;

// Runs `work` on a new thread with a stack of `stack_bytes` and waits for it to finish. An exception `work`
// throws is rethrown here. Fails without running `work` when the thread cannot be started.
Status RunWithStack(size_t stack_bytes, const std::function<void()>& work);

}  // namespace ief
