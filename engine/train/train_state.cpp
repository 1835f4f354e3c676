#include "train/train_state.h"

#include "checkpoint/tensor_io.h"
#include "store/run_layout.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_fields.h"
#include "util/sha256.h"

#include "runtime/device.h"

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

namespace hy3 {
namespace fs = std::filesystem;
using json = nlohmann::json;

std::string optimizerFileName(int rank, int ranks) {
    char name[64];
    std::snprintf(name, sizeof name, "optimizer-rank%05d-of-%05d.safetensors", rank, ranks);
    return name;
}

std::map<std::string, std::string> saveTrainState(const fs::path& dir, const TrainState& s,
                                                  const std::vector<std::pair<std::string, torch::Tensor>>& optimizer, int rank,
                                                  int ranks) {
    std::vector<std::pair<std::string, torch::Tensor>> tensors = optimizer;
    tensors.emplace_back("rng.cpu", at::detail::getDefaultCPUGenerator().get_state());
    if (const torch::Tensor cuda = currentCudaRngState(); cuda.defined()) tensors.emplace_back("rng.cuda", cuda);
    writeSafetensors(dir / optimizerFileName(rank, ranks), tensors);
    const json doc = {{"step", s.step},
                      {"optimizer_steps", s.optimizerSteps},
                      {"tokens_seen", s.tokensSeen},
                      {"data_cursor", {{"epoch", s.epoch}, {"row", s.rowInEpoch}}},
                      {"bad_streak", s.badStreak},
                      {"best_eval_loss", s.bestEvalLoss},
                      {"fingerprint", s.fingerprint},
                      {"ranks", ranks},
                      {"format", 1}};
    const std::string text = doc.dump(2) + "\n";
    if (rank == 0) writeFileAtomic(dir / CheckpointLayout::kTrainStateFile, text);
    std::map<std::string, std::string> hashes;
    hashes["train_state/" + optimizerFileName(rank, ranks)] = sha256OfFile(dir / optimizerFileName(rank, ranks));
    if (rank == 0) {
        Sha256 h;
        h.update(text.data(), text.size());
        hashes["train_state/" + std::string(CheckpointLayout::kTrainStateFile)] = h.hex();
    }
    return hashes;
}

TrainState loadTrainState(const fs::path& dir, std::map<std::string, torch::Tensor>& optimizer, int rank, int ranks) {
    std::error_code ec;
    const fs::path stateFile = dir / CheckpointLayout::kTrainStateFile;
    if (!fs::exists(stateFile, ec)) fail(dir.string(), "no train_state.json (a weights-only checkpoint)");
    const json doc = readJsonFile(stateFile);
    TrainState s;
    s.step = doc.value("step", int64_t(0));
    s.optimizerSteps = doc.value("optimizer_steps", int64_t(0));
    s.tokensSeen = doc.value("tokens_seen", int64_t(0));
    s.epoch = doc["data_cursor"].value("epoch", int64_t(0));
    s.rowInEpoch = doc["data_cursor"].value("row", int64_t(0));
    s.badStreak = doc.value("bad_streak", int64_t(0));
    s.bestEvalLoss = doc.value("best_eval_loss", -1.0);
    s.fingerprint = doc.value("fingerprint", json::object());
    const int savedRanks = doc.value("ranks", 1);
    if (savedRanks != ranks)
        fail(stateFile.string(), "was saved by " + std::to_string(savedRanks) + " ranks; this run has " + std::to_string(ranks));
    const fs::path file = dir / optimizerFileName(rank, ranks);
    if (!fs::exists(file, ec)) fail(file.string(), "optimizer state missing");
    for (auto& [name, t] : readSafetensors(file)) {
        if (name == "rng.cpu") {
            at::Generator generator = at::detail::getDefaultCPUGenerator();
            std::lock_guard<std::mutex> lock(generator.mutex());
            generator.set_state(t);
        } else if (name == "rng.cuda") {
            setCurrentCudaRngState(t);
        } else {
            optimizer[name] = t;
        }
    }
    return s;
}

}  // namespace hy3
