#include "data/project_data.h"

#include "config/resources.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace hy3 {
namespace fs = std::filesystem;

fs::path tokenizerDirFor(const Project& p) {
    std::error_code ec;
    if (!p.model.tokenizer.empty()) return p.model.tokenizer;
    if (!p.model.directory.empty()) {
        if (!fs::exists(p.model.directory / "tokenizer.json", ec))
            fail("model.path", "no tokenizer.json in " + p.model.directory.string() + " (set model.tokenizer to a tokenizer folder)");
        return p.model.directory;
    }
    const auto preset = nlohmann::json::parse(readTextFile(presetConfigPath(p.model.preset)));
    const std::string name = preset.value("hy3_tokenizer", std::string());
    if (name.empty()) fail("model.preset", "preset " + p.model.preset + " has no bundled tokenizer (set model.tokenizer)");
    const fs::path dir = resourcesDir() / "tokenizers" / name;
    if (!fs::exists(dir / "tokenizer.json", ec)) fail("model.preset", "bundled tokenizer " + dir.string() + " is missing");
    return dir;
}

DataConfig dataConfigFor(const Project& p) {
    DataConfig c;
    for (const DatasetSpec& d : p.datasets) c.inputs.push_back({d.path, d.format, d.split});
    c.tokenizerDir = tokenizerDirFor(p);
    c.chatTemplate = p.data.chat_template;
    c.reasoningEffort = p.data.reasoning_effort;
    c.lossMask = p.data.loss_mask;
    c.truncation = p.data.truncation;
    c.seqLen = p.training.seq_len;
    c.validationFraction = p.data.validation_fraction;
    c.seed = static_cast<uint64_t>(p.training.seed);
    c.packing = p.training.packing;
    return c;
}

fs::path dataCacheRoot(const Project& p) { return p.output_dir / ".cache" / "data"; }

}  // namespace hy3
