#pragma once
// The routed experts' adapters in the layout PEFT loads on transformers' Hy3.
//
// transformers holds a MoE layer's experts as two 3-D parameters, gate_up_proj [E, 2F, H] and
// down_proj [E, H, F], so PEFT adapts them through `target_parameters`, not `target_modules`:
// per layer and parameter one pair lora_A [R*E, in] (rows expert-major: expert e's rank-R block
// is rows e*R..) and lora_B [out, R*E] (columns rank-major: column k*E + e), as PEFT's
// ParamWrapper reshapes them. The pairs nest: with target_parameters [p0, p1], p0's keys are
// "<layer>.mlp.experts.base_layer.lora_A.weight" and p1's "<layer>.mlp.experts.lora_A.weight".
// PEFT silently skips per-expert keys ("mlp.experts.7.gate_proj.lora_A.weight") on this model:
// the adapter then runs without its routed experts.
//
// We keep one gate and one up adapter of rank r per expert. Written fused, gate_up has rank 2r
// (A stacked [A_gate; A_up], B block-diagonal, lora_alpha doubled through alpha_pattern so the
// scale stays alpha / r): exact, and PEFT runs it as it stands. Read back, such a gate_up is
// split again; a gate_up of rank r (what PEFT trains when asked for rank r) is exact as a gate
// and an up adapter sharing A. Per-expert files (what hy3 wrote before) still read as they are.
#include "model/lora.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace hy3 {

using AdapterTensors = std::map<std::string, torch::Tensor>;  // by PEFT key

// The fused parameters that `settings` adapt, in target_parameters order: "mlp.experts.gate_up_proj"
// (when gate_proj or up_proj is a target), "mlp.experts.down_proj" (when down_proj is). Empty
// without routed experts.
std::vector<std::string> fusedExpertParameters(const LoraSettings& settings);

// adapter_config.json's fields for the fused experts: target_parameters, rank_pattern, alpha_pattern.
void addFusedExpertConfig(nlohmann::json& config, const LoraSettings& settings);

// Per-expert keys of every expert of a layer -> the fused keys; other keys unchanged. Throws
// hy3::Error when a layer's experts are incomplete.
AdapterTensors fuseExpertAdapters(const AdapterTensors& perExpert, const LoraSettings& settings);

// Fused keys -> per-expert keys (global expert indices); other keys unchanged. `config` is the
// adapter_config.json (target_parameters, rank_pattern, alpha_pattern); `file` names the file in
// errors. Returns whether the file had fused experts.
bool splitExpertAdapters(AdapterTensors& tensors, const nlohmann::json& config, const LoraSettings& settings, const std::string& file);

}  // namespace hy3
