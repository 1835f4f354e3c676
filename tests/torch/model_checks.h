#pragma once
// In-process checks of the model that need LibTorch. Qt Test suites call these; this header has
// neither torch nor Qt in it, so the two never meet in one translation unit. Each check returns
// the measured figures; the Qt suites assert on them.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hy3::checks {

// Largest absolute difference per named output between two ways of computing the same thing.
using Differences = std::map<std::string, double>;

// The grouped-experts function against a plain loop over experts (outputs and all gradients),
// with some experts given no rows. `groupedMm`: through at::_grouped_mm with the offsets on the
// tensors' device (the kernel GPUs take; its generic fallback here) instead of the host loop; then
// also LoRA's grouped linear through both kernels ("lora_*").
Differences groupedExpertsVersusLoop(uint64_t seed, bool groupedMm = false);

// The fixture model with the device kernels (grouped GEMM experts, SDPA attention) against the
// CPU's (host loop, blocked attention): logits, loss and every gradient ("<case>_logits",
// "<case>_loss", "<case>_grads") for the fixture's batch, its packed row and a right-padded batch.
Differences deviceKernelsVersusCpuKernels(const std::string& fixtureDir);

// The whole fixture model with the hand-written CPU kernels against the plain ATen path:
// logits, loss, and every parameter gradient (max over tensors of |diff| / max |grad|).
Differences fusedVersusAten(const std::string& fixtureDir);

// The model against the plain eager reference implementation (same parameters).
Differences modelVersusEagerReference(const std::string& fixtureDir);

// Activation checkpointing on and off: loss and every gradient.
Differences checkpointingVersusPlain(const std::string& fixtureDir);

// The benchmarks' phase marks (model/phase_timer.h) on a forward+backward: "loss" and "grads"
// against the same pass without them (they must change nothing), "waits" (boundary crossings) and
// each phase's seconds as "phase <name>".
Differences phaseMarksVersusPlain(const std::string& fixtureDir);

// Each document of the fixture's packed row run alone, against the packed row's logits.
double packedVersusSeparate(const std::string& fixtureDir);

// Padding added to the right and to the left of the fixture's rows: largest logit difference at
// the real positions, and the loss difference.
Differences paddingInvariance(const std::string& fixtureDir);

// bf16 parameters against fp32 on the fixture: max |logit diff|, relative loss difference, and
// the largest logit magnitude for scale.
Differences bf16VersusFp32(const std::string& fixtureDir);

// The chunked loss (several chunk sizes) against a plain full-logits cross-entropy: loss and
// gradients of h and the head weight.
Differences chunkedLossVersusFull(uint64_t seed);

// enable_lm_head_fp32 on bf16 tensors: the chunked loss and its gradients against a reference
// computed from the same values in fp32 ("fp32_*"), and the same without the flag ("bf16_*").
Differences fp32HeadVersusReference(uint64_t seed);

// LoRA on every module of the fixture (attention, dense MLP, shared and routed experts, rank 4):
// "zero_b_*": with B = 0 against the base model (logits and loss, must be 0); "merged_*": random A
// and B against the base model with W + s B A folded in (logits, loss); "grad_A", "grad_B": the
// adapter gradients against s B^T dW and s dW A^T from the merged model's gradient of each
// on-disk weight (largest relative difference); "adapters": how many pairs took part.
Differences loraVersusMerged(const std::string& fixtureDir);

// HF's padding_idx: the gradient of the embedding row of pad_token_id ("pad_row", must be 0) and
// of another row the batch uses ("used_row"), with the pad token among the inputs.
Differences paddingRowGradient(const std::string& fixtureDir);

// logits_to_keep = n against the last n positions of the full logits.
double logitsToKeepVersusFull(const std::string& fixtureDir, int64_t keep);

struct InitFacts {
    bool sameSeedIdentical = false;
    bool otherSeedDifferent = false;
    bool normsAreOne = false;
    bool biasIsZero = false;
    double matrixStd = 0;      // measured over every matrix
    double matrixMaxAbs = 0;   // must stay within 2 std of the configured range
};
InitFacts initialisation(const std::string& preset);

struct BiasFacts {
    std::vector<float> biasBefore, biasAfterZeroFactor, biasAfterUpdate;
    std::vector<int64_t> loadAfterTwoForwards, loadOfOneForward, loadAfterUpdate;
};
BiasFacts expertBiasUpdates(const std::string& fixtureDir, double factor);

struct AuxLossFacts {
    double auxLoss = 0;            // from the model (coefficient applied)
    double expected = 0;           // the same formula evaluated directly, per sequence
    double routerGradNorm = 0;     // the aux loss alone back-propagated into the routers
};
AuxLossFacts auxiliaryLoss(const std::string& fixtureDir, double coefficient);

// Loading only experts [first, last): the held slices equal those of a full load.
double expertRangeLoad(const std::string& fixtureDir, int64_t first, int64_t last);

}  // namespace hy3::checks
