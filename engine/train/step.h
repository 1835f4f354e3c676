#pragma once
// One optimizer step over a global batch: forward and backward of each micro-batch (in 1F1B order
// when the model is split into pipeline stages), the loss divided by the label tokens of the whole
// global batch over every replica (so accumulation and data parallelism equal one big batch), the
// gradient sums across ranks, the non-finite check, global-norm clipping, the AdamW update of the
// owned parameters and the expert-bias update. The trainer and `hy3 bench train` both run exactly
// this, in one process or many.
#include "model/hy3_model.h"
#include "train/adamw.h"
#include "train/step_comm.h"
#include "train/train_data.h"

#include <string>
#include <vector>

namespace hy3 {

struct StepSettings {
    double lr = 0;
    double gradClip = 0;          // 0: no clipping
    double expertBiasUpdate = 0;  // aux-loss-free balancing factor
    bool injectNan = false;       // fault injection: this step's loss becomes NaN
    bool overlapGradientSync = true;  // false: sum the gradients only after the backward (to compare)
    PhaseTimer* phases = nullptr;     // benchmarks: the step's time split by phase (model/phase_timer.h)
};

// One MoE layer after the step: the load of the whole global batch and the bias after the update.
struct LayerRouterState {
    int64_t layer = 0;
    std::vector<int64_t> load;
    std::vector<float> bias;
};

struct StepResult {
    double loss = 0;              // mean cross-entropy over the global batch's label tokens
    double gradNorm = 0;          // before clipping
    int64_t tokens = 0, realTokens = 0, labelTokens = 0;  // of the global batch
    bool skipped = false;         // non-finite loss or gradients: nothing was updated
    std::string skipReason;
    std::vector<LayerRouterState> router;  // every MoE layer of the model
    double seconds = 0;
    // Parts of `seconds`: the gradient sum over the data-parallel replicas left after the last
    // backward (the part the backward did not hide), and the update (norm, clipping, AdamW,
    // sharing the updated parameters, bias update).
    double gradientSyncSeconds = 0, updateSeconds = 0;
    GradientSumStats gradientSum;
};

// What a step works on. `comm` is a plain StepComm in one process.
struct StepContext {
    Hy3ModelImpl& model;
    GradientBuffers& gradients;
    AdamW& optimizer;
    StepComm& comm;
    std::vector<size_t> owned;  // parameters whose update (and norm share) this rank owns
};

StepResult trainStep(StepContext& context, const std::vector<MicroBatch>& batches, const StepSettings& settings);

// Mean loss over every label token of the batches (this rank's share of them), without gradients.
// Leaves the expert load as it was (evaluation must not steer the bias).
struct EvalResult {
    double loss = 0;
    int64_t labelTokens = 0;
};
EvalResult evaluate(Hy3ModelImpl& model, StepComm& comm, const std::vector<MicroBatch>& batches);

}  // namespace hy3
