#include "train/trainer.h"

#include "checkpoint/checkpoint_dir.h"
#include "checkpoint/model_export.h"
#include "checkpoint/model_loader.h"
#include "checkpoint/verify.h"
#include "config/model_cost.h"
#include "config/project.h"
#include "data/project_data.h"
#include "runtime/process_setup.h"
#include "runtime/system_info.h"
#include "train/parameters.h"
#include "train/reporter.h"
#include "train/schedule.h"
#include "train/step.h"
#include "train/train_state.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/format.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <ctime>
#include <optional>
#include <ostream>
#include <unistd.h>

namespace hy3 {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::atomic<bool> gStop{false};
std::atomic<int> gSignals{0};

extern "C" void onStopSignal(int) {
    // The first signal asks for a clean stop; a second one (an impatient Ctrl-C) ends the process
    // at once. Checkpoint saves are crash-safe, so that loses at most the unsaved steps.
    if (gSignals.fetch_add(1) >= 1) _exit(130);
    gStop = true;
}

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

// The run under `output` whose LATEST was written last.
std::optional<fs::path> newestCheckpointUnder(const fs::path& output) {
    std::optional<fs::path> best;
    fs::file_time_type bestTime{};
    std::error_code ec;
    if (!fs::is_directory(output, ec)) return best;
    for (const auto& run : fs::directory_iterator(output, ec)) {
        const fs::path latest = run.path() / "checkpoints" / "LATEST";
        if (!fs::is_regular_file(latest, ec)) continue;
        const auto when = fs::last_write_time(latest, ec);
        if (ec) continue;
        if (!best || when > bestTime) {
            const auto path = CheckpointDirectory(run.path() / "checkpoints").latest();
            if (path) best = *path, bestTime = when;
        }
    }
    return best;
}

torch::Dtype dtypeOf(const std::string& name) { return name == "bf16" ? torch::kBFloat16 : torch::kFloat; }

// What must be equal for a resume to continue the same run exactly.
json runFingerprint(const Project& p, const ModelConfig& c, const std::string& dataKey) {
    return {{"model",
             {{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size}, {"num_hidden_layers", c.num_hidden_layers},
              {"num_attention_heads", c.num_attention_heads}, {"num_key_value_heads", c.num_key_value_heads},
              {"head_dim", c.head_dim}, {"intermediate_size", c.intermediate_size}, {"num_experts", c.num_experts},
              {"num_experts_per_tok", c.num_experts_per_tok}, {"moe_intermediate_size", c.moe_intermediate_size}}},
            {"data", dataKey},
            {"seq_len", p.training.seq_len},
            {"packing", p.training.packing},
            {"global_batch", p.training.global_batch},
            {"seed", p.training.seed},
            {"dtype", p.training.dtype},
            {"layout", {{"pp", p.layout.pp}, {"dp", p.layout.dp}, {"ep", p.layout.ep}}}};
}

std::vector<std::string> fingerprintDifferences(const json& saved, const json& now) {
    std::vector<std::string> out;
    for (const auto& [key, value] : now.items()) {
        if (!saved.contains(key)) out.push_back(key + " (not recorded in the checkpoint)");
        else if (saved[key] != value) out.push_back(key + " (" + saved[key].dump() + " in the checkpoint, " + value.dump() + " now)");
    }
    return out;
}

// The run's final model: the last checkpoint's model/ folder, hard-linked (no second copy on disk)
// into RUN/model, or copied where links are not possible. Built under a temporary name, then renamed.
fs::path linkFinalModel(const fs::path& checkpoint, const fs::path& runDir) {
    const fs::path target = runDir / "model", temp = runDir / ".tmp-model";
    std::error_code ec;
    fs::remove_all(temp, ec);
    fs::create_directories(temp);
    for (const auto& entry : fs::directory_iterator(checkpoint / "model")) {
        if (!entry.is_regular_file()) continue;
        fs::create_hard_link(entry.path(), temp / entry.path().filename(), ec);
        if (ec) copyFileDurably(entry.path(), temp / entry.path().filename());
    }
    syncDirectory(temp);
    fs::remove_all(target, ec);
    fs::rename(temp, target);
    syncDirectory(runDir);
    return target;
}

class Trainer {
public:
    Trainer(const TrainRequest& request, std::ostream& events, std::ostream& human)
        : request_(request), events_(events), human_(human) {}

