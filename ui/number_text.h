#pragma once
// Counts as the pages show them: digits in groups of three ("1,425,792"), the engine's formatting.
#include "api/common.h"

#include <QString>

#include <cstdint>

namespace hy3::ui {

inline QString groupedNumber(int64_t n) { return QString::fromStdString(groupDigits(n)); }

}  // namespace hy3::ui
