// A test program for the crash-safety test: saves checkpoints of a model in a loop, exactly as the
// trainer does (CheckpointDirectory + exportModel + the run store), printing "saved <step>" after
// each. The test kills it with SIGKILL at random moments and checks what is left on disk. With
// KILL_AT it kills itself in its second save at a known point instead, so some kills land mid-save
// whatever the machine's speed: before-export, after-export (the model shards written, no train
// state) or after-state (all files written, not yet renamed into place).
//   checkpoint_saver OUTPUT_DIR PRESET [STEPS [KILL_AT]]
#include "checkpoint/checkpoint_dir.h"
#include "checkpoint/model_export.h"
#include "checkpoint/model_loader.h"
#include "store/run_store.h"
#include "util/atomic_file.h"

#include <csignal>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: checkpoint_saver OUTPUT_DIR PRESET [STEPS [KILL_AT]]\n";
        return 2;
    }
    const std::filesystem::path output = argv[1];
    const int steps = argc > 3 ? std::atoi(argv[3]) : 1000000;
    const std::string killAt = argc > 4 ? argv[4] : "";
    std::filesystem::create_directories(output);
    hy3::RunStore store = hy3::RunStore::open(output / "run.sqlite", hy3::RunStore::Mode::ReadWrite);
    const auto runs = store.runs();
    const int64_t run = runs.empty() ? store.createRun("saver", "{}", 0) : runs.front().id;
    hy3::CheckpointDirectory checkpoints(output / "checkpoints", &store, run);
    for (const std::string& name : checkpoints.cleanLeftovers()) std::cout << "cleaned " << name << std::endl;

    hy3::Hy3Model model = hy3::openModel(argv[2], {}, 1);
    const auto latest = checkpoints.latest();
    int64_t step = latest ? checkpoints.list().back().step : 0;
    for (int i = 0; i < steps; ++i) {
        ++step;
        {
            torch::NoGradGuard noGrad;
            for (auto& p : model->parameters()) p.add_(1e-3);  // every checkpoint differs
        }
        nlohmann::json meta = {{"metrics", {{"loss", 1.0 / step}, {"eval_loss", 2.0 / step}}}, {"source_model", argv[2]}};
        auto killIfAt = [&](const char* point) {
            if (i == 1 && killAt == point) std::raise(SIGKILL);
        };
        checkpoints.save(step, meta, [&](const std::filesystem::path& dir) {
            killIfAt("before-export");
            std::filesystem::create_directories(dir / "model");
            std::filesystem::create_directories(dir / "train_state");
            hy3::ExportOptions options;
            options.dtype = torch::kFloat;
            options.shardBytes = 2'000'000;  // several shards, so a kill can land between them
            std::map<std::string, std::string> hashes;
            for (const auto& [file, sha] : hy3::exportModel(*model, dir / "model", options).sha256) hashes["model/" + file] = sha;
            killIfAt("after-export");
            hy3::writeFileAtomic(dir / "train_state" / "state.json", nlohmann::json{{"step", step}}.dump());
            killIfAt("after-state");
            return hashes;
        });
        checkpoints.applyRetention(2, 1);
        std::cout << "saved " << step << std::endl;
    }
    return 0;
}
