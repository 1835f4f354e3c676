#pragma once
// One optimizer step over a global batch of micro-batches: forward and backward of each
// micro-batch with the loss divided by the label tokens of the whole global batch (so accumulation
// equals one big batch), the non-finite check, global-norm clipping, the AdamW update and the
// expert-bias update. The trainer and `hy3 bench train` both run exactly this.
#include "model/hy3_model.h"
#include "train/adamw.h"
#include "train/train_data.h"

#include <string>
#include <vector>

namespace hy3 {

struct StepSettings {
    double lr = 0;
    double gradClip = 0;          // 0: no clipping
    double expertBiasUpdate = 0;  // aux-loss-free balancing factor
    bool injectNan = false;       // fault injection: this step's loss becomes NaN
};

struct StepResult {
    double loss = 0;              // mean cross-entropy over the global batch's label tokens
    double gradNorm = 0;          // before clipping
    int64_t tokens = 0, realTokens = 0, labelTokens = 0;
    bool skipped = false;         // non-finite loss or gradients: nothing was updated
    std::string skipReason;
    std::vector<std::vector<int64_t>> load;  // per MoE layer: token-slots per expert in this step
    double seconds = 0;
};

StepResult trainStep(Hy3ModelImpl& model, AdamW& optimizer, const std::vector<MicroBatch>& batches, const StepSettings& settings);

// Mean loss over every label token of the batches, without gradients. Leaves the expert load as
// it was (evaluation must not steer the bias).
struct EvalResult {
    double loss = 0;
    int64_t labelTokens = 0;
};
EvalResult evaluate(Hy3ModelImpl& model, const std::vector<MicroBatch>& batches);

}  // namespace hy3
