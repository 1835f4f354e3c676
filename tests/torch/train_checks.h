#pragma once
// In-process checks of the training pieces that need LibTorch (AdamW, accumulation, clipping, the
// non-finite skip, the KV cache, train state). Like model_checks.h: no torch and no Qt here, the
// Qt suites assert on the figures these return.
#include <cstdint>
#include <map>
#include <string>

namespace hy3::checks {

using Figures = std::map<std::string, double>;

// hy3::AdamW against torch::optim::AdamW (two parameter groups: decay and no decay) over several
// steps with a changing learning rate: max |difference| of the parameters ("fp32"), and of the
// fp32 master weights when the parameters are bf16 ("bf16_master"), plus "moved" (how far the
// parameters moved, so a test knows the update did something). `fused`: ours through
// at::_fused_adamw_ (the kernel other devices take) instead of the CPU loop; then also
// "scaled_vs_loop": fused against the CPU loop with a clipping factor of 0.37 on every step.
Figures adamwVersusTorch(int steps, bool fused = false);

// The squared gradient norm by torch::_foreach_norm (the path of device tensors, taken here by
// non-contiguous CPU tensors) against the chunked CPU pass: relative difference.
double foreachSquaresVersusCpuPass(uint64_t seed);

// One global batch as 4 micro-batches of 2 rows against 1 micro-batch of 8 rows through the
// trainer's step: "loss", "grad_norm" (absolute differences), "grads" (max over parameters of
// max|g1-g2| / max|g1|), "label_tokens" (difference of the counts), "loss_value".
Figures accumulationVersusOneBatch(const std::string& preset);

// Global-norm clipping through the trainer's step: "norm" (unclipped), and the norm of the
// gradient the optimizer used with clip = norm/2 ("clipped_half") and clip = 2*norm ("clipped_double").
Figures clipping(const std::string& preset);

// A step with a NaN loss: "skipped" (1/0), "weights_changed" and "state_changed" (max |diff|
// against before the step), "optimizer_steps_before" / "_after", "load_after" (token-slots left).
Figures nanStepIsSkipped(const std::string& preset);

// Greedy decoding with the KV cache against the full forward: max |logit difference| over every
// position, decoding a prompt then one token at a time.
double kvCacheVersusFullForward(const std::string& fixtureDir);

// Train state written and read back: "tensors_equal" (1/0), "rng_restored" (1/0), "step".
Figures trainStateRoundTrip(const std::string& dir);

}  // namespace hy3::checks
