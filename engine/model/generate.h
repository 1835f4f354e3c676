#pragma once
// Text generation from a model: greedy or temperature/top-p sampling with a KV cache.
#include "model/hy3_model.h"

#include <cstdint>
#include <vector>

namespace hy3 {

struct GenerateOptions {
    int64_t maxNewTokens = 64;
    double temperature = 0.0;  // 0: greedy
    double topP = 1.0;
    uint64_t seed = 0;
    std::vector<int32_t> stopIds;  // generation ends after any of these (it is included)
};

std::vector<int32_t> generateTokens(Hy3ModelImpl& model, const std::vector<int32_t>& prompt, const GenerateOptions& options);

}  // namespace hy3
