#include "config/model_source.h"

#include "config/resources.h"
#include "util/error.h"
#include "util/sha256.h"

#include <algorithm>

namespace hy3 {
namespace fs = std::filesystem;

fs::path ModelSource::bundledTokenizer() const {
    if (!isPreset() || config.hy3_tokenizer.empty()) return {};
    return resourcesDir() / "tokenizers" / config.hy3_tokenizer;
}

ModelSource resolveModelSource(const std::string& spec) {
    ModelSource source;
    source.name = spec;
    std::error_code ec;
    const fs::path path(spec);
    if (fs::is_directory(path, ec)) {
        source.directory = path;
        source.configFile = path / "config.json";
    } else if (fs::exists(path, ec)) {
        source.configFile = path;
    } else if (presetExists(spec)) {
        source.preset = spec;
        source.configFile = presetConfigPath(spec);
    } else {
        std::string known;
        for (const auto& name : listPresets()) known += (known.empty() ? "" : ", ") + name;
        fail(spec, "no such file or directory, and not a preset (presets: " + known + ")");
    }
    source.config = loadModelConfig(source.directory.empty() ? source.configFile : source.directory);
    return source;
}

std::string ModelSource::identity() const {
    if (isPreset()) return "preset:" + preset;
    Sha256 hash;
    const std::string config = sha256OfFile(configFile);
    hash.update(config.data(), config.size());
    std::vector<std::pair<std::string, uintmax_t>> shards;
    std::error_code ec;
    if (!directory.empty())
        for (const auto& entry : fs::directory_iterator(directory, ec))
            if (entry.path().extension() == ".safetensors") shards.emplace_back(entry.path().filename().string(), entry.file_size(ec));
    std::sort(shards.begin(), shards.end());
    for (const auto& [name, size] : shards) {
        const std::string line = "\n" + name + " " + std::to_string(size);
        hash.update(line.data(), line.size());
    }
    return "sha256:" + hash.hex().substr(0, 16);
}

ModelSource resolveModelSource(const ModelSpec& model) {
    if (model.isPreset()) {
        ModelSource source;
        source.name = source.preset = model.preset;
        source.configFile = presetConfigPath(model.preset);  // names the known presets when unknown
        source.config = loadModelConfig(source.configFile);
        return source;
    }
    ModelSource source;
    source.name = model.directory.string();
    source.directory = model.directory;
    source.configFile = model.directory / "config.json";
    source.config = loadModelConfig(model.directory);
    return source;
}

fs::path tokenizerDirOf(const ModelSpec& model) {
    std::error_code ec;
    if (!model.tokenizer.empty()) return model.tokenizer;
    if (!model.isPreset()) {
        if (!fs::exists(model.directory / "tokenizer.json", ec))
            fail("model.path", "no tokenizer.json in " + model.directory.string() + " (set model.tokenizer to a tokenizer folder)");
        return model.directory;
    }
    const fs::path dir = resolveModelSource(model).bundledTokenizer();
    if (dir.empty()) fail("model.preset", "preset " + model.preset + " has no bundled tokenizer (set model.tokenizer)");
    if (!fs::exists(dir / "tokenizer.json", ec)) fail("model.preset", "bundled tokenizer " + dir.string() + " is missing");
    return dir;
}

}  // namespace hy3