    TrainOutcome run();

private:
    void loadSettings();
    void chooseRunDirectory();
    void prepareData();
    void buildModel();
    void restore();
    void openRunRecord();
    // Trains until the last step or a stop; returns why the run failed, or "" when it did not.
    std::string loop();
    void evaluateNow();
    void saveCheckpoint();
    void finish(const std::string& status, const std::string& message);
    json checkpointMeta() const;
    std::string resumeHint() const;

    TrainRequest request_;
    std::ostream& events_;
    std::ostream& human_;

    std::optional<ProjectFile> projectFile_;
    Project project_;
    fs::path runDir_;
    std::optional<fs::path> resumeFrom_;  // checkpoint folder to continue from
    bool continueRun_ = false;            // resuming inside the checkpoint's own run directory
    bool weightsOnlyStart_ = false;

    PrepareResult data_;
    std::optional<TokenCache> cache_;
    std::unique_ptr<TrainData> train_;
    std::vector<MicroBatch> validation_;
    Hy3Model model_{nullptr};
    std::unique_ptr<AdamW> optimizer_;
    std::vector<ParameterGroupRow> parameterMap_;
    LrSchedule schedule_;
    TrainState state_;
    json fingerprint_;
    double peakFlops_ = 0;

    std::optional<RunStore> store_;
    int64_t runId_ = 0;
    std::unique_ptr<RunReporter> reporter_;
    std::unique_ptr<CheckpointDirectory> checkpoints_;

