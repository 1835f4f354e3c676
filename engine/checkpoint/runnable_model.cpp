#include "checkpoint/runnable_model.h"

#include "checkpoint/adapter_files.h"
#include "checkpoint/model_loader.h"
#include "checkpoint/verify.h"

namespace hy3 {
namespace fs = std::filesystem;

RunnableSpec resolveRunnable(const std::string& model, const std::string& adapterDir) {
    std::error_code ec;
    const bool isPath = fs::exists(model, ec);
    const std::optional<fs::path> own = adapterDir.empty() && isPath ? loraCheckpointAdapter(fs::absolute(model)) : std::nullopt;
    RunnableSpec spec;
    if (adapterDir.empty() && !own) {
        const fs::path dir = isPath ? locateCheckpoint(fs::absolute(model)).modelDir : fs::path();
        spec.base = resolveModelSource(isPath ? dir.string() : model);
        spec.tokenizerDir = isPath ? dir : spec.base.bundledTokenizer();
        spec.description = isPath ? fs::absolute(dir).lexically_normal().string() : model;
        return spec;
    }
    spec.adapter = own ? *own : fs::path(adapterDir);
    const std::optional<AdapterOrigin> origin = adapterOrigin(spec.adapter);
    std::string base = model;
    if (own) base = origin->source;
    else if (isPath) base = locateCheckpoint(fs::absolute(model)).modelDir.string();
    spec.base = resolveModelSource(base);
    if (origin) spec.seed = origin->seed;
    // A LoRA checkpoint's adapter carries the tokenizer it was trained with.
    spec.tokenizerDir = fs::exists(spec.adapter / "tokenizer.json", ec) ? spec.adapter
                        : spec.base.isPreset()                          ? spec.base.bundledTokenizer()
                                                                        : spec.base.directory;
    spec.description = spec.base.name + " + adapter " + fs::absolute(spec.adapter).lexically_normal().string();
    return spec;
}

Hy3Model openRunnable(const RunnableSpec& spec, const ModelOptions& options) {
    const LoraAdapters adapters = spec.adapter.empty() ? LoraAdapters{nullptr} : loadAdapter(spec.adapter, spec.base, options.device);
    Hy3Model model = openModel(spec.base, options, spec.seed);
    if (adapters) model->attachAdapters(adapters);
    return model;
}

}  // namespace hy3
