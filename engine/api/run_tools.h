#pragma once
// Engine facade for the workbench's run pages: the runs under an output folder, reading a run
// store while it grows, and whether resuming from a checkpoint will be exact. No torch headers.
#include "config/project.h"
#include "store/run_store.h"
#include "store/run_events.h"  // summarizeLoad: the router imbalance figures

#include <string>
#include <vector>

namespace hy3::api {

struct RunSummary {
    std::string dir;              // the run directory (holds run.sqlite)
    std::string name;
    std::string state;            // running, finished, failed, stopped; "damaged" when the store cannot be read
    std::string problem;          // why a damaged run's store cannot be read (names the file), else empty
    double startedAt = 0;         // unix seconds
    int64_t steps = 0;            // last recorded step
    int64_t totalSteps = 0;
    double finalLoss = -1;        // -1: none yet
    double bestEvalLoss = -1;
    std::vector<double> lossSketch;  // the loss curve reduced to at most 60 points, for a sparkline
    std::string settingsJson;     // the resolved project the run started with
};

// Every run directory directly under `outputDir` (newest first). A run whose store cannot be read
// is listed as "damaged" with the reason; one being created (written in the last seconds) is not.
std::vector<RunSummary> listRuns(const std::string& outputDir);
RunSummary summarizeRun(const std::string& runDir);

struct ResumeCheck {
    bool exact = false;     // continues the run bit for bit
    std::string reason;     // why not, when it cannot (the resume would then be weights-only)
};
// Whether `hy3 train PROJECT --resume CHECKPOINT` continues exactly under the project as it is now.
ResumeCheck checkResume(const ProjectFile& project, const std::string& checkpoint);

// One MoE layer's router load at every recorded step of a run (`runId` 0: the newest run of the
// directory). Opens a connection of its own for the call, so any thread may ask.
std::vector<RouterLoadRecord> routerHistory(const std::string& runDir, int64_t runId, int layer);

// One expert's share of its layer's token slots and its bias at every recorded step.
struct ExpertHistory {
    int layer = 0, expert = 0;
    int experts = 0;  // the layer's expert count (0 when nothing was recorded)
    std::vector<double> steps, share, biasSteps, bias;
};
ExpertHistory expertHistory(const std::string& runDir, int64_t runId, int layer, int expert);

// The checkpoints of a run directory as its run store records them (every status), by step.
std::vector<CheckpointRecord> runCheckpoints(const std::string& runDir);
// The run directory and step of a checkpoint folder RUN/checkpoints/step-N (runDir empty when the
// folder is not laid out so).
struct CheckpointPlace {
    std::string runDir;
    int64_t step = -1;
};
CheckpointPlace placeOfCheckpoint(const std::string& checkpoint);
// Whether `path` lies inside the run directory (checkpoints of a copied or moved run resolve there;
// a record that names a folder elsewhere does not).
bool insideRun(const std::string& runDir, const std::string& path);
// Deletes a checkpoint of a run. Refused while the run is going if LATEST names it (the run may
// resume from it); otherwise LATEST moves to the newest checkpoint left.
void deleteCheckpoint(const std::string& runDir, const std::string& checkpoint, bool runGoing);

// A run's training loss and settings, for comparing runs; `error` says why a run could not be read.
struct RunCurve {
    std::string dir, name, settingsJson, error;
    std::vector<double> steps, loss;
};
std::vector<RunCurve> readRunCurves(const std::vector<std::string>& runDirs);

// The lines that differ between two runs' settings ("training.learning_rate: 0.003 vs 0.001").
std::vector<std::string> settingsDiff(const std::string& settingsA, const std::string& settingsB);

}  // namespace hy3::api
