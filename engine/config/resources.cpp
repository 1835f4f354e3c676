#include "config/resources.h"

#include "build_config.h"
#include "util/error.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace hy3 {
namespace fs = std::filesystem;

namespace {

fs::path executableDir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

}  // namespace

fs::path resourcesDir() {
    if (const char* env = std::getenv("HY3_RESOURCES"); env && *env) return fs::path(env);
    std::error_code ec;
    const fs::path installed = executableDir() / ".." / "share" / "hy3" / "resources";
    if (fs::is_directory(installed / "presets", ec)) return fs::weakly_canonical(installed, ec);
    return fs::path(HY3_SOURCE_RESOURCES);
}

std::vector<std::string> listPresets() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(resourcesDir() / "presets", ec))
        if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

bool presetExists(const std::string& name) {
    const auto names = listPresets();
    return std::find(names.begin(), names.end(), name) != names.end();
}

fs::path presetConfigPath(const std::string& name) {
    if (!presetExists(name)) {
        std::string known;
        for (const auto& n : listPresets()) known += (known.empty() ? "" : ", ") + n;
        fail("preset \"" + name + "\"", "unknown preset (known: " + (known.empty() ? "none found in " + resourcesDir().string() : known) + ")");
    }
    return resourcesDir() / "presets" / (name + ".json");
}

fs::path defaultProjectPath() { return resourcesDir() / "projects" / "default" / "default.hy3proj"; }

}  // namespace hy3
