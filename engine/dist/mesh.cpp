#include "dist/mesh.h"

#include "util/error.h"

namespace hy3 {

std::string layoutProblem(const Layout& l, int worldSize, int numExperts, int numLayers) {
    if (l.pp < 1 || l.dp < 1 || l.ep < 1) return "layout: pp, dp and ep must be at least 1";
    if (l.pp * l.dp != worldSize) {
        const std::string ranks = std::to_string(l.pp * l.dp);
        std::string problem = "layout: pp x dp is " + ranks + " but " + std::to_string(worldSize) + " processes run";
        if (worldSize == 1) problem += " (start " + ranks + " ranks with: hy3 launch --nproc-per-node " + ranks + " -- COMMAND)";
        return problem;
    }
    if (l.dp % l.ep != 0) return "layout.ep: " + std::to_string(l.ep) + " does not divide dp (" + std::to_string(l.dp) + ")";
    if (numExperts > 0 && numExperts % l.ep != 0)
        return "layout.ep: " + std::to_string(l.ep) + " does not divide the model's " + std::to_string(numExperts) + " experts";
    if (l.pp > numLayers) return "layout.pp: " + std::to_string(l.pp) + " stages for " + std::to_string(numLayers) + " layers";
    return "";
}

Mesh::Mesh(const Layout& layout, int worldSize, int numExperts, int numLayers) : layout_(layout), numExperts_(numExperts) {
    const std::string problem = layoutProblem(layout, worldSize, numExperts, numLayers);
    if (!problem.empty()) {
        const size_t colon = problem.find(": ");
        fail(problem.substr(0, colon), problem.substr(colon + 2));
    }
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
