#include "store/run_layout.h"

#include <cstdio>

namespace hy3 {
namespace fs = std::filesystem;

fs::path RunLayout::rankLog(int rank) const {
    char name[32];
    std::snprintf(name, sizeof name, "rank%05d.log", rank);
    return logs() / name;
}

bool RunLayout::isRun(const fs::path& dir) {
    std::error_code ec;
    return fs::is_directory(dir, ec) && fs::exists(RunLayout{dir}.store(), ec);
}

std::optional<RunLayout> RunLayout::ofCheckpoint(const fs::path& checkpoint) {
    fs::path folder = checkpoint.lexically_normal();
    if (folder.filename().empty()) folder = folder.parent_path();  // a trailing slash
    const fs::path parent = folder.parent_path();
    if (parent.filename() != kCheckpoints) return std::nullopt;
    return RunLayout{parent.parent_path()};
}

fs::path RunLayout::resolve(const fs::path& recorded) const {
    const fs::path here = fs::absolute(root).lexically_normal();
    if (recorded.is_relative()) return (here / recorded).lexically_normal();
    if (contains(recorded)) return recorded.lexically_normal();
    if (ofCheckpoint(recorded)) return RunLayout{here}.checkpoints() / recorded.lexically_normal().filename();
    return recorded;
}

fs::path RunLayout::relativeInside(const fs::path& path) const {
    fs::path relative = fs::absolute(path).lexically_normal().lexically_relative(fs::absolute(root).lexically_normal());
    return !relative.empty() && *relative.begin() != ".." ? relative : fs::path();
}

}  // namespace hy3
