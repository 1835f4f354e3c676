// libFuzzer harness: a damaged run.sqlite (the input is the whole file), read as the workbench and
// `hy3 runs` read a run: the runs list, the run's summary, its checkpoints and curves, and the
// follower's poll of everything in it. Damage must end in an hy3::Error naming the file.
#include "api/run_follower.h"
#include "api/run_tools.h"
#include "fuzz_support.h"
#include "util/error.h"
#include <cstdio>
namespace fs = std::filesystem;
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const fs::path output = hy3::fuzz::scratchDir() / "runs";
    const fs::path run = output / "run-1";
    std::error_code ec;
    fs::remove_all(run, ec);
    fs::create_directories(run);
    hy3::fuzz::writeFile(run / "run.sqlite", data, size);
    auto check = [](const hy3::Error& e) {
        if (std::string(e.what()).find("run.sqlite") != std::string::npos) return;
        std::fprintf(stderr, "error without the file's name: %s\n", e.what());
        __builtin_trap();
    };
    try {
        (void)hy3::api::listRuns(output.string());
    } catch (const hy3::Error& e) {
        check(e);
    }
    try {
        (void)hy3::api::summarizeRun(run.string());
        (void)hy3::api::runCheckpoints(run.string());
        (void)hy3::api::readRunCurves({run.string()});
    } catch (const hy3::Error& e) {
        check(e);
    }
    try {
        hy3::api::RunStoreReader reader(run.string());
        hy3::api::RunFollower follower;
        (void)reader.poll(follower);
        (void)hy3::api::routerHistory(run.string(), reader.runId(), 0);
        (void)hy3::api::expertHistory(run.string(), reader.runId(), 0, 0);
    } catch (const hy3::Error& e) {
        check(e);
    }
    return 0;
}
