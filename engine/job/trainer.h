#pragma once
// The SFT loop that `hy3 train`, the workbench and cluster nodes run: reads the project, prepares
// or reuses the token cache, builds or loads the model, trains (AdamW, schedule, accumulation,
// clipping, global-batch loss normalisation), evaluates, checkpoints with retention, and exports
// the final model. Resumes exactly from a checkpoint; stops cleanly on SIGINT/SIGTERM.
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace hy3 {

struct TrainRequest {
    std::string project;                    // project file
    std::vector<std::string> overrides;     // --set KEY=VALUE
    int64_t maxSteps = -1;                  // --max-steps (else the project's)
    int64_t stopAfter = -1;                 // --stop-after: end after this step with a checkpoint, resumable
    std::string output;                     // --output (else the project's output_dir)
    std::string resume;                     // "", "latest" or a checkpoint folder
    bool weightsOnly = false;               // accept a resume that is not exact: weights only, fresh optimizer
    bool eventsJsonl = false;               // one JSON object per line on stdout
    std::string runName;                    // default: the start time
    int threads = 0;                        // 0: LibTorch's default
    std::vector<int64_t> injectNanAt;       // fault injection for tests: the loss of these steps is NaN
    std::string saveBatches;                // --save-batches DIR: every micro-batch as it was trained (to check against other code)
};

struct TrainOutcome {
    int exitCode = 0;                       // 0 finished or stopped, 1 failed
    std::string status;                     // finished, stopped, failed
    std::filesystem::path runDir;
    std::filesystem::path lastCheckpoint;
    int64_t step = 0;
    double lastLoss = 0, lastEvalLoss = -1;
};

// Runs a training job. Events go to `events` (stdout), human output to `human` (stderr).
TrainOutcome runTraining(const TrainRequest& request, std::ostream& events, std::ostream& human);

}  // namespace hy3
