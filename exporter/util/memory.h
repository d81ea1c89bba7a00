// The allocator, tuned for a long-running exporter whose memory comes and goes in bursts (large answers, rounds of
// rendering on many threads): what is freed goes back to the system, so resident memory tracks what is in use.
#pragma once

namespace ief {

// Call once at start, before threads exist: allocations of 1 MiB and more get mappings of their own (given back
// as soon as they are freed), and a few malloc arenas serve all threads, so freed memory is not spread over one
// arena per thread where it stays resident.
void TuneAllocator();

// Gives the free memory at the ends and in the middle of the heaps back to the system (malloc_trim). Costs well
// under a millisecond for the exporter's heaps: the poller calls it after each round.
void ReleaseFreeMemory();

}  // namespace ief
