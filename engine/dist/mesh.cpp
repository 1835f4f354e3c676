#include "dist/mesh.h"

#include "config/layout_rules.h"
#include "util/error.h"

namespace hy3 {

Mesh::Mesh(const Layout& layout, int worldSize, int numExperts, int numLayers) : layout_(layout), numExperts_(numExperts) {
    const auto problems = layoutProblems(layout, {worldSize, numExperts, numLayers, 0, 0});
    if (!problems.empty()) fail(problems.front().field, problems.front().reason);
}

MeshPosition Mesh::position(int rank) const {
    const int dp = static_cast<int>(layout_.dp), ep = static_cast<int>(layout_.ep);
    MeshPosition p;
    p.rank = rank;
    p.stage = rank / dp;
    p.dpRank = rank % dp;
    p.epRank = p.dpRank % ep;
    p.edpRank = p.dpRank / ep;
    return p;
}

std::vector<int> Mesh::dataParallelGroup(int rank) const {
    const int dp = static_cast<int>(layout_.dp), base = position(rank).stage * dp;
    std::vector<int> out;
    for (int i = 0; i < dp; ++i) out.push_back(base + i);
    return out;
}

std::vector<int> Mesh::expertParallelGroup(int rank) const {
    const int ep = static_cast<int>(layout_.ep), dp = static_cast<int>(layout_.dp);
    const MeshPosition p = position(rank);
    const int base = p.stage * dp + p.edpRank * ep;
    std::vector<int> out;
    for (int i = 0; i < ep; ++i) out.push_back(base + i);
    return out;
}

std::vector<int> Mesh::expertDataGroup(int rank) const {
    const int ep = static_cast<int>(layout_.ep), dp = static_cast<int>(layout_.dp);
    const MeshPosition p = position(rank);
    std::vector<int> out;
    for (int k = 0; k < dp / ep; ++k) out.push_back(p.stage * dp + k * ep + p.epRank);
    return out;
}

int Mesh::previousStageRank(int rank) const { return position(rank).stage == 0 ? -1 : rank - static_cast<int>(layout_.dp); }

int Mesh::nextStageRank(int rank) const {
    return position(rank).stage + 1 >= layout_.pp ? -1 : rank + static_cast<int>(layout_.dp);
}

std::pair<int64_t, int64_t> Mesh::expertRange(int rank) const {
    const int64_t per = numExperts_ / layout_.ep, first = position(rank).epRank * per;
    return {first, first + per};
}

}  // namespace hy3
