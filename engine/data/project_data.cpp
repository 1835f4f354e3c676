#include "data/project_data.h"

#include "config/model_source.h"

namespace hy3 {
namespace fs = std::filesystem;

fs::path tokenizerDirFor(const Project& p) { return tokenizerDirOf(p.model); }

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
