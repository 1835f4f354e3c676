#include "job/run_plan.h"

#include "checkpoint/checkpoint_dir.h"
#include "checkpoint/verify.h"
#include "store/run_layout.h"
#include "util/error.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace hy3 {
namespace fs = std::filesystem;
namespace {

std::string timestampName() {
    const std::time_t t = std::time(nullptr);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", std::localtime(&t));
    return text;
}

fs::path uniqueRunDir(const fs::path& output, const std::string& name) {
    std::error_code ec;
    fs::path dir = output / name;
    for (int n = 2; fs::exists(dir, ec); ++n) dir = output / (name + "-" + std::to_string(n));
    return dir;
}

// The checkpoint LATEST names in the run under `output` whose LATEST was written last.
std::optional<fs::path> newestCheckpointUnder(const fs::path& output) {
    std::optional<fs::path> best;
    fs::file_time_type bestTime{};
    std::error_code ec;
    if (!fs::is_directory(output, ec)) return best;
    for (const auto& run : fs::directory_iterator(output, ec)) {
        const RunLayout layout{run.path()};
        const fs::path latest = layout.checkpoints() / RunLayout::kLatest;
        if (!fs::is_regular_file(latest, ec)) continue;
        const auto when = fs::last_write_time(latest, ec);
        if (ec) continue;
        if (!best || when > bestTime) {
            const auto path = CheckpointDirectory(layout.checkpoints()).latest();
            if (path) best = *path, bestTime = when;
        }
    }
    return best;
}

}  // namespace

// The output folder must be one this process can write, found out before any work (preparing the
// data and loading the model can take minutes before the first write would fail).
void checkWritableOutput(const fs::path& output) {
    std::error_code ec;
    fs::create_directories(output, ec);
    if (ec) fail("output_dir", output.string() + ": cannot create it: " + ec.message());
    const fs::path probe = output / (".write-check-" + std::to_string(::getpid()));
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail("output_dir", output.string() + ": cannot write into it: " + std::strerror(errno));
    ::close(fd);
    fs::remove(probe, ec);
}

RunPlan planRun(const fs::path& output, const std::string& runName, const std::string& resume, bool weightsOnly) {
    checkWritableOutput(output);
    RunPlan plan;
    auto newRun = [&] { return uniqueRunDir(output, runName.empty() ? timestampName() : runName); };
    if (resume.empty()) {
        plan.runDir = newRun();
        return plan;
    }
    fs::path checkpoint;
    if (resume == "latest") {
        const auto latest = newestCheckpointUnder(output);
        if (!latest) fail("--resume latest", "no run under " + output.string() + " has a checkpoint (start without --resume)");
        checkpoint = *latest;
    } else if (const auto adapter = loraCheckpointAdapter(fs::absolute(resume))) {
        // A LoRA checkpoint holds its adapter, not a model (locateCheckpoint finds models); it
        // resumes like any other.
        checkpoint = fs::canonical(adapter->parent_path());
    } else {
        const CheckpointLocation where = locateCheckpoint(fs::absolute(resume));
        if (!where.checkpointDir) fail(resume, "is a model directory, not a checkpoint; to start from its weights set model.path to it");
        checkpoint = fs::canonical(*where.checkpointDir);
    }
    plan.resumeFrom = checkpoint;
    // Continue in the checkpoint's own run directory, unless this is a weights-only start, which
    // is a new run.
    const auto ownRun = RunLayout::ofCheckpoint(checkpoint);
    plan.continueRun = !weightsOnly && ownRun.has_value();
    plan.runDir = plan.continueRun ? ownRun->root : newRun();
    return plan;
}

}  // namespace hy3
