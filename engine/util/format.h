#pragma once
// Number formatting shared by the CLI and the GUI so both print figures the same way.
#include <cstdint>
#include <string>
#include <vector>

namespace hy3 {

std::string groupDigits(int64_t value);          // 295033528320 -> "295,033,528,320"
std::string shortCount(double value);            // 295033528320 -> "295.0B", 20.7e9 -> "20.7B", 156352 -> "156.4K"
std::string shortBytes(double bytes);            // 1536 -> "1.5 KiB", 8.6e10 -> "80.0 GiB"
std::string fixed(double value, int decimals);   // printf("%.*f")
std::string siUnits(double value, const std::string& unit);  // 1.368e11, "FLOP" -> "136.8 GFLOP"
std::string plainNumber(double value);           // shortest exact-looking form: 11158840, 0.5, 1e-05
std::string significant(double value, int digits);  // printf("%.*g"): 0.0009992, 3 -> "0.000999"
std::string shapeText(const std::vector<int64_t>& shape);  // {4, 128} -> "[4, 128]"

}  // namespace hy3
