#pragma once
// train_state/ of a checkpoint: everything besides the weights that an exact resume needs.
//   train_state.json                                step, data cursor, counters, the run's fingerprint
//   optimizer-rank00000-of-00001.safetensors        AdamW moments (and fp32 master weights), RNG state
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace hy3 {

struct TrainState {
    int64_t step = 0;            // training steps done (skipped ones included)
    int64_t optimizerSteps = 0;  // AdamW updates done (its bias correction counts these)
    int64_t epoch = 0;           // data cursor: the epoch and the next row in its plan
    int64_t rowInEpoch = 0;
    int64_t badStreak = 0;       // non-finite steps in a row
    double bestEvalLoss = -1;    // -1: none yet
    int64_t tokensSeen = 0;      // real (non-padding) tokens trained on
    nlohmann::json fingerprint;  // what must match for an exact resume (model, data, layout, batch, ...)
};

// Writes the state into `dir` (which must exist); returns the SHA-256 of the files by relative name.
std::map<std::string, std::string> saveTrainState(const std::filesystem::path& dir, const TrainState& state,
                                                  const std::vector<std::pair<std::string, torch::Tensor>>& optimizer,
                                                  int rank = 0, int ranks = 1);
// Reads the state; `optimizer` receives the tensors. Throws hy3::Error naming the missing file.
TrainState loadTrainState(const std::filesystem::path& dir, std::map<std::string, torch::Tensor>& optimizer, int rank = 0,
                          int ranks = 1);

std::string optimizerFileName(int rank, int ranks);

}  // namespace hy3
