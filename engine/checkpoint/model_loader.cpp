#include "checkpoint/model_loader.h"

#include "checkpoint/key_match.h"
#include "checkpoint/tensor_io.h"
#include "util/error.h"

#include <set>

namespace hy3 {

LoadReport loadModelWeights(Hy3ModelImpl& model, ModelDirectory& dir) {
    const int64_t first = model.expertFirst(), last = first + model.localExperts();
    const auto names = model.named_parameters(true).keys(), buffers = model.named_buffers(true).keys();
    std::set<std::string> held(names.begin(), names.end());
    held.insert(buffers.begin(), buffers.end());
    const KeyMatchResult match = matchKeys(dir, first, last, [&](const std::string& param) { return held.count(param) > 0; });
    if (!match.problems.empty()) {
        const std::string& p = match.problems.front();
        throw Error(match.problems.size() > 1 ? p + " (and " + std::to_string(match.problems.size() - 1) + " more problems)" : p);
    }
    LoadReport report;
    report.tensorsSkipped = match.skipped;
    torch::NoGradGuard noGrad;
    for (const KeyMatch& m : match.tensors) {
        auto [file, info] = dir.locate(m.key);
        const KeyBinding& b = m.binding;
        torch::Tensor target = model.tensor(b.param);
        torch::Tensor source = viewTensor(*file, *info);
        if (m.groupedExperts) source = source.narrow(0, first, last - first);
        if (b.expert >= 0) target = target.select(0, b.expert - first);
        if (b.rowCount >= 0) target = target.narrow(0, b.rowStart, b.rowCount);
        target.copy_(source);
        file->release(*info);
        report.bytesRead += static_cast<uint64_t>(source.numel()) * dtypeSize(info->dtype);
        ++report.tensorsLoaded;
    }
    return report;
}

Hy3Model openModel(const ModelSource& source, const ModelOptions& options, uint64_t seed) {
    if (ModelDirectory::hasWeights(source.directory)) {
        ModelDirectory dir = ModelDirectory::open(source.directory, source.config);
        Hy3Model model(dir.config(), options);
        loadModelWeights(*model, dir);
        return model;
    }
    Hy3Model model(source.config, options);
    model->initializeWeights(seed);
    return model;
}

Hy3Model openModel(const std::string& source, const ModelOptions& options, uint64_t seed) {
    return openModel(resolveModelSource(source), options, seed);
}

}  // namespace hy3
