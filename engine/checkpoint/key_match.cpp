#include "checkpoint/key_match.h"

#include "util/format.h"

#include <map>
#include <set>
#include <tuple>

namespace hy3 {
namespace {

// One region of the model that some checkpoint tensor must fill: (parameter, expert, first row).
using Unit = std::tuple<std::string, int64_t, int64_t>;

bool isFloatingPoint(DType d) { return d == DType::F32 || d == DType::BF16 || d == DType::F16 || d == DType::F64; }

}  // namespace

KeyMatchResult matchKeys(ModelDirectory& dir, int64_t first, int64_t last, const std::function<bool(const std::string&)>& held) {
    auto isHeld = [&](const std::string& param) { return !held || held(param); };
    const ModelConfig& c = dir.config();
    // Every key either layout may use (all experts, to recognise those outside the range).
    std::map<std::string, KeyBinding> known;
    for (KeyLayout layout : {KeyLayout::Released, KeyLayout::Transformers})
        for (KeyBinding& b : keyBindings(c, layout, 0, c.num_experts)) known.emplace(b.key, std::move(b));
    // What must be filled: the released layout's units for the range (expert indexes global).
    std::map<Unit, std::string> needed;
    for (const KeyBinding& b : keyBindings(c, KeyLayout::Released, 0, c.num_experts))
        if ((b.expert < 0 || (b.expert >= first && b.expert < last)) && isHeld(b.param)) needed.emplace(Unit{b.param, b.expert, b.rowStart}, b.key);
    std::set<Unit> filled;

    KeyMatchResult result;
    for (const std::string& name : dir.tensorNames()) {
        if (layerOfKey(name) >= c.num_hidden_layers) {  // the MTP block: not used for SFT
            ++result.skipped;
            continue;
        }
        const std::string file = dir.fileOf(name).string();
        auto it = known.find(name);
        if (it == known.end()) {
            result.problems.push_back(file + ": " + name + ": unexpected tensor: not part of a Hy3 model with this config");
            continue;
        }
        const KeyBinding& b = it->second;
        if ((b.expert >= 0 && (b.expert < first || b.expert >= last)) || !isHeld(b.param)) {
            ++result.skipped;  // another rank's expert or layer: never read
            continue;
        }
        const TensorInfo* info = nullptr;
        try {
            info = dir.locate(name).second;
        } catch (const std::exception& e) {
            result.problems.push_back(e.what());
            continue;
        }
        if (!isFloatingPoint(info->dtype)) {
            result.problems.push_back(file + ": " + name + ": dtype " + dtypeName(info->dtype) + " is not a floating-point weight");
            continue;
        }
        if (info->shape != b.shape) {
            result.problems.push_back(file + ": " + name + ": shape " + shapeText(info->shape) +
                                      " does not match the config (expected " + shapeText(b.shape) + ")");
            continue;
        }
        const bool grouped = b.expert < 0 && isRoutedExpert(b.param);
        result.tensors.push_back({name, b, grouped});
        if (grouped) {
            for (const auto& [unit, key] : needed)
                if (std::get<0>(unit) == b.param) filled.insert(unit);
        } else {
            filled.insert(Unit{b.param, b.expert, b.rowStart});
        }
    }
    std::vector<std::string> missing;
    for (const auto& [unit, key] : needed)
        if (!filled.count(unit)) missing.push_back(key);
    for (const std::string& key : missing) result.problems.push_back(dir.path().string() + ": " + key + ": missing tensor");
    return result;
}

}  // namespace hy3
