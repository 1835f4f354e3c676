#pragma once
// The hand-written fp32 CPU loops of the fused ops, free of torch so they can be compiled twice:
// once for baseline x86-64 and once with AVX2+FMA (cpu_kernels_avx2.cpp); kernels() picks the
// widest the CPU supports at run time. Every function works on rows [begin, end) so callers can
// split the work over threads.
#include <cstdint>

namespace hy3::kernels {

// Shape of the fused q/k/v projection output and of the attention layout (see model/attention.h).
struct HeadLayout {
    int64_t batch, seq, heads, kvHeads, headDim;
};

// The scalars of one AdamW update (torch::optim::AdamW's formula) of a gradient scaled by
// gradScale (clipping): per element g = g * gradScale;  w = w * decay;  m = b1 m + (1 - b1) g;
// v = b2 v + (1 - b2) g^2;  w += step * m / (sqrt(v) / sqrtCorrection2 + eps).
struct AdamWScalars {
    float gradScale, beta1, beta2, decay, step, sqrtCorrection2, eps;
};

struct KernelTable {
    const char* isa;  // "avx2+fma" or "baseline"

    // y = w * x / rms(x); rstd[r] = 1 / rms of row r.
    void (*rmsNormForward)(const float* x, const float* w, float* y, float* rstd, int64_t begin, int64_t end, int64_t dim,
                           float eps);
    // dx for rows [begin, end); dw accumulates sum over those rows of dy * xhat.
    void (*rmsNormBackward)(const float* x, const float* w, const float* dy, const float* rstd, float* dx, float* dw,
                            int64_t begin, int64_t end, int64_t dim);

    // gu rows hold [gate | up] (2*width); out = silu(gate) * up.
    void (*swigluForward)(const float* gu, float* out, int64_t begin, int64_t end, int64_t width);
    void (*swigluBackward)(const float* gu, const float* dout, float* dgu, int64_t begin, int64_t end, int64_t width);

    // Routed experts: a = w[r] * silu(gate) * up.
    void (*weightedSwigluForward)(const float* h, const float* w, float* a, int64_t begin, int64_t end, int64_t width);
    // From da: dw[r] = sum(da * act), dh = SwiGLU backward of w*da, and a = w * act again.
    void (*weightedSwigluBackward)(const float* h, const float* w, const float* da, float* dh, float* dw, float* a,
                                   int64_t begin, int64_t end, int64_t width);

    // Tokens [begin, end) of qkv [T, (N+2K)*D]: per-head RMSNorm of q and k, RoPE, scattered into
    // q [B*K, S*G, D] (row s*G + i for query head j*G + i), k and v [B*K, S, D]; rstd [T, N+K].
    void (*qkNormRopeForward)(const float* qkv, const float* qw, const float* kw, const float* cos, const float* sin,
                              float* q, float* k, float* v, float* rstd, HeadLayout l, int64_t begin, int64_t end, float eps);
    // The backward into dqkv; dqw and dkw accumulate.
    void (*qkNormRopeBackward)(const float* qkv, const float* qw, const float* kw, const float* cos, const float* sin,
                               const float* rstd, const float* dq, const float* dk, const float* dv, float* dqkv, float* dqw,
                               float* dkw, HeadLayout l, int64_t begin, int64_t end);

    // Score rows [begin, end) of [B*K, S*G, S] (row stride S; `scores` points at row `begin`):
    // scale, softmax over keys [start, s] of the row's position s, zero elsewhere.
    void (*maskedSoftmax)(float* scores, const int64_t* start, HeadLayout l, int64_t begin, int64_t end, float scale);
    // The softmax backward for the same rows: dp <- p * (dp - sum(p * dp)) * scale over the
    // visible keys, zero elsewhere (p and dp point at row `begin`, row stride S).
    void (*softmaxBackward)(const float* p, float* dp, const int64_t* start, HeadLayout l, int64_t begin, int64_t end,
                            float scale);

    // Rows [begin, end) of fp32 logits [*, vocab] in place: returns the summed loss of rows whose
    // target is >= 0; with `grad`, leaves softmax - onehot there (zero on ignored rows).
    double (*crossEntropyRows)(float* logits, const int64_t* targets, int64_t begin, int64_t end, int64_t vocab, bool grad);

    // Optimizer passes over elements [begin, end) of flat fp32 buffers: one AdamW update of w, m
    // and v from g in a single pass (instead of eight ATen passes), and a sum of squares in double.
    void (*adamwUpdate)(float* w, float* m, float* v, const float* g, int64_t begin, int64_t end, AdamWScalars s);
    double (*sumOfSquares)(const float* x, int64_t begin, int64_t end);
};

const KernelTable& kernels();

}  // namespace hy3::kernels
