#pragma once
// The MoE part of a Hy3 block. Dimension letters: T routed tokens, H hidden, E experts (local to
// this rank), K top-k, F expert width (moe_intermediate_size), N = T*K token-slots.
#include "config/model_config.h"
#include "model/kernel_choice.h"

#include <torch/torch.h>

namespace hy3 {

struct Routing {
    torch::Tensor logits_TE;     // fp32 router logits (part of the autograd graph)
    torch::Tensor scores_TE;     // sigmoid(logits)
    torch::Tensor experts_TK;    // selected expert per token and slot (int64), chosen by score + bias
    torch::Tensor weights_TK;    // unbiased scores of the selected experts, renormalised and scaled (fp32)
    torch::Tensor load_E;        // token-slots per expert (int64, on the router's device)
};

// How rows sorted by expert split into experts, in the form the chosen kernel reads: the host loop
// reads counts on the host; the grouped GEMM reads end offsets (int32 cumsum) on the rows' device.
struct ExpertRows {
    ExpertKernel kernel = ExpertKernel::HostLoop;
    torch::Tensor counts;   // [E] int64 rows per expert (on the host for HostLoop)
    torch::Tensor offsets;  // [E] int32 end of each expert's rows (GroupedMm; empty for HostLoop)
};
// How many of `ids` (int64, any device) equal each of 0..n-1, by a scatter-add: unlike
// torch::bincount, which reads the ids' minimum and maximum back to the host on CUDA, it never waits.
torch::Tensor countIds(const torch::Tensor& ids, int64_t n);

// From counts on any device. HostLoop copies them to the host (free on the CPU, a wait elsewhere).
ExpertRows expertRows(const torch::Tensor& counts_E, ExpertKernel kernel, const torch::Device& rowsDevice);

// fp32 sigmoid router: the bias only chooses experts, the weights use the unbiased scores.
Routing route(const torch::Tensor& x_TH, const torch::Tensor& router_EH, const torch::Tensor& bias_E, const ModelConfig& c);

// The routed experts of one layer: token-slots sorted by expert, each expert's multiply on its
// contiguous rows (no per-token loop), weights applied before the down projection.
//   x_NH      inputs already sorted by expert (row i goes to the expert that owns it)
//   w_N       routing weight of each row (fp32)
//   rows      rows per expert, summing to N, and the kernel that multiplies them
//   gateUp_EFH [E, 2F, H] (gate rows first), down_EHF [E, H, F]
// Returns y_NH = w * down_e(silu(gate_e x) * up_e x) for each row.
torch::Tensor groupedExperts(const torch::Tensor& x_NH, const torch::Tensor& w_N, const ExpertRows& rows,
                             const torch::Tensor& gateUp_EFH, const torch::Tensor& down_EHF);

// The same with `deltaH_N2F` (LoRA's gate/up adapters) added to the gate/up pre-activation; also
// returns the weighted activation [N, F] the down projection reads (for the down adapter).
std::pair<torch::Tensor, torch::Tensor> groupedExpertsWithDelta(const torch::Tensor& x_NH, const torch::Tensor& w_N,
                                                                const ExpertRows& rows, const torch::Tensor& gateUp_EFH,
                                                                const torch::Tensor& down_EHF, const torch::Tensor& deltaH_N2F);

// y = x @ W[e]^T on each expert's contiguous rows (LoRA's expert adapters: W [E, out, in]).
torch::Tensor groupedLinear(const torch::Tensor& x_NI, const ExpertRows& rows, const torch::Tensor& W_EOI);

// The same result from a plain loop over experts with ordinary autograd ops (tests, benchmarks).
torch::Tensor expertsReferenceLoop(const torch::Tensor& x_NH, const torch::Tensor& w_N, const torch::Tensor& counts_E,
                                   const torch::Tensor& gateUp_EFH, const torch::Tensor& down_EHF);

// Sequence-level auxiliary balance loss (DeepSeek-V3 style), summed over sequences:
// sum_b sum_e f_be * P_be with f = E/(K*T_b) * count, P = mean over the sequence's tokens of s/sum(s).
torch::Tensor sequenceBalanceLoss(const Routing& r, const torch::Tensor& sequenceOfToken_T, int64_t sequences,
                                  int64_t topK);

}  // namespace hy3
