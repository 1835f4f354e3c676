#pragma once
// Engine facade: `hy3 info` and the GUI's device list. No torch headers.
#include "runtime/system_info.h"

#include <string>

namespace hy3::api {

SystemInfo systemInfo();
std::string formatSystemInfo(const SystemInfo& info);
std::string systemInfoJson(const SystemInfo& info);

}  // namespace hy3::api
