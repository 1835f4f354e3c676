#include "util/format.h"

#include <cmath>
#include <cstdio>

namespace hy3 {

std::string groupDigits(int64_t value) {
    const bool negative = value < 0;
    std::string digits = std::to_string(negative ? -value : value);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return negative ? "-" + out : out;
}

std::string fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

std::string shortCount(double value) {
    const char* units[] = {"", "K", "M", "B", "T"};
    int unit = 0;
    while (std::fabs(value) >= 1000.0 && unit < 4) {
        value /= 1000.0;
        ++unit;
    }
    return unit == 0 ? fixed(value, 0) : fixed(value, 1) + units[unit];
}

std::string siUnits(double value, const std::string& unit) {
    const char* prefixes[] = {"", "K", "M", "G", "T", "P"};
    int prefix = 0;
    while (std::fabs(value) >= 1000.0 && prefix < 5) {
        value /= 1000.0;
        ++prefix;
    }
    return fixed(value, prefix == 0 ? 0 : 1) + " " + prefixes[prefix] + unit;
}

std::string plainNumber(double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.10g", value);
    return buffer;
}

std::string shortBytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (std::fabs(bytes) >= 1024.0 && unit < 4) {
        bytes /= 1024.0;
        ++unit;
    }
    return unit == 0 ? fixed(bytes, 0) + " B" : fixed(bytes, 1) + " " + units[unit];
}

std::string significant(double value, int digits) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    return text;
}

std::string shapeText(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

}  // namespace hy3
