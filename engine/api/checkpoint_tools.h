#pragma once
// Engine facade for `hy3 checkpoint inspect|verify|export` and the GUI's checkpoint pages.
// No torch headers.
#include "checkpoint/verify.h"

#include <cstdint>
#include <string>

namespace hy3::api {

struct ExportRequest {
    std::string source;        // checkpoint folder, model directory (either layout) or checkpoints folder
    std::string destination;   // a new directory (must not exist, or be empty)
    std::string dtype = "bf16";  // bf16 or fp32
    std::string shardSize = "5GB";
};

struct ExportSummary {
    std::string destination;
    int64_t tensors = 0;
    int64_t shards = 0;
    uint64_t tensorBytes = 0;
    uint64_t modelBytesInMemory = 0;  // parameters and buffers as held while exporting
    uint64_t peakRssBytes = 0;        // of this process, at the end
};

ExportSummary exportCheckpoint(const ExportRequest& request);

// `hy3 checkpoint verify`: every problem of a checkpoint or model directory (checkpoint/verify.h).
using hy3::verifyCheckpoint;


}  // namespace hy3::api
