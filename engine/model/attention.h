#pragma once
// Attention of one Hy3 block. Dimension letters: B batch rows, S positions per row, T = B*S tokens,
// N query heads, K key/value heads, G = N/K query heads per KV head, D head_dim.
//
// Layout: queries are held as [B*K, S*G, D]: for KV head j, row s*G + i is query head j*G + i at
// position s. Keys and values are [B*K, S, D]. The G query heads sharing a KV head then multiply
// the shared keys together (GQA without repeat_interleave of K and V), and the rows of a block of
// positions are contiguous, so causal attention computes only the blocks below the diagonal.
#include "model/kernel_choice.h"

#include <torch/torch.h>

namespace hy3 {

struct AttentionGeometry {
    int64_t batch = 0;      // B
    int64_t seq = 0;        // S
    int64_t heads = 0;      // N
    int64_t kvHeads = 0;    // K
    int64_t headDim = 0;    // D
    int64_t groups() const { return heads / kvHeads; }
};

// Which keys each query may see: keys [start[b,s], s] of its own row. Documents packed into a row
// start a new range; padding positions see only themselves (their output is never used).
struct AttentionMask {
    torch::Tensor start;       // [B, S] int64 (CPU)
    bool causalOnly = false;   // every row one document without padding: start is 0 everywhere
};

// The mask as booleans, visible[b, s, j] = start[b, s] <= j <= s: [B, S, S] on `device`.
torch::Tensor visibleKeys(const AttentionMask& mask, const torch::Device& device);

// Builds the mask from what the batch gives: cu_seqlens over the flattened rows, else restarts of
// position_ids to 0, else one document per row; attention_mask 0 marks padding.
AttentionMask buildAttentionMask(int64_t batch, int64_t seq, const torch::Tensor& attentionMask,
                                 const torch::Tensor& positionIds, const torch::Tensor& cuSeqlens);

// cos and sin of the RoPE angles, [T, D/2] fp32 each, for the given positions [B, S].
struct RopeTable {
    torch::Tensor cos, sin;
};
RopeTable buildRopeTable(const torch::Tensor& positionIds, int64_t headDim, double theta, const torch::Device& device);

struct QKV {
    torch::Tensor q;  // [B*K, S*G, D]
    torch::Tensor k;  // [B*K, S, D]
    torch::Tensor v;  // [B*K, S, D]
};

// Splits the fused projection output qkv [T, (N+2K)*D] into heads, applies the per-head RMSNorm
// (shared weights of shape [D]) to q and k, then rotate-half RoPE, and lays the heads out as above.
QKV qkNormRope(const torch::Tensor& qkv, const torch::Tensor& qNorm, const torch::Tensor& kNorm, const RopeTable& rope,
               const AttentionGeometry& g, double eps);

// Causal softmax attention under `mask`, scale 1/sqrt(D), by the chosen kernel. Returns [T, N*D]
// ready for o_proj.
torch::Tensor attention(const QKV& qkv, const AttentionMask& mask, const AttentionGeometry& g, AttentionKernel kernel);

// Incremental decoding, one row (g.batch 1, g.seq new positions past..past+S-1): each new query
// [K, S*G, D] sees every cached key and the new ones up to its own position; keys and values
// [K, past+S, D] hold both. Returns [S, N*D] ready for o_proj.
torch::Tensor cachedAttention(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& values, int64_t past,
                              const AttentionGeometry& g);

}  // namespace hy3
