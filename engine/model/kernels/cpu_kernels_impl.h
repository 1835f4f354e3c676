// The kernel bodies, included by cpu_kernels_baseline.cpp and cpu_kernels_avx2.cpp with
// HY3_KERNEL_NS set to a namespace of their own. Plain loops over float: the compiler vectorises
// them for the ISA of the including file (see fast_math.h for exp).
#include "model/fast_math.h"
#include "model/kernels/cpu_kernels.h"

#include <algorithm>
#include <cmath>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace hy3::kernels::HY3_KERNEL_NS {

// Denormal numbers cost x86 a microcode assist of about a hundred cycles per instruction that
// touches one. The vectorised loops compute every side of the clamps in fastmath::exp for every
// lane (GCC turns them into blends), and one side multiplies by sigmoid(-88.3) = 4.5e-39, a
// denormal: silu in the expert kernels took 10 ns per element instead of 1. Inside the kernels
// denormals count as zero and results below FLT_MIN become zero (MXCSR's DAZ and FTZ, as oneDNN
// runs); the caller's mode comes back on return, so ATen and BLAS keep theirs.
class FlushDenormals {
public:
#if defined(__x86_64__) || defined(__i386__)
    FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }
    ~FlushDenormals() { _mm_setcsr(saved_); }

private:
    unsigned saved_;
#endif
};

// Kernel `Fn` called with denormals flushed.
template <auto Fn>
struct Flushed;
template <typename R, typename... Args, R (*Fn)(Args...)>
struct Flushed<Fn> {
    static R call(Args... args) {
        const FlushDenormals flush;
        return Fn(args...);
    }
};

inline void rmsNormForward(const float* x, const float* w, float* y, float* rstd, int64_t begin, int64_t end, int64_t dim,
                           float eps) {
    for (int64_t r = begin; r < end; ++r) {
        const float* xr = x + r * dim;
        float* yr = y + r * dim;
        float sum = 0.f;
#pragma omp simd reduction(+ : sum)
        for (int64_t i = 0; i < dim; ++i) sum += xr[i] * xr[i];
        const float inv = 1.f / std::sqrt(sum / static_cast<float>(dim) + eps);
        rstd[r] = inv;
#pragma omp simd
        for (int64_t i = 0; i < dim; ++i) yr[i] = w[i] * (xr[i] * inv);
    }
}

inline void rmsNormBackward(const float* x, const float* w, const float* dy, const float* rstd, float* dx, float* dw,
                            int64_t begin, int64_t end, int64_t dim) {
    for (int64_t r = begin; r < end; ++r) {
        const float* xr = x + r * dim;
        const float* g = dy + r * dim;
        float* dxr = dx + r * dim;
        const float inv = rstd[r];
        float dot = 0.f;
#pragma omp simd reduction(+ : dot)
        for (int64_t i = 0; i < dim; ++i) {
            const float xhat = xr[i] * inv;
            dot += g[i] * w[i] * xhat;
            dw[i] += g[i] * xhat;
        }
        const float mean = dot / static_cast<float>(dim);
#pragma omp simd
        for (int64_t i = 0; i < dim; ++i) dxr[i] = inv * (g[i] * w[i] - xr[i] * inv * mean);
    }
}

inline void swigluForward(const float* gu, float* out, int64_t begin, int64_t end, int64_t width) {
    for (int64_t r = begin; r < end; ++r) {
        const float* g = gu + r * 2 * width;
        const float* u = g + width;
        float* o = out + r * width;
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) o[i] = g[i] * fastmath::sigmoid(g[i]) * u[i];
    }
}

inline void swigluBackward(const float* gu, const float* dout, float* dgu, int64_t begin, int64_t end, int64_t width) {
    for (int64_t r = begin; r < end; ++r) {
        const float* g = gu + r * 2 * width;
        const float* u = g + width;
        const float* d = dout + r * width;
        float* dg = dgu + r * 2 * width;
        float* du = dg + width;
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) {
            const float sig = fastmath::sigmoid(g[i]);
            du[i] = d[i] * g[i] * sig;
            dg[i] = d[i] * u[i] * sig * (1.f + g[i] * (1.f - sig));
        }
    }
}

inline void weightedSwigluForward(const float* h, const float* w, float* a, int64_t begin, int64_t end, int64_t width) {
    for (int64_t r = begin; r < end; ++r) {
        const float* g = h + r * 2 * width;
        const float* u = g + width;
        float* o = a + r * width;
        const float wr = w[r];
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) o[i] = wr * g[i] * fastmath::sigmoid(g[i]) * u[i];
    }
}

