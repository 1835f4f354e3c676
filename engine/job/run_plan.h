#pragma once
// Where a run goes and what it starts from, decided once by rank 0 (it reads the clock and the
// output folder): a new run directory under the output folder, or, for an exact resume, the
// checkpoint's own run directory. `--resume latest` finds the newest checkpoint of any run there.
#include <filesystem>
#include <optional>
#include <string>

namespace hy3 {

struct RunPlan {
    std::filesystem::path runDir;
    std::optional<std::filesystem::path> resumeFrom;  // the checkpoint folder to start from
    bool continueRun = false;                          // resuming inside the checkpoint's own run directory
};

// `runName` empty: the start time. `resume`: "", "latest" or a checkpoint folder. `weightsOnly`: a
// resume that starts a new run from the checkpoint's weights. Throws naming the flag.
RunPlan planRun(const std::filesystem::path& outputDir, const std::string& runName, const std::string& resume, bool weightsOnly);

}  // namespace hy3
