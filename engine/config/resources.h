#pragma once
// Where the bundled resources (model presets, the default project, the sample tokenizer) live:
// $HY3_RESOURCES if set, else the installed share folder next to the executable, else the source
// tree the build came from.
#include <filesystem>
#include <string>
#include <vector>

namespace hy3 {

std::filesystem::path resourcesDir();

// Names of the model presets (resources/presets/<name>.json), sorted.
std::vector<std::string> listPresets();
bool presetExists(const std::string& name);
// The config.json of a preset. Throws hy3::Error naming the preset and the known ones.
std::filesystem::path presetConfigPath(const std::string& name);

// The bundled default project file.
std::filesystem::path defaultProjectPath();

}  // namespace hy3