inline void weightedSwigluBackward(const float* h, const float* w, const float* da, float* dh, float* dw, float* a,
                                   int64_t begin, int64_t end, int64_t width) {
    for (int64_t r = begin; r < end; ++r) {
        const float* g = h + r * 2 * width;
        const float* u = g + width;
        const float* d = da + r * width;
        float* dg = dh + r * 2 * width;
        float* du = dg + width;
        float* ar = a + r * width;
        const float wr = w[r];
        float dot = 0.f;
#pragma omp simd reduction(+ : dot)
        for (int64_t i = 0; i < width; ++i) {
            const float sig = fastmath::sigmoid(g[i]);
            const float act = g[i] * sig * u[i];
            dot += d[i] * act;
            ar[i] = wr * act;
            const float dAct = d[i] * wr;
            du[i] = dAct * g[i] * sig;
            dg[i] = dAct * u[i] * sig * (1.f + g[i] * (1.f - sig));
        }
        dw[r] = dot;
    }
}

// One head vector: RMSNorm with weight w, then rotate-half RoPE. Returns 1/rms.
inline float normRopeHead(const float* src, const float* w, const float* cs, const float* sn, float* dst, int64_t D,
                          float eps) {
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < D; ++i) sum += src[i] * src[i];
    const float inv = 1.f / std::sqrt(sum / static_cast<float>(D) + eps);
    const int64_t half = D / 2;
#pragma omp simd
    for (int64_t i = 0; i < half; ++i) {
        const float x1 = w[i] * (src[i] * inv);
        const float x2 = w[i + half] * (src[i + half] * inv);
        dst[i] = x1 * cs[i] - x2 * sn[i];
        dst[i + half] = x2 * cs[i] + x1 * sn[i];
    }
    return inv;
}

inline void normRopeHeadBackward(const float* src, const float* w, const float* cs, const float* sn, const float* dy, float inv,
                                 float* dx, float* dw, int64_t D) {
    const int64_t half = D / 2;
    float dot = 0.f;
    // First pass: un-rotate the gradient into dx (as the gradient of the weighted normalised
    // vector times w), accumulate dw, and the dot product the RMSNorm backward needs.
#pragma omp simd reduction(+ : dot)
    for (int64_t i = 0; i < half; ++i) {
        const float g1 = dy[i] * cs[i] + dy[i + half] * sn[i];
        const float g2 = -dy[i] * sn[i] + dy[i + half] * cs[i];
        const float n1 = src[i] * inv, n2 = src[i + half] * inv;
        dw[i] += g1 * n1;
        dw[i + half] += g2 * n2;
        dx[i] = g1 * w[i];
        dx[i + half] = g2 * w[i + half];
        dot += dx[i] * n1 + dx[i + half] * n2;
    }
    const float mean = dot / static_cast<float>(D);
#pragma omp simd
    for (int64_t i = 0; i < D; ++i) dx[i] = inv * (dx[i] - src[i] * inv * mean);
}

inline void qkNormRopeForward(const float* qkv, const float* qw, const float* kw, const float* cos, const float* sin,
                              float* q, float* k, float* v, float* rstd, HeadLayout l, int64_t begin, int64_t end, float eps) {
    const int64_t S = l.seq, N = l.heads, K = l.kvHeads, D = l.headDim, G = N / K, C = (N + 2 * K) * D;
    for (int64_t t = begin; t < end; ++t) {
        const int64_t b = t / S, s = t % S;
        const float* row = qkv + t * C;
        const float *c = cos + t * (D / 2), *sn = sin + t * (D / 2);
        for (int64_t h = 0; h < N; ++h) {
            const int64_t j = h / G, i = h % G;
            rstd[t * (N + K) + h] = normRopeHead(row + h * D, qw, c, sn, q + (((b * K + j) * S + s) * G + i) * D, D, eps);
        }
        for (int64_t j = 0; j < K; ++j) {
            rstd[t * (N + K) + N + j] = normRopeHead(row + (N + j) * D, kw, c, sn, k + ((b * K + j) * S + s) * D, D, eps);
            std::copy(row + (N + K + j) * D, row + (N + K + j + 1) * D, v + ((b * K + j) * S + s) * D);
        }
    }
}

inline void qkNormRopeBackward(const float* qkv, const float* qw, const float* kw, const float* cos, const float* sin,
                               const float* rstd, const float* dq, const float* dk, const float* dv, float* dqkv, float* dqw,
                               float* dkw, HeadLayout l, int64_t begin, int64_t end) {
    const int64_t S = l.seq, N = l.heads, K = l.kvHeads, D = l.headDim, G = N / K, C = (N + 2 * K) * D;
    for (int64_t t = begin; t < end; ++t) {
        const int64_t b = t / S, s = t % S;
        const float *c = cos + t * (D / 2), *sn = sin + t * (D / 2);
        for (int64_t h = 0; h < N; ++h) {
            const int64_t j = h / G, i = h % G;
            normRopeHeadBackward(qkv + t * C + h * D, qw, c, sn, dq + (((b * K + j) * S + s) * G + i) * D,
                                 rstd[t * (N + K) + h], dqkv + t * C + h * D, dqw, D);
        }
        for (int64_t j = 0; j < K; ++j) {
            normRopeHeadBackward(qkv + t * C + (N + j) * D, kw, c, sn, dk + ((b * K + j) * S + s) * D,
                                 rstd[t * (N + K) + N + j], dqkv + t * C + (N + j) * D, dkw, D);
            const float* g = dv + ((b * K + j) * S + s) * D;
            std::copy(g, g + D, dqkv + t * C + (N + K + j) * D);
        }
    }
}

