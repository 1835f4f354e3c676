#include "checkpoint/model_loader.h"

#include "checkpoint/key_match.h"
#include "checkpoint/tensor_io.h"
#include "util/error.h"

#include <algorithm>
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
    // In the order the bytes lie on disk: a cold read then streams like cat instead of seeking.
    struct Located {
        const KeyMatch* match;
        std::shared_ptr<SafetensorsFile> file;
        const TensorInfo* info;
    };
    std::vector<Located> order;
    for (const KeyMatch& m : match.tensors) {
        auto [file, info] = dir.locate(m.key);
        order.push_back({&m, std::move(file), info});
    }
    std::sort(order.begin(), order.end(), [](const Located& a, const Located& b) {
        return a.file->path() != b.file->path() ? a.file->path() < b.file->path() : a.info->begin < b.info->begin;
    });
    for (const Located& located : order) {
        const KeyMatch& m = *located.match;
        const std::shared_ptr<SafetensorsFile>& file = located.file;
        const TensorInfo* info = located.info;
        const KeyBinding& b = m.binding;
        torch::Tensor target = model.tensor(b.param);
        if (b.expert >= 0) target = target.select(0, b.expert - first);
        if (b.rowCount >= 0) target = target.narrow(0, b.rowStart, b.rowCount);
        // A grouped tensor's expert range is one contiguous byte range of the file.
        const uint64_t perRow = info->shape.empty() || info->shape[0] == 0 ? info->bytes() : info->bytes() / static_cast<uint64_t>(info->shape[0]);
        const uint64_t offset = m.groupedExperts ? static_cast<uint64_t>(first) * perRow : 0;
        const uint64_t bytes = m.groupedExperts ? static_cast<uint64_t>(last - first) * perRow : info->bytes();
        if (target.device().is_cpu() && target.is_contiguous() && target.scalar_type() == torchDtype(info->dtype) &&
            static_cast<uint64_t>(target.nbytes()) == bytes) {
            file->readBytes(*info, offset, bytes, target.data_ptr());  // straight from the file, like cat
        } else {  // another dtype or device: through a view of the mapping
            torch::Tensor source = viewTensor(*file, *info);
            if (m.groupedExperts) source = source.narrow(0, first, last - first);
            target.copy_(source);
            file->release(*info);
        }
        report.bytesRead += bytes;
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
