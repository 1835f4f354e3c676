#include "train/parameters.h"

#include "config/model_cost.h"
#include "config/tensor_names.h"
#include "util/format.h"

#include <sstream>

namespace hy3 {

std::vector<std::pair<std::string, torch::Tensor>> applyFreeze(Hy3ModelImpl& model, const FreezeSettings& f,
                                                               std::vector<ParameterGroupRow>* map) {
    std::vector<std::pair<std::string, torch::Tensor>> trainable;
    std::vector<ParameterGroupRow> rows;
    for (auto& item : model.named_parameters(true)) {
        const std::string group = componentName(tensorSpec(item.key()).component);
        const bool trains = trainsUnder(f, item.key());
        item.value().set_requires_grad(trains);
        if (trains) trainable.emplace_back(item.key(), item.value());
        auto row = std::find_if(rows.begin(), rows.end(), [&](const ParameterGroupRow& r) { return r.group == group; });
        if (row == rows.end()) rows.push_back({group, 0, trains}), row = rows.end() - 1;
        row->parameters += item.value().numel();
    }
    if (map) *map = rows;
    return trainable;
}

std::vector<ParameterGroupRow> wholeModelParameterMap(Hy3ModelImpl& model, bool firstReplica, bool firstExpertReplica, StepComm& comm) {
    std::vector<double> counts(kComponentCount, 0.0), frozen(kComponentCount, 0.0);
    for (const auto& item : model.named_parameters(true)) {
        const TensorSpec spec = tensorSpec(item.key());
        if (!(spec.expertSliced ? firstExpertReplica : firstReplica)) continue;
        const size_t i = static_cast<size_t>(spec.component);
        counts[i] += static_cast<double>(item.value().numel());
        frozen[i] += item.value().requires_grad() ? 0.0 : 1.0;
    }
    comm.sumOverWorld(counts);
    comm.sumOverWorld(frozen);
    std::vector<ParameterGroupRow> map;
    for (size_t i = 0; i < counts.size(); ++i)
        if (counts[i] > 0) map.push_back({componentName(static_cast<Component>(i)), static_cast<int64_t>(counts[i]), frozen[i] == 0});
    return map;
}

LoraSettings loraSettingsOf(const LoraSpec& spec) {
    LoraSettings s;
    s.rank = spec.rank;
    s.alpha = spec.alpha;
    s.dropout = spec.dropout;
    s.useRslora = spec.use_rslora;
    s.targets = std::set<std::string>(spec.targets.begin(), spec.targets.end());
    s.attention = spec.attention;
    s.denseMlp = spec.dense_mlp;
    s.sharedExpert = spec.shared_expert;
    s.routedExperts = spec.routed_experts;
    checkLoraSettings(s);
    return s;
}

std::vector<std::pair<std::string, torch::Tensor>> applyLora(Hy3ModelImpl& model, const LoraAdapters& adapters, bool trainRouter) {
    std::vector<std::pair<std::string, torch::Tensor>> trainable;
    for (auto& item : model.named_parameters(true)) {
        const bool router = tensorSpec(item.key()).component == Component::Router;
        item.value().set_requires_grad(trainRouter && router);
        if (trainRouter && router) trainable.emplace_back(item.key(), item.value());
    }
    for (auto& item : adapters->named_parameters(true)) trainable.emplace_back(kLoraPrefix + item.key(), item.value());
    return trainable;
}

std::vector<ParameterGroupRow> loraParameterMap(std::vector<ParameterGroupRow> map, const ModelConfig& config, const LoraSpec& spec) {
    for (ParameterGroupRow& row : map) row.trains = spec.train_router && row.group == componentName(Component::Router);
    map.push_back({"LoRA adapters", loraParameterCount(config, spec), true});
    return map;
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