inline void maskedSoftmax(float* scores, const int64_t* start, HeadLayout l, int64_t begin, int64_t end, float scale) {
    const int64_t S = l.seq, K = l.kvHeads, G = l.heads / K;
    for (int64_t r = begin; r < end; ++r) {
        const int64_t bk = r / (S * G), s = (r % (S * G)) / G, b = bk / K;
        float* row = scores + (r - begin) * S;
        const int64_t lo = start[b * S + s];
        float mx = row[lo] * scale;
        for (int64_t j = lo + 1; j <= s; ++j) mx = std::max(mx, row[j] * scale);
        float sum = 0.f;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = lo; j <= s; ++j) {
            const float e = fastmath::exp(row[j] * scale - mx);
            row[j] = e;
            sum += e;
        }
        const float inv = 1.f / sum;
        std::fill(row, row + lo, 0.f);
#pragma omp simd
        for (int64_t j = lo; j <= s; ++j) row[j] *= inv;
        std::fill(row + s + 1, row + S, 0.f);
    }
}

inline void softmaxBackward(const float* p, float* dp, const int64_t* start, HeadLayout l, int64_t begin, int64_t end,
                            float scale) {
    const int64_t S = l.seq, K = l.kvHeads, G = l.heads / K;
    for (int64_t r = begin; r < end; ++r) {
        const int64_t bk = r / (S * G), s = (r % (S * G)) / G, b = bk / K;
        const float* pr = p + (r - begin) * S;
        float* dr = dp + (r - begin) * S;
        const int64_t lo = start[b * S + s];
        float dot = 0.f;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = lo; j <= s; ++j) dot += pr[j] * dr[j];
        std::fill(dr, dr + lo, 0.f);
#pragma omp simd
        for (int64_t j = lo; j <= s; ++j) dr[j] = pr[j] * (dr[j] - dot) * scale;
        std::fill(dr + s + 1, dr + S, 0.f);
    }
}

inline double crossEntropyRows(float* logits, const int64_t* targets, int64_t begin, int64_t end, int64_t vocab, bool grad) {
    double total = 0.0;
    for (int64_t r = begin; r < end; ++r) {
        float* x = logits + r * vocab;
        const int64_t t = targets[r];
        if (t < 0) {
            if (grad) std::fill(x, x + vocab, 0.f);
            continue;
        }
        float mx = x[0];
        for (int64_t i = 1; i < vocab; ++i) mx = std::max(mx, x[i]);
        const float target = x[t];
        float sum = 0.f;
        if (grad) {
            // Keep exp(x - max) in place, then scale it into the softmax.
#pragma omp simd reduction(+ : sum)
            for (int64_t i = 0; i < vocab; ++i) {
                x[i] = fastmath::exp(x[i] - mx);
                sum += x[i];
            }
            const float inv = 1.f / sum;
#pragma omp simd
            for (int64_t i = 0; i < vocab; ++i) x[i] *= inv;
            x[t] -= 1.f;
        } else {
#pragma omp simd reduction(+ : sum)
            for (int64_t i = 0; i < vocab; ++i) sum += fastmath::exp(x[i] - mx);
        }
        total += static_cast<double>(mx + std::log(sum) - target);
    }
    return total;
}

inline void adamwUpdate(float* w, float* m, float* v, const float* g, int64_t begin, int64_t end, AdamWScalars s) {
    const float b1 = s.beta1, b2 = s.beta2, c1 = 1.f - s.beta1, c2 = 1.f - s.beta2;
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
        const float grad = g[i] * s.gradScale;
        const float mi = m[i] * b1 + c1 * grad;
        const float vi = v[i] * b2 + c2 * (grad * grad);
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i] * s.decay + s.step * (mi / (std::sqrt(vi) / s.sqrtCorrection2 + s.eps));
    }
}

inline double sumOfSquares(const float* x, int64_t begin, int64_t end) {
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = begin; i < end; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    return sum;
}

inline KernelTable table(const char* isa) {
    return KernelTable{isa,
                       Flushed<rmsNormForward>::call,
                       Flushed<rmsNormBackward>::call,
                       Flushed<swigluForward>::call,
                       Flushed<swigluBackward>::call,
                       Flushed<weightedSwigluForward>::call,
                       Flushed<weightedSwigluBackward>::call,
                       Flushed<qkNormRopeForward>::call,
                       Flushed<qkNormRopeBackward>::call,
                       Flushed<maskedSoftmax>::call,
                       Flushed<softmaxBackward>::call,
                       Flushed<crossEntropyRows>::call,
                       Flushed<adamwUpdate>::call,
                       Flushed<sumOfSquares>::call};
}

}  // namespace hy3::kernels::HY3_KERNEL_NS
