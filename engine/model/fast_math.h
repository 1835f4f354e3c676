#pragma once
// Scalar math written so the compiler can vectorise the loops that call it (no libm calls, no
// branches): exp with the Cephes polynomial (about 1 ulp over the float range), and the sigmoid
// built on it. std::exp in a loop runs one element at a time and dominated the fused kernels.
// The engine compiles with -fno-trapping-math, without which GCC keeps the clamps as branches.
#include <cstdint>
#include <cstring>

namespace hy3::fastmath {

inline float exp(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    // n = round(x / ln 2): adding and subtracting 1.5 * 2^23 rounds to an integer without libm.
    const float fn = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
    const int32_t n = static_cast<int32_t>(fn);
    // r = x - n ln2 in two parts (Cody-Waite) for accuracy.
    const float r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t bits = (n + 127) << 23;  // 2^n
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

inline float sigmoid(float x) { return 1.f / (1.f + exp(-x)); }

}  // namespace hy3::fastmath
