#include "checkpoint/model_loader.h"

#include "checkpoint/tensor_io.h"
#include "config/resources.h"
#include "util/error.h"

#include <map>
#include <set>
#include <tuple>

namespace hy3 {
namespace {

// One region of the model that some checkpoint tensor must fill: (parameter, expert, first row).
using Unit = std::tuple<std::string, int64_t, int64_t>;

std::string shapeText(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

bool isFloatingPoint(DType d) { return d == DType::F32 || d == DType::BF16 || d == DType::F16 || d == DType::F64; }

}  // namespace

LoadReport loadModelWeights(Hy3ModelImpl& model, ModelDirectory& dir) {
    const ModelConfig& c = model.config();
    const int64_t first = model.expertFirst(), last = first + model.localExperts();
    // Every key either layout may use (all experts, to recognise those outside our range).
    std::map<std::string, KeyBinding> known;
    for (KeyLayout layout : {KeyLayout::Released, KeyLayout::Transformers})
        for (KeyBinding& b : keyBindings(c, layout, 0, c.num_experts)) known.emplace(b.key, std::move(b));
    // What must be filled: the released layout's units for our expert range.
    std::map<Unit, std::string> needed;
    for (const KeyBinding& b : keyBindings(c, KeyLayout::Released, first, last))
        needed.emplace(Unit{b.param, b.expert, b.rowStart}, b.key);
    std::set<Unit> filled;

    LoadReport report;
    torch::NoGradGuard noGrad;
    for (const std::string& name : dir.tensorNames()) {
        const int64_t layer = layerOfKey(name);
        if (layer >= c.num_hidden_layers) {  // the MTP block: not used for SFT
            ++report.tensorsSkipped;
            continue;
        }
        auto it = known.find(name);
        if (it == known.end())
            fail(dir.fileOf(name).string() + ": " + name, "unexpected tensor: not part of a Hy3 model with this config");
        const KeyBinding& b = it->second;
        const bool groupedExperts = b.expert < 0 && (b.param.find("experts_") != std::string::npos);
        if (b.expert >= 0 && (b.expert < first || b.expert >= last)) {
            ++report.tensorsSkipped;  // another rank's expert: never read
            continue;
        }
        auto [file, info] = dir.locate(name);
        const std::string where = file->path().string() + ": " + name;
        if (!isFloatingPoint(info->dtype)) fail(where, std::string("dtype ") + dtypeName(info->dtype) + " is not a floating-point weight");
        if (info->shape != b.shape)
            fail(where, "shape " + shapeText(info->shape) + " does not match the config (expected " + shapeText(b.shape) + ")");

        torch::Tensor target = model.tensor(b.param);
        torch::Tensor source = viewTensor(*file, *info);
        if (groupedExperts) source = source.narrow(0, first, last - first);
        if (b.expert >= 0) target = target.select(0, b.expert - first);
        if (b.rowCount >= 0) target = target.narrow(0, b.rowStart, b.rowCount);
        target.copy_(source);
        file->release(*info);
        report.bytesRead += static_cast<uint64_t>(source.numel()) * dtypeSize(info->dtype);
        ++report.tensorsLoaded;

        if (groupedExperts) {
            for (const auto& [unit, key] : needed)
                if (std::get<0>(unit) == b.param) filled.insert(unit);
        } else {
            filled.insert(Unit{b.param, b.expert < 0 ? -1 : b.expert - first, b.rowStart});
        }
    }
    std::vector<std::string> missing;
    for (const auto& [unit, key] : needed)
        if (!filled.count(unit)) missing.push_back(key);
    if (!missing.empty())
        fail(dir.path().string() + ": " + missing.front(),
             "missing tensor" + (missing.size() > 1 ? " (and " + std::to_string(missing.size() - 1) + " more)" : std::string()));
    return report;
}

Hy3Model openModel(const std::string& source, const ModelOptions& options, uint64_t seed) {
    std::error_code ec;
    const std::filesystem::path path(source);
    if (std::filesystem::is_directory(path, ec) &&
        (std::filesystem::exists(path / "model.safetensors", ec) || std::filesystem::exists(path / "model.safetensors.index.json", ec))) {
        ModelDirectory dir = ModelDirectory::open(path);
        Hy3Model model(dir.config(), options);
        loadModelWeights(*model, dir);
        return model;
    }
    const std::filesystem::path config = std::filesystem::exists(path, ec) ? path : presetConfigPath(source);
    Hy3Model model(loadModelConfig(config), options);
    model->initializeWeights(seed);
    return model;
}

}  // namespace hy3
