#pragma once
// Small statistics of measured figures.
#include <algorithm>
#include <vector>

namespace hy3 {

// The middle value (the upper one of the two for an even count). `values` must not be empty.
inline double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}  // namespace hy3
