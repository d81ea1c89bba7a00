#include "util/memory.h"

#include <malloc.h>

namespace ief {

void TuneAllocator() {
  // glibc would otherwise raise the mmap threshold after the first large free and keep later large blocks in the
  // heap, where a burst of large answers stays resident for good.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // Hundreds of threads (CivetWeb's workers, the poller's) would each get an arena of their own, up to eight per
  // core; two serve this exporter's allocation rate.
  mallopt(M_ARENA_MAX, 2);
}

void ReleaseFreeMemory() { malloc_trim(0); }

}  // namespace ief
