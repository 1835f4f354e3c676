#pragma once
// The device mesh of a layout: world = pp x dp ranks; rank = stage * dp + dpRank. Within a stage,
// expert parallelism splits the dp ranks into groups of ep neighbours (contiguous ranks, so an
// expert-parallel group stays on one node when it can): each group holds every expert once,
// E/ep per rank. No torch here.
#include "config/project.h"

#include <string>
#include <vector>

namespace hy3 {

struct MeshPosition {
    int rank = 0;
    int stage = 0;    // pipeline stage
    int dpRank = 0;   // data-parallel replica within the stage
    int epRank = 0;   // position in the expert-parallel group: holds experts [epRank*E/ep, (epRank+1)*E/ep)
    int edpRank = 0;  // position among the ranks holding the same experts (expert data parallel)
};

class Mesh {
public:
    // Throws hy3::Error naming the field when the layout breaks a rule (config/layout_rules.h) for
    // this world size and model.
    Mesh(const Layout& layout, int worldSize, int numExperts, int numLayers);

    const Layout& layout() const { return layout_; }
    int worldSize() const { return static_cast<int>(layout_.pp * layout_.dp); }
    MeshPosition position(int rank) const;

    // The global ranks of each group `rank` belongs to, in group order.
    std::vector<int> dataParallelGroup(int rank) const;    // same stage: every replica
    std::vector<int> expertParallelGroup(int rank) const;  // same stage: ep neighbours holding all experts between them
    std::vector<int> expertDataGroup(int rank) const;      // same stage, same experts
    // Pipeline neighbours (-1 at the ends).
    int previousStageRank(int rank) const;
    int nextStageRank(int rank) const;

    // The expert range [first, last) that `rank` holds.
    std::pair<int64_t, int64_t> expertRange(int rank) const;

private:
    Layout layout_;
    int numExperts_ = 0;
};

}  // namespace hy3
