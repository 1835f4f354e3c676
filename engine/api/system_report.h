#pragma once
// Engine facade: `hy3 info` and the GUI's device list. No torch headers.
#include "runtime/system_info.h"

#include <string>

namespace hy3::api {

// `measureMatmul`: see collectSystemInfo (only a process doing nothing else with LibTorch).
SystemInfo systemInfo(bool measureMatmul = true);

}  // namespace hy3::api
