#include "job/trainer.h"

#include "checkpoint/adapter_files.h"
#include "checkpoint/batch_file.h"
#include "checkpoint/checkpoint_dir.h"
#include "checkpoint/model_export.h"
#include "checkpoint/model_loader.h"
#include "config/layout_rules.h"
#include "config/model_cost.h"
#include "config/model_source.h"
#include "config/project.h"
#include "data/project_data.h"
#include "dist/distributed.h"
#include "dist/parallel_step.h"
#include "job/hints.h"
#include "job/run_plan.h"
#include "job/sharded_checkpoint.h"
#include "job/stop_signal.h"
#include "model/dtype.h"
#include "runtime/device.h"
#include "runtime/process_setup.h"
#include "runtime/system_info.h"
#include "store/run_layout.h"
#include "store/run_lock.h"
#include "train/fingerprint.h"
#include "train/parameters.h"
#include "train/reporter.h"
#include "train/schedule.h"
#include "train/step.h"
#include "train/train_state.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/format.h"
#include "util/host.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <thread>

namespace hy3 {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Fault injection for tst_distributed: HY3_TEST_KILL_IN_SAVE=RANK:STEP makes that rank kill itself
// (SIGKILL, as a lost node would die) in that step's checkpoint save, after writing its part and
// before rank 0 commits. Nothing happens when it is unset, which is every real run.
void killSelfIfAskedDuringSave(int rank, int64_t step) {
    static const char* const spec = std::getenv("HY3_TEST_KILL_IN_SAVE");
    if (spec && std::to_string(rank) + ":" + std::to_string(step) == spec) std::raise(SIGKILL);
}

// Test hook for tst_train_cli: HY3_TEST_HOLD_AFTER_STEP=STEP:PATH holds the run after that step (its
// events and any checkpoint out) until PATH exists, so a test signals or races the run at a known
// step instead of hoping it has not finished yet. Nothing happens when it is unset, which is every
// real run.
void holdAfterStepIfAskedByTest(int64_t step) {
    static const char* const spec = std::getenv("HY3_TEST_HOLD_AFTER_STEP");
    if (!spec) return;
    const std::string text = spec;
    const size_t colon = text.find(':');
    if (colon == std::string::npos || text.substr(0, colon) != std::to_string(step)) return;
    while (!fs::exists(text.substr(colon + 1))) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// A stream that drops everything (the events of ranks other than 0).
struct NullStream : std::ostream {
    NullStream() : std::ostream(nullptr) {}
};

class Trainer {
public:
    Trainer(const TrainRequest& request, std::ostream& events, std::ostream& human)
        : request_(request), events_(events), human_(human) {}

    TrainOutcome run();

private:
    bool primary() const { return dist_->rank() == 0; }
    void loadSettings();
    void joinJob();
    void chooseRunDirectory();
    void prepareData();
    void buildModel();
    void restore();
    void openRunRecord();
    void announce();
    // Trains until the last step or a stop; returns why the run failed, or "" when it did not.
    std::string loop();
    void saveBatches(int64_t step, const std::vector<MicroBatch>& batches) const;
    void startFromAdapter(const fs::path& dir);
    void evaluateNow();
    void saveCheckpoint();
    std::map<std::string, std::string> saveAdapterParts(const fs::path& temp);
    void finish(const std::string& status, const std::string& message);
    json checkpointMeta() const;
    std::string resumeHint() const;
    std::string resumeAfterFailure() const;
    void abandonSave();
    bool agreeToStop();
    double biasUpdate() const;
    // Training FLOPs per token of this run (LoRA computes no weight gradients for the base).
    double flopsPerToken() const {
        const TrainingSettings& t = project_.training;
        return t.isLora() ? loraTrainingFlopsPerToken(config_, t.seq_len, t.lora) : trainingFlopsPerToken(config_, t.seq_len);
    }

    TrainRequest request_;
    std::ostream& events_;
    std::ostream& human_;
    NullStream nowhere_;

    std::optional<ProjectFile> projectFile_;
    Project project_;
    ModelSource source_;  // the project's model, or the checkpoint's when resuming
    ModelConfig config_;  // source_.config
    std::unique_ptr<Distributed> dist_;
    std::unique_ptr<StepComm> comm_;
    fs::path runDir_;
    std::optional<fs::path> resumeFrom_;  // checkpoint folder to continue from
    bool continueRun_ = false;            // resuming inside the checkpoint's own run directory
    bool weightsOnlyStart_ = false;

    PrepareResult data_;
    std::optional<TokenCache> cache_;
    std::unique_ptr<TrainData> train_;
    std::vector<MicroBatch> validation_;
    torch::Device device_ = torch::kCPU;  // training.device resolved for this rank
    Hy3Model model_{nullptr};
    LoraAdapters adapters_{nullptr};  // training.method lora: what trains (the base is frozen)
    std::unique_ptr<GradientBuffers> gradients_;
    std::unique_ptr<AdamW> optimizer_;
    std::vector<size_t> owned_;
    std::vector<ParameterGroupRow> parameterMap_;
    LrSchedule schedule_;
    TrainState state_;
    std::atomic<int64_t> currentStep_{0};  // state_.step, for the watchdog thread
    json fingerprint_;
    double peakFlops_ = 0;  // of every rank together

    std::optional<RunLock> lock_;  // rank 0: this process is the run directory's one writer
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
    if (project_.datasets.empty()) fail("datasets", "the project has no datasets to train on");
    if (request_.threads > 0) at::set_num_threads(request_.threads);
    source_ = resolveModelSource(project_.model);
    config_ = source_.config;
}

void Trainer::joinJob() {
    const DistEnv env = readDistEnv();
    const Layout& layout = project_.layout;
    const auto problems = layoutProblems(layout, {env.worldSize, config_.num_experts, config_.num_hidden_layers,
                                                  project_.training.global_batch, project_.training.micro_batch});
    if (!problems.empty()) {
        std::string reason = problems.front().reason;
        if (env.worldSize == 1 && layout.worldSize() > 1) reason += " " + launchHint(layout.worldSize());
        fail(problems.front().field, reason);
    }
    const Mesh mesh(layout, env.worldSize, static_cast<int>(config_.num_experts), static_cast<int>(config_.num_hidden_layers));
    DistTimeouts timeouts;
    timeouts.rendezvous = timeouts.collective = std::chrono::seconds(project_.distributed.timeout_s);
    timeouts.heartbeat = std::chrono::seconds(project_.distributed.heartbeat_s);
    // Each rank takes its node's GPU LOCAL_RANK (before any group exists: NCCL binds to it).
    device_ = resolveDevice(project_.training.device, env.localRank);
    useDevice(device_);
    dist_ = std::make_unique<Distributed>(env, mesh, timeouts, device_.is_cuda());
    comm_ = env.worldSize > 1 ? std::unique_ptr<StepComm>(std::make_unique<DistStepComm>(*dist_)) : std::make_unique<StepComm>();
}

void Trainer::chooseRunDirectory() {
    // Rank 0 decides (it reads the clock and the output folder); every rank gets its answer.
    std::string runDir, resumeFrom, mode;
    if (primary()) {
        const RunPlan plan = planRun(project_.output_dir, request_.runName, request_.resume, request_.weightsOnly);
        runDir = plan.runDir.string();
        resumeFrom = plan.resumeFrom ? plan.resumeFrom->string() : std::string();
        mode = plan.continueRun ? "continue" : "new";
    }
    dist_->world().broadcastString(runDir, 0);
    dist_->world().broadcastString(resumeFrom, 0);
    dist_->world().broadcastString(mode, 0);
    runDir_ = runDir;
    if (!resumeFrom.empty()) resumeFrom_ = fs::path(resumeFrom);
    continueRun_ = mode == "continue";
    // A resume starts from the checkpoint's own model (its config parsed here, once); a LoRA
    // checkpoint holds the adapter only, so its run starts from the project's base model again.
    if (resumeFrom_) {
        const bool adapterOnly = isAdapterDirectory(CheckpointLayout{*resumeFrom_}.adapter());
        if (adapterOnly != project_.training.isLora())
            fail("--resume " + resumeFrom_->string(), adapterOnly ? "holds a LoRA adapter, but training.method is full"
                                                                  : "holds a whole model, not a LoRA adapter (training.method is lora)");
        if (!adapterOnly) {
            source_ = resolveModelSource(CheckpointLayout{*resumeFrom_}.model().string());
            config_ = source_.config;
        }
    }
}

void Trainer::prepareData() {
    const DataConfig config = dataConfigFor(project_);
    // Rank 0 builds the cache; the others then open the same one.
    if (primary()) {
        human_ << "data: " << (fs::exists(dataCacheRoot(project_) / dataCacheKey(config) / "manifest.json") ? "reusing" : "preparing")
               << " the token cache" << std::endl;
        data_ = hy3::prepareData(config, dataCacheRoot(project_), {}, request_.threads);
    }
    dist_->world().barrier();
    if (!primary()) data_ = hy3::prepareData(config, dataCacheRoot(project_), {}, request_.threads);
    cache_ = TokenCache::open(data_.cacheDir);
    const ModelConfig& c = config_;
    const int32_t pad = static_cast<int32_t>(c.pad_token_id >= 0 ? c.pad_token_id : std::max<int64_t>(c.eos_token_id, 0));
    const uint64_t seed = static_cast<uint64_t>(project_.training.seed);
    const TrainingSettings& t = project_.training;
    const MeshPosition& p = dist_->position();
    train_ = std::make_unique<TrainData>(cache_->train(), t.seq_len, t.packing, seed, pad);
    validation_ = allRows(cache_->validation(), t.seq_len, t.packing, seed, pad, t.micro_batch, p.dpRank, project_.layout.dp);
    if (!primary()) return;
    const DataStats& s = data_.stats;
    human_ << "data: " << groupDigits(s.train.documents) << " training documents, " << groupDigits(s.train.tokens) << " tokens ("
           << groupDigits(s.train.lossTokens) << " in the loss), " << groupDigits(train_->rowsPerEpoch()) << " rows of " << t.seq_len
           << " per epoch; " << groupDigits(s.validation.documents) << " validation documents" << std::endl;
}

void Trainer::buildModel() {
    const TrainingSettings& t = project_.training;
    const MeshPosition& p = dist_->position();
    ModelOptions options;
    options.dtype = parseDtype(t.dtype);
    options.device = device_;
    options.activationCheckpointing = t.activation_checkpointing;
    options.auxLossCoef = t.aux_loss_coef;
    // This rank's part: its pipeline stage's layers and its expert range.
    const auto stages = pipelineStages(config_, project_.layout.pp, t.seq_len);
    options.layerFirst = stages[static_cast<size_t>(p.stage)].first;
    options.layerLast = stages[static_cast<size_t>(p.stage)].second;
    std::tie(options.expertFirst, options.expertLast) = dist_->mesh().expertRange(dist_->rank());
    if (project_.layout.ep > 1) options.expertExchange = makeExpertExchange(*dist_);
    const uint64_t seed = static_cast<uint64_t>(t.seed);
    torch::manual_seed(seed);
    model_ = openModel(source_, options, seed);

    std::vector<std::pair<std::string, torch::Tensor>> trainable;
    if (t.isLora()) {
        adapters_ = LoraAdapters(config_, loraSettingsOf(t.lora), options.layerFirst, options.layerLast, options.expertFirst,
                                 options.expertLast < 0 ? config_.num_experts : options.expertLast, options.device, seed);
        if (resumeFrom_) {  // exact or weights-only, the adapter continues from the checkpoint's
            const fs::path dir = CheckpointLayout{*resumeFrom_}.adapter();
            adapters_->loadPeftTensors(readAdapterDirectory(dir).tensors, dir.string(), true);
        } else if (!t.lora.init_adapter.empty()) {
            startFromAdapter(t.lora.init_adapter);
        }
        model_->attachAdapters(adapters_);
        trainable = applyLora(*model_, adapters_, t.lora.train_router);
    } else {
        trainable = applyFreeze(*model_, t.freeze, &parameterMap_);
        if (trainable.empty() && dist_->worldSize() == 1) fail("training.freeze", "every parameter is frozen; nothing would train");
    }
    gradients_ = std::make_unique<GradientBuffers>(std::move(trainable));
    owned_ = comm_->ownedParameters(*gradients_);
    optimizer_ = std::make_unique<AdamW>(*gradients_, AdamWOptions{t.adam_beta1, t.adam_beta2, t.adam_eps, t.weight_decay}, owned_);
    parameterMap_ = wholeModelParameterMap(*model_, p.dpRank == 0, p.edpRank == 0, *comm_);
    if (t.isLora()) parameterMap_ = loraParameterMap(parameterMap_, config_, t.lora);
}

void Trainer::restore() {
    fingerprint_ = runFingerprint(project_, config_, dataCacheKey(dataConfigFor(project_)));
    if (!resumeFrom_) return;
    const fs::path stateDir = CheckpointLayout{*resumeFrom_}.trainState();
    if (request_.weightsOnly) {
        weightsOnlyStart_ = true;
        return;
    }
    std::map<std::string, torch::Tensor> optimizerState;
    TrainState saved;
    try {
        saved = loadTrainState(stateDir, optimizerState, dist_->rank(), dist_->worldSize());
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
    currentStep_ = saved.step;
    train_->seek({saved.epoch, saved.rowInEpoch});
    lastSavedStep_ = saved.step;
    lastCheckpoint_ = *resumeFrom_;
}

void Trainer::openRunRecord() {
    const RunLayout run{runDir_};
    const fs::path logFile = run.rankLog(dist_->rank());
    if (!primary()) {
        dist_->world().barrier();  // rank 0 has made the run directory and cleaned the checkpoints
        reporter_ = std::make_unique<RunReporter>(nullptr, 0, false, nowhere_, human_, logFile, false);
        checkpoints_ = std::make_unique<CheckpointDirectory>(run.checkpoints());
        return;
    }
    fs::create_directories(runDir_);
    lock_ = RunLock::acquire(runDir_);  // before anything in the run directory is touched
    store_ = RunStore::open(run.store(), RunStore::Mode::ReadWrite);
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
    reporter_ = std::make_unique<RunReporter>(&*store_, runId_, request_.eventsJsonl, events_, human_, logFile);
    reporter_->appendEventsTo(run.eventsLog());
    std::error_code noStopFile;
    std::filesystem::remove(run.stopRequest(), noStopFile);  // one left from a stop before this resume
    checkpoints_ = std::make_unique<CheckpointDirectory>(run.checkpoints(), &*store_, runId_);
    for (const std::string& removed : checkpoints_->cleanLeftovers()) reporter_->log(state_.step, "removed an interrupted save: " + removed);
    // If another rank fails, rank 0 records why before its watchdog ends the process. This runs on
    // the watchdog's thread: it reads the step through an atomic and never the main thread's objects.
    dist_->onAbort([storeFile = run.store(), runId = runId_, jsonl = request_.eventsJsonl, &events = events_, this](const std::string& message) {
        RunReporter::recordAbort(storeFile, runId, currentStep_.load(), message, jsonl, events);
    });
    dist_->world().barrier();
}

// Rank 0: the ranks' adapter parts into one PEFT adapter directory; returns its files' hashes.
std::map<std::string, std::string> Trainer::saveAdapterParts(const fs::path& temp) {
    const fs::path partsDir = temp / ".adapter-parts", dir = CheckpointLayout{temp}.adapter();
    std::vector<fs::path> parts;
    for (const auto& entry : fs::directory_iterator(partsDir)) parts.push_back(entry.path());
    std::sort(parts.begin(), parts.end());
    fs::create_directories(dir);
    const std::string base = project_.model.isPreset() ? project_.model.preset : project_.model.directory.string();
    std::map<std::string, std::string> hashes;
    for (const auto& [file, sha] : completeAdapterDirectory(dir, parts, adapters_->settings(), base))
        hashes["adapter/" + file] = sha;
    // The tokenizer travels with the adapter (as PEFT trainers save it), so the adapter alone can
    // be run and served.
    for (const auto& [file, sha] : copyCompanionFiles(tokenizerDirOf(project_.model), dir)) hashes["adapter/" + file] = sha;
    fs::remove_all(partsDir);
    syncDirectory(dir);
    return hashes;
}

json Trainer::checkpointMeta() const {
    json metrics = {{"loss", lastLoss_}, {"lr", lastLr_}, {"tokens_seen", state_.tokensSeen}};
    if (lastEvalStep_ == state_.step) metrics["eval_loss"] = lastEvalLoss_;
    json meta = {{"metrics", metrics},
                 {"source", project_.model.isPreset() ? "preset:" + project_.model.preset : project_.model.directory.string()},
                 {"project", fs::absolute(request_.project).string()},
                 {"run", runDir_.filename().string()},
                 {"dtype", project_.training.dtype},
                 {"method", project_.training.method},
                 {"layout", fingerprint_["layout"]},
                 {"data", fingerprint_["data"]}};
    if (adapters_) {  // what the adapter runs on (adapterOrigin reads these back)
        meta["base_model"] = fingerprint_["base_model"];
        meta["seed"] = project_.training.seed;
    }
    return meta;
}

// Every rank writes its part into the same temporary folder: the model shard of its stage and
// expert range (one rank per shard), its optimizer state; rank 0 then completes the folder (index,
// config, tokenizer, train_state.json, meta.json), moves it into place and applies retention.
void Trainer::saveCheckpoint() {
    const MeshPosition& p = dist_->position();
    const Layout& layout = project_.layout;
    state_.epoch = train_->cursor().epoch;
    state_.rowInEpoch = train_->cursor().row;
    state_.optimizerSteps = optimizer_->stepCount();
    state_.fingerprint = fingerprint_;
    Comm& world = dist_->world();
    world.barrier();
    if (primary()) checkpoints_->beginSave(state_.step);
    world.barrier();
    const fs::path temp = checkpoints_->tempPath(state_.step);
    // One model shard per pipeline stage and expert range.
    const int shards = static_cast<int>(layout.pp * layout.ep), shard = static_cast<int>(p.stage * layout.ep + p.epRank);
    const torch::Dtype dtype = model_->options().dtype;  // the training dtype: a resume loads the same bits
    try {
        if (adapters_) {
            // A LoRA checkpoint holds the adapter, not the frozen base: each stage and expert range
            // writes its adapters once, rank 0 joins them below.
            if (p.edpRank == 0) {
                std::vector<std::pair<std::string, torch::Tensor>> mine;
                for (auto& [key, t] : adapters_->peftTensors())
                    if (p.dpRank == 0 || key.find(".mlp.experts.") != std::string::npos) mine.emplace_back(key, t);
                fs::create_directories(temp / ".adapter-parts");
                writeAdapterTensors(temp / ".adapter-parts" / ("part-" + std::to_string(shard) + ".safetensors"), mine);
            }
        } else if (p.edpRank == 0) {
            writeModelShard(*model_, temp, shard, shards, dtype, p.dpRank == 0);
        }
        const fs::path stateDir = CheckpointLayout{temp}.trainState();
        fs::create_directories(stateDir);
        saveTrainState(stateDir, state_, optimizer_->state(), dist_->rank(), dist_->worldSize());
    } catch (const std::exception&) {
        abandonSave();
        throw;
    }
    killSelfIfAskedDuringSave(dist_->rank(), state_.step);
    world.barrier();
    if (primary()) {
        // The tokenizer travels with every checkpoint, and so does the source's MTP block.
        const ExportSources sources{tokenizerDirFor(project_), project_.model.isPreset() ? fs::path() : project_.model.directory};
        try {
            const auto hashes = adapters_ ? saveAdapterParts(temp) : completeModelShards(temp, shards, config_, dtype, sources);
            lastCheckpoint_ = checkpoints_->commitSave(state_.step, checkpointMeta(), hashes);
        } catch (const std::exception&) {
            abandonSave();
            throw;
        }
        reporter_->checkpoint({state_.step, lastCheckpoint_.string(), checkpointMeta()["metrics"]});
        for (const fs::path& removed : checkpoints_->applyRetention(project_.training.keep_last, project_.training.keep_best))
            reporter_->log(state_.step, "retention: removed " + removed.filename().string());
    }
    std::string saved = lastCheckpoint_.string();
    world.broadcastString(saved, 0);
    lastCheckpoint_ = saved;
    lastSavedStep_ = state_.step;
}

void Trainer::evaluateNow() {
    if (validation_.empty()) return;
    const EvalResult r = evaluate(*model_, *comm_, validation_);
    lastEvalLoss_ = r.loss;
    lastEvalStep_ = state_.step;
    if (state_.bestEvalLoss < 0 || r.loss < state_.bestEvalLoss) state_.bestEvalLoss = r.loss;
    reporter_->eval({state_.step, r.loss, r.labelTokens});
}

// A save that failed (a full disk, the file-size limit): one process alone owns the temporary
// folder, so it goes and the catalog says "failed"; with several ranks the others may still be
// writing into it, and the next start removes it. LATEST still names the previous checkpoint.
void Trainer::abandonSave() {
    if (dist_->worldSize() == 1) checkpoints_->abandonSave(state_.step, checkpointMeta());
    dist_->abandon();
}

std::string Trainer::resumeHint() const { return resumeCommand(request_, dist_->env(), lastCheckpoint_); }

// After a failure (a save that hit a full disk, a rank that died): where the run can go on from.
std::string Trainer::resumeAfterFailure() const {
    if (lastCheckpoint_.empty()) return "";
    return "; the last complete checkpoint is " + lastCheckpoint_.filename().string() + ", resume with: " + resumeHint();
}

void Trainer::finish(const std::string& status, const std::string& message) {
    if (store_) store_->setRunState(runId_, status);
    reporter_->end({state_.step, status, message});
}

// The aux-loss-free bias step: none under LoRA, whose checkpoints hold the adapter only.
double Trainer::biasUpdate() const { return project_.training.isLora() ? 0.0 : project_.training.expert_bias_update; }

// Ranks see a signal at slightly different moments; they stop after the same step. Rank 0 also
// looks for a stop-request file, how a follower on another machine asks (one stat per step).
bool Trainer::agreeToStop() {
    std::error_code ec;
    if (primary() && !stopRequested() && std::filesystem::exists(RunLayout{runDir_}.stopRequest(), ec)) {
        reporter_->log(state_.step, "stop requested (" + RunLayout{runDir_}.stopRequest().string() + "): saving a checkpoint and ending");
        requestStop();
    }
    std::vector<double> stop{stopRequested() ? 1.0 : 0.0};
    sumOver(dist_->world(), stop);
    return stop[0] > 0;
}

// lora.init_adapter: the adapter continues from one made elsewhere (a PEFT adapter, another run's).
void Trainer::startFromAdapter(const fs::path& dir) {
    const AdapterDirectory a = readAdapterDirectory(dir);
    const LoraSettings& s = adapters_->settings();
    if (a.settings.rank != s.rank || std::abs(a.settings.scale() - s.scale()) > 1e-12 * s.scale())
        fail("lora.init_adapter", dir.string() + " has rank " + std::to_string(a.settings.rank) + " and scale " + plainNumber(a.settings.scale()) +
                                      "; the project's lora.rank is " + std::to_string(s.rank) + " and its scale " + plainNumber(s.scale()));
    // Every adapter this rank holds must be in the file; a stage or expert range reads its own part.
    adapters_->loadPeftTensors(a.tensors, (dir / kAdapterWeightsFile).string(), dist_->worldSize() > 1);
}

void Trainer::saveBatches(int64_t step, const std::vector<MicroBatch>& batches) const {
    const fs::path dir = request_.saveBatches;
    fs::create_directories(dir);
    for (size_t i = 0; i < batches.size(); ++i) {
        char name[96];
        std::snprintf(name, sizeof name, "step-%06lld-rank-%d-micro-%zu.safetensors", static_cast<long long>(step), dist_->rank(), i);
        writeBatchFile(dir / name, batches[i].batch);
    }
}

std::string Trainer::loop() {
    const TrainingSettings& t = project_.training;
    StepContext context{*model_, *gradients_, *optimizer_, *comm_, owned_};
    const MeshPosition& p = dist_->position();
    while (state_.step < schedule_.totalSteps) {
        if (agreeToStop()) break;
        const int64_t step = state_.step + 1;
        StepSettings settings;
        settings.lr = schedule_.at(step);
        settings.gradClip = t.grad_clip;
        settings.expertBiasUpdate = biasUpdate();
        settings.injectNan = std::find(request_.injectNanAt.begin(), request_.injectNanAt.end(), step) != request_.injectNanAt.end();
        const std::vector<MicroBatch> batches = train_->nextGlobalBatch(t.global_batch, t.micro_batch, p.dpRank, project_.layout.dp);
        if (!request_.saveBatches.empty()) saveBatches(step, batches);
        const StepResult r = trainStep(context, batches, settings);
        state_.step = step;
        currentStep_ = step;
        state_.tokensSeen += r.realTokens;
        lastLr_ = settings.lr;

        // Memory figures: the largest over the ranks; the GPU peak is this step's (reset after reading).
        const DeviceMemory memory = deviceMemory(device_);
        resetPeakMemory(device_);
        torch::Tensor largest = torch::tensor({static_cast<double>(peakRssBytes()), static_cast<double>(memory.allocated),
                                               static_cast<double>(memory.reserved), static_cast<double>(memory.peak)},
                                              torch::kDouble);
        dist_->world().allReduceMax(largest);
        StepEvent m;
        m.step = step;
        m.totalSteps = schedule_.totalSteps;
        m.loss = r.loss;
        m.lr = settings.lr;
        m.gradNorm = r.gradNorm;
        m.stepSeconds = r.seconds;
        m.tokens = r.realTokens;
        m.labelTokens = r.labelTokens;
        m.tokensPerSecond = static_cast<double>(r.realTokens) / r.seconds;
        m.mfu = modelFlopsUtilization(flopsPerToken(), r.tokens, r.seconds, peakFlops_);
        m.rssBytes = static_cast<uint64_t>(largest[0].item<double>());
        m.cudaAllocated = static_cast<uint64_t>(largest[1].item<double>());
        m.cudaReserved = static_cast<uint64_t>(largest[2].item<double>());
        m.cudaPeak = static_cast<uint64_t>(largest[3].item<double>());
        m.skipped = r.skipped;
        m.skipReason = r.skipReason;
        if (primary())
            store_->transaction([&] {
                for (const LayerRouterState& layer : r.router) reporter_->router({step, layer.layer, layer.load, layer.bias});
                reporter_->step(m);
            });
        else
            reporter_->step(m);

        if (r.skipped) {
            ++state_.badStreak;
            if (state_.badStreak >= t.max_bad_steps) {
                // Skipped steps changed nothing, so this saves the last good state.
                saveCheckpoint();
                return std::to_string(state_.badStreak) + " steps in a row had a " + r.skipReason + " (training.max_bad_steps is " +
                       std::to_string(t.max_bad_steps) + "); stopped with the last good state in " + lastCheckpoint_.string() +
                       ". Lower training.learning_rate or check the data, then resume with: " + resumeHint();
            }
        } else {
            state_.badStreak = 0;
            lastLoss_ = r.loss;
        }
        const bool last = step == schedule_.totalSteps;
        if ((t.eval_every > 0 && step % t.eval_every == 0) || last) evaluateNow();
        if ((t.checkpoint_every > 0 && step % t.checkpoint_every == 0) || last) saveCheckpoint();
        if (step == request_.stopAfter) requestStop();
        holdAfterStepIfAskedByTest(step);
    }
    return "";
}

void Trainer::announce() {
    const TrainingSettings& t = project_.training;
    // MFU's denominator: this rank's matmul rate, measured now (a GPU's in the run's dtype).
    std::vector<double> peak{measurePeakFlops(device_, parseDtype(t.dtype), 3)};
    sumOver(dist_->world(), peak);
    peakFlops_ = peak[0];
    int64_t trainable = 0, total = 0;
    for (const auto& row : parameterMap_) total += row.parameters, trainable += row.trains ? row.parameters : 0;
    reporter_->log(state_.step, "run " + runDir_.string());
    if (dist_->worldSize() > 1) {
        const Layout& l = project_.layout;
        reporter_->log(state_.step, std::to_string(dist_->worldSize()) + " ranks (" + dist_->env().source + "): pp " + std::to_string(l.pp) +
                                        " x dp " + std::to_string(l.dp) + ", ep " + std::to_string(l.ep));
    }
    if (resumeFrom_)
        reporter_->log(state_.step, weightsOnlyStart_ ? "weights-only start from " + resumeFrom_->string() +
                                                            ": fresh optimizer state, schedule and data order from step 0"
                                                      : "resuming exactly from " + resumeFrom_->string() + " at step " +
                                                            std::to_string(state_.step));
    std::string map = formatParameterMap(parameterMap_);
    map.pop_back();  // the log line ends it
    reporter_->log(state_.step, "what trains:\n" + map);
    if (t.isLora() && t.expert_bias_update > 0)
        reporter_->log(state_.step, "LoRA keeps the whole base frozen, its expert bias too: training.expert_bias_update is not applied "
                                    "(an adapter checkpoint holds no bias to resume or merge)");
    if (validation_.empty()) reporter_->log(state_.step, "no validation rows (data.validation_fraction is 0 and no validation dataset): no eval");
    reporter_->start({state_.step, runDir_.string(), schedule_.totalSteps,
                                  {{"parameters", total},
                                   {"trainable_parameters", trainable},
                                   {"training_flops_per_token", flopsPerToken()},
                                   {"peak_flops_per_s", peakFlops_},
                                   {"rows_per_epoch", train_->rowsPerEpoch()},
                                   {"threads", at::get_num_threads()},
                                   {"world_size", dist_->worldSize()},
                                   {"host", hostName()},
                                   {"layout", fingerprint_["layout"]},
                                   {"resumed_from", resumeFrom_ && !weightsOnlyStart_ ? resumeFrom_->string() : ""}}});
}

TrainOutcome Trainer::run() {
    loadSettings();
    joinJob();
    try {
        chooseRunDirectory();
        prepareData();
        buildModel();
        restore();
        const TrainingSettings& t = project_.training;
        schedule_.kind = t.lr_schedule;
        schedule_.peak = t.learning_rate;
        schedule_.minimum = t.min_lr;
        schedule_.warmupSteps = t.warmup_steps;
        schedule_.totalSteps = t.max_steps > 0 ? t.max_steps : std::max<int64_t>(1, t.epochs * train_->rowsPerEpoch() / t.global_batch);
        openRunRecord();
        announce();
    } catch (const std::exception& e) {
        // The other ranks learn why (their watchdogs end them naming this rank); then the error
        // goes on to the caller as usual.
        const std::string what = e.what();
        dist_->reportFailure(what.substr(0, what.find('\n')));
        dist_->abandon();
        throw;
    }

    TrainOutcome outcome;
    outcome.runDir = runDir_;
    try {
        const std::string failure = loop();
        if (!failure.empty()) {
            reporter_->error({state_.step, failure});  // names its own way out
            finish("failed", "failed at step " + std::to_string(state_.step));
            outcome.status = "failed";
            outcome.exitCode = 1;
        } else if (state_.step >= schedule_.totalSteps) {
            if (lastSavedStep_ != state_.step) saveCheckpoint();
            if (primary()) {
                const fs::path final = adapters_ ? linkFinalAdapter(lastCheckpoint_, runDir_) : linkFinalModel(lastCheckpoint_, runDir_);
                finish("finished", "finished " + std::to_string(state_.step) + " steps; final " + (adapters_ ? "adapter " : "model ") + final.string());
            } else {
                finish("finished", "finished " + std::to_string(state_.step) + " steps");
            }
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
        const std::string what = e.what();
        // Another rank's failure shows here as a failed collective; the watchdog names the rank
        // (and ends this process) when it can.
        const std::string message = dist_->explainFailure(what.substr(0, what.find('\n')));
        dist_->reportFailure(message);
        dist_->abandon();
        outcome.status = "failed";
        outcome.exitCode = 1;
        reporter_->error({state_.step, message + resumeAfterFailure()});
        finish("failed", "failed at step " + std::to_string(state_.step) + resumeAfterFailure());
    }
    outcome.step = state_.step;
    outcome.lastLoss = lastLoss_;
    outcome.lastEvalLoss = lastEvalLoss_;
    outcome.lastCheckpoint = lastCheckpoint_;
    return outcome;
}

}  // namespace

TrainOutcome runTraining(const TrainRequest& request, std::ostream& events, std::ostream& human) {
    resetStopRequest();
    Trainer trainer(request, events, human);
    return trainer.run();
}

}  // namespace hy3
