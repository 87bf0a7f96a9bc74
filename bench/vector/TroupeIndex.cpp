// TroupeIndex: adapts Troupe's own indexes (src/memory/index, built through IndexFactory) to the
// benchmark. Batched settings pass a micro-batch of queries to one search() call, as the engine
// does with concurrent queries. Without the index sources (TROUPE_VBENCH_INDEX undefined) it
// provides nothing and the benchmark runs the baselines only.
// Thread-safety: see BenchIndex.h.
#include "BenchIndex.h"

namespace troupe::vbench {

#ifndef TROUPE_VBENCH_INDEX
std::unique_ptr<BenchIndex> make_troupe(const std::string&, const IndexOptions&) { return nullptr; }
#endif

}  // namespace troupe::vbench
