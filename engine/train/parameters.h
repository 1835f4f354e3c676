#pragma once
// Which parameters train: the freeze settings applied to the model, and the map users see.
#include "config/project.h"
#include "model/hy3_model.h"
#include "train/step_comm.h"

#include <string>
#include <vector>

namespace hy3 {

struct ParameterGroupRow {
    std::string group;   // componentName: embeddings, attention, norms, dense MLP, router, routed experts, shared expert, lm_head
    int64_t parameters = 0;
    bool trains = true;
};

// Sets requires_grad by the freeze settings; returns the trainable parameters by name and the map.
std::vector<std::pair<std::string, torch::Tensor>> applyFreeze(Hy3ModelImpl& model, const FreezeSettings& freeze,
                                                               std::vector<ParameterGroupRow>* map = nullptr);
std::string formatParameterMap(const std::vector<ParameterGroupRow>& map);

// LoRA: the adapters' settings from the project's lora section.
LoraSettings loraSettingsOf(const LoraSpec& spec);
// Freezes the whole base model (but the router with `trainRouter`) and returns what trains: every
// adapter tensor as "lora.<name>" (config/tensor_names.h), and the router gates when they train.
std::vector<std::pair<std::string, torch::Tensor>> applyLora(Hy3ModelImpl& model, const LoraAdapters& adapters, bool trainRouter);
// The "what trains" map of a LoRA run: the base's groups frozen (the router as set), and one row
// for the adapters of the whole model (config/model_cost.h's formula).
std::vector<ParameterGroupRow> loraParameterMap(std::vector<ParameterGroupRow> baseMap, const ModelConfig& config, const LoraSpec& spec);

// The map of what trains for the whole model, not one rank's part: each tensor is counted by the
// first replica holding it (`firstReplica`: this rank is the first data-parallel replica of its
// stage; `firstExpertReplica`: the first holding its experts) and the counts are summed over the job.
std::vector<ParameterGroupRow> wholeModelParameterMap(Hy3ModelImpl& model, bool firstReplica, bool firstExpertReplica, StepComm& comm);

}  // namespace hy3
