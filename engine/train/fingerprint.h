#pragma once
// A run's fingerprint: what must be equal for a resume to continue the same run exactly (model
// shape, data, sequence length, packing, global batch, seed, dtype, layout). No torch here, so the
// workbench can say before a resume whether it will be exact.
#include "config/model_config.h"
#include "config/project.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace hy3 {

nlohmann::json runFingerprint(const Project& project, const ModelConfig& config, const std::string& dataKey);
// One line per field that differs ("seq_len (256 in the checkpoint, 512 now)").
std::vector<std::string> fingerprintDifferences(const nlohmann::json& saved, const nlohmann::json& now);

}  // namespace hy3
