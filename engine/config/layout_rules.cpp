#include "config/layout_rules.h"

namespace hy3 {

std::vector<LayoutProblem> layoutProblems(const Layout& l, const LayoutFacts& f) {
    std::vector<LayoutProblem> out;
    auto n = [](int64_t v) { return std::to_string(v); };
    if (l.pp < 1 || l.dp < 1 || l.ep < 1) {
        out.push_back({"layout", "pp, dp and ep must be at least 1"});
        return out;  // nothing else can be judged
    }
    // One rank per device: world = pp x dp.
    if (f.ranks > 0 && l.pp * l.dp != f.ranks)
        out.push_back({"layout", "pp x dp = " + n(l.pp * l.dp) + " ranks, but " + n(f.ranks) + (f.ranks == 1 ? " device runs" : " devices run") +
                                     " one rank each"});
    // An expert-parallel group is ep neighbours among a stage's dp replicas; together they hold
    // every expert once.
    if (l.dp % l.ep != 0) out.push_back({"layout.ep", n(l.ep) + " does not divide dp (" + n(l.dp) + ")"});
    if (f.experts > 0 && f.experts % l.ep != 0) out.push_back({"layout.ep", n(l.ep) + " does not divide the " + n(f.experts) + " experts"});
    if (f.layers > 0 && l.pp > f.layers) out.push_back({"layout.pp", n(l.pp) + " stages for " + n(f.layers) + " layers"});
    // Every replica takes whole micro-batches of the global batch.
    if (f.globalBatch > 0 && f.microBatch > 0 && f.globalBatch % (f.microBatch * l.dp) != 0)
        out.push_back({"training.global_batch", n(f.globalBatch) + " is not a multiple of micro_batch x dp (" + n(f.microBatch) + " x " +
                                                    n(l.dp) + ")"});
    return out;
}

std::string firstLayoutProblem(const Layout& layout, const LayoutFacts& facts) {
    const auto problems = layoutProblems(layout, facts);
    return problems.empty() ? std::string() : problems.front().text();
}

}  // namespace hy3
