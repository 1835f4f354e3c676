#include "api/system_report.h"

namespace hy3::api {

SystemInfo systemInfo(bool measureMatmul) { return collectSystemInfo(measureMatmul); }

}  // namespace hy3::api