    double lastLoss_ = 0, lastLr_ = 0;
    int64_t lastEvalStep_ = -1, lastSavedStep_ = -1;
    double lastEvalLoss_ = -1;
    fs::path lastCheckpoint_;
};

void Trainer::loadSettings() {
    std::vector<std::string> overrides = request_.overrides;
    if (request_.maxSteps >= 0) overrides.push_back("training.max_steps=" + std::to_string(request_.maxSteps));
    if (!request_.output.empty()) overrides.push_back("output_dir=" + json(fs::absolute(request_.output).string()).dump());
    ProjectFile file = ProjectFile::load(request_.project);
    for (const std::string& o : overrides) file.applyOverride(o);
    project_ = file.resolve();
    projectFile_ = std::move(file);
    if (project_.layout.worldSize() != 1)
        fail("layout", "pp x dp is " + std::to_string(project_.layout.worldSize()) +
                           "; `hy3 train` runs one process (set layout.pp and layout.dp to 1)");
    if (project_.datasets.empty()) fail("datasets", "the project has no datasets to train on");
    if (request_.threads > 0) at::set_num_threads(request_.threads);
}

void Trainer::chooseRunDirectory() {
    const fs::path output = project_.output_dir;
    if (request_.resume.empty()) {
        runDir_ = uniqueRunDir(output, request_.runName.empty() ? timestampName() : request_.runName);
        return;
    }
    if (request_.resume == "latest") {
        resumeFrom_ = newestCheckpointUnder(output);
        if (!resumeFrom_) fail("--resume latest", "no run under " + output.string() + " has a checkpoint (start without --resume)");
    } else {
        const CheckpointLocation where = locateCheckpoint(fs::absolute(request_.resume));
        if (!where.checkpointDir)
            fail(request_.resume, "is a model directory, not a checkpoint; to start from its weights set model.path to it");
        resumeFrom_ = fs::canonical(*where.checkpointDir);
    }
    // Continue in the checkpoint's own run directory (RUN/checkpoints/step-N), unless this is a
    // weights-only start, which is a new run.
    const fs::path checkpointsDir = resumeFrom_->parent_path();
    if (!request_.weightsOnly && checkpointsDir.filename() == "checkpoints") {
        runDir_ = checkpointsDir.parent_path();
        continueRun_ = true;
    } else {
        runDir_ = uniqueRunDir(output, request_.runName.empty() ? timestampName() : request_.runName);
    }
}

void Trainer::prepareData() {
    const DataConfig config = dataConfigFor(project_);
    human_ << "data: " << (fs::exists(dataCacheRoot(project_) / dataCacheKey(config) / "manifest.json") ? "reusing" : "preparing")
           << " the token cache" << std::endl;
    data_ = hy3::prepareData(config, dataCacheRoot(project_), {}, request_.threads);
    cache_ = TokenCache::open(data_.cacheDir);
    const ModelConfig& c = model_->config();
    const int32_t pad = static_cast<int32_t>(c.pad_token_id >= 0 ? c.pad_token_id : std::max<int64_t>(c.eos_token_id, 0));
    const uint64_t seed = static_cast<uint64_t>(project_.training.seed);
    train_ = std::make_unique<TrainData>(cache_->train(), project_.training.seq_len, project_.training.packing, seed, pad);
    validation_ = allRows(cache_->validation(), project_.training.seq_len, project_.training.packing, seed, pad,
                          project_.training.micro_batch);
    const DataStats& s = data_.stats;
    human_ << "data: " << groupDigits(s.train.documents) << " training documents, " << groupDigits(s.train.tokens) << " tokens ("
           << groupDigits(s.train.lossTokens) << " in the loss), " << groupDigits(train_->rowsPerEpoch()) << " rows of "
           << project_.training.seq_len << " per epoch; " << groupDigits(s.validation.documents) << " validation documents" << std::endl;
}

void Trainer::buildModel() {
    const TrainingSettings& t = project_.training;
    ModelOptions options;
    options.dtype = dtypeOf(t.dtype);
    options.activationCheckpointing = t.activation_checkpointing;
    options.auxLossCoef = t.aux_loss_coef;
    const uint64_t seed = static_cast<uint64_t>(t.seed);
    // Same seed, same initial weights, whatever ran before in this process.
    torch::manual_seed(seed);
    if (resumeFrom_) model_ = openModel((*resumeFrom_ / "model").string(), options, seed);
    else if (project_.model.isPreset()) model_ = openModel(project_.model.preset, options, seed);
    else model_ = openModel(project_.model.directory.string(), options, seed);

    auto trainable = applyFreeze(*model_, t.freeze, &parameterMap_);
    if (trainable.empty()) fail("training.freeze", "every parameter is frozen; nothing would train");
    optimizer_ = std::make_unique<AdamW>(std::move(trainable), AdamWOptions{t.adam_beta1, t.adam_beta2, t.adam_eps, t.weight_decay});
}

void Trainer::restore() {
    fingerprint_ = runFingerprint(project_, model_->config(), dataCacheKey(dataConfigFor(project_)));
    if (!resumeFrom_) return;
    const fs::path stateDir = *resumeFrom_ / "train_state";
    if (request_.weightsOnly) {
        weightsOnlyStart_ = true;
        return;
    }
    std::map<std::string, torch::Tensor> optimizerState;
    TrainState saved;
    try {
        saved = loadTrainState(stateDir, optimizerState);
    } catch (const Error& e) {
        fail("--resume " + resumeFrom_->string(),
             std::string("cannot continue exactly: ") + e.what() + ". Add --weights-only to start a new run from its weights");
    }
    const auto differences = fingerprintDifferences(saved.fingerprint, fingerprint_);
    if (!differences.empty()) {
        std::string list;
        for (const std::string& d : differences) list += (list.empty() ? "" : "; ") + d;
        fail("--resume " + resumeFrom_->string(), "cannot continue exactly, the run changed: " + list +
                                                      ". Add --weights-only to start a new run from its weights");
    }
    optimizer_->load(optimizerState, saved.optimizerSteps);
    state_ = saved;
    train_->seek({saved.epoch, saved.rowInEpoch});
    lastSavedStep_ = saved.step;
    lastCheckpoint_ = *resumeFrom_;
}

void Trainer::openRunRecord() {
    fs::create_directories(runDir_);
    store_ = RunStore::open(runDir_ / "run.sqlite", RunStore::Mode::ReadWrite);
    const std::string settings = projectFile_->document().dump();
    const std::vector<RunRecord> runs = store_->runs();
    if (continueRun_ && !runs.empty()) {
        runId_ = runs.back().id;
        store_->setRunState(runId_, "running");
        store_->setRunTotalSteps(runId_, schedule_.totalSteps);
    } else {
        runId_ = store_->createRun(runDir_.filename().string(), settings, schedule_.totalSteps);
    }
    store_->setDataStats(runId_, data_.stats.toJson().dump());
    reporter_ = std::make_unique<RunReporter>(&*store_, runId_, request_.eventsJsonl, events_, human_, runDir_ / "logs" / "rank00000.log");
    checkpoints_ = std::make_unique<CheckpointDirectory>(runDir_ / "checkpoints", &*store_, runId_);
    for (const std::string& removed : checkpoints_->cleanLeftovers()) reporter_->log(state_.step, "removed an interrupted save: " + removed);
}

json Trainer::checkpointMeta() const {
    json metrics = {{"loss", lastLoss_}, {"lr", lastLr_}, {"tokens_seen", state_.tokensSeen}};
    if (lastEvalStep_ == state_.step) metrics["eval_loss"] = lastEvalLoss_;
    return {{"metrics", metrics},
            {"source", project_.model.isPreset() ? "preset:" + project_.model.preset : project_.model.directory.string()},
            {"project", fs::absolute(request_.project).string()},
            {"run", runDir_.filename().string()},
            {"dtype", project_.training.dtype},
            {"layout", fingerprint_["layout"]},
            {"data", fingerprint_["data"]}};
}

void Trainer::saveCheckpoint() {
    const fs::path tokenizerDir = tokenizerDirFor(project_);
    state_.epoch = train_->cursor().epoch;
    state_.rowInEpoch = train_->cursor().row;
    state_.optimizerSteps = optimizer_->stepCount();
    state_.fingerprint = fingerprint_;
    const auto writer = [&](const fs::path& dir) {
        fs::create_directories(dir / "model");
        ExportOptions options;
        options.dtype = model_->options().dtype;  // the training dtype: a resume loads the same bits
        options.filesFrom = tokenizerDir;
        std::map<std::string, std::string> hashes;
        for (const auto& [file, hash] : exportModel(*model_, dir / "model", options).sha256) hashes["model/" + file] = hash;
        fs::create_directories(dir / "train_state");
        for (const auto& [file, hash] : saveTrainState(dir / "train_state", state_, optimizer_->state())) hashes[file] = hash;
        return hashes;
    };
    lastCheckpoint_ = checkpoints_->save(state_.step, checkpointMeta(), writer);
    lastSavedStep_ = state_.step;
    reporter_->checkpoint(state_.step, lastCheckpoint_.string(), checkpointMeta()["metrics"]);
    for (const fs::path& removed : checkpoints_->applyRetention(project_.training.keep_last, project_.training.keep_best))
        reporter_->log(state_.step, "retention: removed " + removed.filename().string());
}

void Trainer::evaluateNow() {
    if (validation_.empty()) return;
    const EvalResult r = evaluate(*model_, validation_);
    lastEvalLoss_ = r.loss;
    lastEvalStep_ = state_.step;
    if (state_.bestEvalLoss < 0 || r.loss < state_.bestEvalLoss) state_.bestEvalLoss = r.loss;
    reporter_->eval(state_.step, r.loss, r.labelTokens);
}

std::string Trainer::resumeHint() const {
    std::string hint = "hy3 train " + request_.project;
    if (!request_.output.empty()) hint += " --output " + request_.output;
    for (const std::string& o : request_.overrides) hint += " --set " + o;
    return hint + " --resume " + lastCheckpoint_.string();
}

void Trainer::finish(const std::string& status, const std::string& message) {
    store_->setRunState(runId_, status);
    reporter_->end(state_.step, status, message);
}

std::string Trainer::loop() {
    const TrainingSettings& t = project_.training;
    const ModelConfig& c = model_->config();
    const std::vector<int64_t> moeLayers = model_->moeLayers();
    while (state_.step < schedule_.totalSteps) {
        if (stopRequested()) break;
        const int64_t step = state_.step + 1;
        StepSettings settings;
        settings.lr = schedule_.at(step);
        settings.gradClip = t.grad_clip;
        settings.expertBiasUpdate = t.expert_bias_update;
        settings.injectNan = std::find(request_.injectNanAt.begin(), request_.injectNanAt.end(), step) != request_.injectNanAt.end();
        const std::vector<MicroBatch> batches = train_->nextGlobalBatch(t.global_batch, t.micro_batch);
        const StepResult r = trainStep(*model_, *optimizer_, batches, settings);
        state_.step = step;
        state_.tokensSeen += r.realTokens;
        lastLr_ = settings.lr;

        StepMetrics m;
        m.step = step;
        m.totalSteps = schedule_.totalSteps;
        m.loss = r.loss;
        m.lr = settings.lr;
        m.gradNorm = r.gradNorm;
        m.stepSeconds = r.seconds;
        m.tokens = r.realTokens;
        m.labelTokens = r.labelTokens;
        m.tokensPerSecond = static_cast<double>(r.realTokens) / r.seconds;
        m.mfu = modelFlopsUtilization(c, t.seq_len, r.tokens, r.seconds, peakFlops_);
        m.rssBytes = peakRssBytes();
        m.skipped = r.skipped;
        m.skipReason = r.skipReason;
        store_->transaction([&] {
            if (!r.skipped)
                for (size_t i = 0; i < moeLayers.size() && i < r.load.size(); ++i) {
                    const torch::Tensor bias = model_->tensor("layers." + std::to_string(moeLayers[i]) + ".expert_bias");
                    std::vector<float> b;
                    if (bias.defined()) {
                        const torch::Tensor f = bias.to(torch::kFloat).contiguous();
                        b.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
                    }
                    reporter_->router(step, moeLayers[i], r.load[i], b);
                }
            reporter_->step(m);
        });

        if (r.skipped) {
            ++state_.badStreak;
            if (state_.badStreak >= t.max_bad_steps) {
                // Skipped steps changed nothing, so this saves the last good state.
                saveCheckpoint();
                const std::string message = std::to_string(state_.badStreak) + " steps in a row had a " + r.skipReason +
                                            " (training.max_bad_steps is " + std::to_string(t.max_bad_steps) +
                                            "); stopped with the last good state in " + lastCheckpoint_.string() +
                                            ". Lower training.learning_rate or check the data, then resume with: " + resumeHint();
                return message;
            }
        } else {
            state_.badStreak = 0;
            lastLoss_ = r.loss;
        }
        const bool last = step == schedule_.totalSteps;
        if ((t.eval_every > 0 && step % t.eval_every == 0) || last) evaluateNow();
        if ((t.checkpoint_every > 0 && step % t.checkpoint_every == 0) || last) saveCheckpoint();
        if (step == request_.stopAfter) requestStop();
    }
    return "";
}

TrainOutcome Trainer::run() {
    loadSettings();
    chooseRunDirectory();
    buildModel();
    prepareData();
    restore();

    const TrainingSettings& t = project_.training;
    schedule_.kind = t.lr_schedule;
    schedule_.peak = t.learning_rate;
    schedule_.minimum = t.min_lr;
    schedule_.warmupSteps = t.warmup_steps;
    schedule_.totalSteps = t.max_steps > 0 ? t.max_steps : std::max<int64_t>(1, t.epochs * train_->rowsPerEpoch() / t.global_batch);
    openRunRecord();

    peakFlops_ = measureMatmulGflops(2048, at::get_num_threads(), 3) * 1e9;
    const ModelConfig& c = model_->config();
    int64_t trainable = 0, total = 0;
    for (const auto& row : parameterMap_) total += row.parameters, trainable += row.trains ? row.parameters : 0;
    reporter_->log(state_.step, "run " + runDir_.string());
    if (resumeFrom_)
        reporter_->log(state_.step, weightsOnlyStart_ ? "weights-only start from " + resumeFrom_->string() +
                                                            ": fresh optimizer state, schedule and data order from step 0"
                                                      : "resuming exactly from " + resumeFrom_->string() + " at step " +
                                                            std::to_string(state_.step));
    std::string map = formatParameterMap(parameterMap_);
    map.pop_back();  // the log line ends it
    reporter_->log(state_.step, "what trains:\n" + map);
    if (validation_.empty()) reporter_->log(state_.step, "no validation rows (data.validation_fraction is 0 and no validation dataset): no eval");
    reporter_->start(state_.step, {{"run_dir", runDir_.string()},
                                   {"total_steps", schedule_.totalSteps},
                                   {"parameters", total},
                                   {"trainable_parameters", trainable},
                                   {"training_flops_per_token", trainingFlopsPerToken(c, t.seq_len)},
                                   {"peak_flops_per_s", peakFlops_},
                                   {"rows_per_epoch", train_->rowsPerEpoch()},
                                   {"threads", at::get_num_threads()},
                                   {"resumed_from", resumeFrom_ && !weightsOnlyStart_ ? resumeFrom_->string() : ""}});

    TrainOutcome outcome;
    outcome.runDir = runDir_;
    try {
        const std::string failure = loop();
        if (!failure.empty()) {
            reporter_->error(state_.step, failure);
            finish("failed", "failed at step " + std::to_string(state_.step));
            outcome.status = "failed";
            outcome.exitCode = 1;
        } else if (state_.step >= schedule_.totalSteps) {
            if (lastSavedStep_ != state_.step) saveCheckpoint();
            const fs::path finalModel = linkFinalModel(lastCheckpoint_, runDir_);
            finish("finished", "finished " + std::to_string(state_.step) + " steps; final model " + finalModel.string());
            outcome.status = "finished";
        } else if (lastCheckpoint_.empty() && state_.step == 0) {
            finish("stopped", "stopped before the first step; nothing to save");
            outcome.status = "stopped";
        } else {
            if (lastSavedStep_ != state_.step) saveCheckpoint();
            finish("stopped", "stopped at step " + std::to_string(state_.step) + " of " + std::to_string(schedule_.totalSteps) +
                                  "; resume with: " + resumeHint());
            outcome.status = "stopped";
        }
    } catch (const std::exception& e) {
        outcome.status = "failed";
        outcome.exitCode = 1;
        const std::string what = e.what();
        reporter_->error(state_.step, what.substr(0, what.find('\n')));
        finish("failed", "failed at step " + std::to_string(state_.step));
    }
    outcome.step = state_.step;
    outcome.lastLoss = lastLoss_;
    outcome.lastEvalLoss = lastEvalLoss_;
    outcome.lastCheckpoint = lastCheckpoint_;
    return outcome;
}

}  // namespace

void installStopSignalHandlers() {
    struct sigaction action {};
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

bool stopRequested() { return gStop.load(); }

void requestStop() { gStop = true; }

TrainOutcome runTraining(const TrainRequest& request, std::ostream& events, std::ostream& human) {
    gStop = false;
    gSignals = 0;
    Trainer trainer(request, events, human);
    return trainer.run();
}

}  // namespace hy3
