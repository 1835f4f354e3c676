#include "train/parameters.h"

#include "config/model_cost.h"
#include "util/format.h"

#include <sstream>

namespace hy3 {

namespace {
bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

std::string parameterGroup(const std::string& name) {
    if (name == "embed_tokens") return "embeddings";
    if (name == "lm_head") return "lm_head";
    if (name == "norm" || endsWith(name, ".input_norm") || endsWith(name, ".post_norm")) return "norms";
    if (endsWith(name, ".qkv_proj") || endsWith(name, ".o_proj") || endsWith(name, ".q_norm") || endsWith(name, ".k_norm"))
        return "attention";
    if (endsWith(name, ".router")) return "router";
    if (endsWith(name, ".experts_gate_up") || endsWith(name, ".experts_down")) return "routed experts";
    if (endsWith(name, ".shared_gate_up") || endsWith(name, ".shared_down")) return "shared expert";
    if (endsWith(name, ".gate_up_proj") || endsWith(name, ".down_proj")) return "dense MLP";
    return "other";
}

std::vector<std::pair<std::string, torch::Tensor>> applyFreeze(Hy3ModelImpl& model, const FreezeSettings& f,
                                                               std::vector<ParameterGroupRow>* map) {
    std::vector<std::pair<std::string, torch::Tensor>> trainable;
    std::vector<ParameterGroupRow> rows;
    for (auto& item : model.named_parameters(true)) {
        const std::string group = parameterGroup(item.key());
        const bool trains = !isFrozen(f, group);
        item.value().set_requires_grad(trains);
        if (trains) trainable.emplace_back(item.key(), item.value());
        auto row = std::find_if(rows.begin(), rows.end(), [&](const ParameterGroupRow& r) { return r.group == group; });
        if (row == rows.end()) rows.push_back({group, 0, trains}), row = rows.end() - 1;
        row->parameters += item.value().numel();
    }
    if (map) *map = rows;
    return trainable;
}

std::string formatParameterMap(const std::vector<ParameterGroupRow>& map) {
    std::ostringstream out;
    int64_t trains = 0, total = 0;
    for (const auto& r : map) {
        out << "  " << r.group << std::string(r.group.size() < 16 ? 16 - r.group.size() : 1, ' ')
            << std::string(16 - std::min<size_t>(16, groupDigits(r.parameters).size()), ' ') << groupDigits(r.parameters)
            << (r.trains ? "  trains" : "  frozen") << "\n";
        total += r.parameters;
        trains += r.trains ? r.parameters : 0;
    }
    out << "  trainable " << groupDigits(trains) << " of " << groupDigits(total) << " parameters\n";
    return out.str();
}

}  // namespace hy3
