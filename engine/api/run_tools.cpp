#include "api/run_tools.h"

#include "checkpoint/checkpoint_dir.h"
#include "config/model_source.h"
#include "config/settings_schema.h"
#include "data/project_data.h"
#include "store/run_layout.h"
#include "train/fingerprint.h"
#include "util/atomic_file.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>

namespace hy3::api {
namespace fs = std::filesystem;
using json = nlohmann::json;

RunSummary summarizeRun(const std::string& runDir) {
    const RunStore store = RunStore::open(RunLayout{runDir}.store(), RunStore::Mode::ReadOnly);
    const auto runs = store.runs();
    if (runs.empty()) fail(RunLayout{runDir}.store().string(), "the run store holds no run");
    const RunRecord& run = runs.back();
    RunSummary s;
    s.dir = runDir;
    s.name = run.name;
    s.state = run.state;
    s.startedAt = run.started_at;
    s.totalSteps = run.total_steps;
    s.settingsJson = run.settings_json;
    const auto loss = store.metric(run.id, "loss");
    if (!loss.empty()) {
        s.steps = loss.back().step;
        s.finalLoss = loss.back().value;
        const size_t stride = std::max<size_t>(1, (loss.size() + 59) / 60);
        for (size_t i = 0; i < loss.size(); i += stride) s.lossSketch.push_back(loss[i].value);
    }
    for (const MetricPoint& p : store.metric(run.id, "eval_loss"))
        if (s.bestEvalLoss < 0 || p.value < s.bestEvalLoss) s.bestEvalLoss = p.value;
    return s;
}

std::vector<RunSummary> listRuns(const std::string& outputDir) {
    std::vector<RunSummary> out;
    std::error_code ec;
    if (!fs::is_directory(outputDir, ec)) return out;
    for (const auto& entry : fs::directory_iterator(outputDir, ec)) {
        if (!entry.is_directory() || !RunLayout::isRun(entry.path())) continue;
        try {
            out.push_back(summarizeRun(entry.path().string()));
        } catch (const std::exception& e) {
            // A store a starting run is creating holds no run for an instant: not listed yet.
            const fs::path store = RunLayout{entry.path()}.store();
            const auto written = fs::last_write_time(store, ec);
            if (ec || fs::file_time_type::clock::now() - written < std::chrono::seconds(10)) continue;
            RunSummary damaged;
            damaged.dir = entry.path().string();
            damaged.name = entry.path().filename().string();
            damaged.state = "damaged";
            damaged.problem = e.what();
            out.push_back(damaged);
        }
    }
    std::sort(out.begin(), out.end(), [](const RunSummary& a, const RunSummary& b) { return a.startedAt > b.startedAt; });
    return out;
}

ResumeCheck checkResume(const ProjectFile& file, const std::string& checkpoint) {
    ResumeCheck check;
    const fs::path stateFile = CheckpointLayout{checkpoint}.trainStateFile();
    std::error_code ec;
    if (!fs::exists(stateFile, ec)) {
        check.reason = "the checkpoint has no optimizer state (train_state/)";
        return check;
    }
    json saved;
    try {
        saved = json::parse(readTextFile(stateFile));
    } catch (const std::exception& e) {
        check.reason = std::string("train_state.json cannot be read: ") + e.what();
        return check;
    }
    const Project project = file.resolve();
    const ModelConfig config = resolveModelSource(project.model).config;
    const auto differences = fingerprintDifferences(saved.value("fingerprint", json::object()),
                                                    runFingerprint(project, config, dataCacheKey(dataConfigFor(project))));
    for (const std::string& d : differences) check.reason += (check.reason.empty() ? "the run changed: " : "; ") + d;
    check.exact = differences.empty();
    return check;
}

std::vector<RouterLoadRecord> routerHistory(const std::string& runDir, int64_t runId, int layer) {
    const RunStore store = RunStore::open(RunLayout{runDir}.store(), RunStore::Mode::ReadOnly);
    if (runId == 0) {
        const auto runs = store.runs();
        if (runs.empty()) return {};
        runId = runs.back().id;
    }
    return store.routerHistory(runId, layer);
}

ExpertHistory expertHistory(const std::string& runDir, int64_t runId, int layer, int expert) {
    ExpertHistory h;
    h.layer = layer;
    h.expert = expert;
    for (const RouterLoadRecord& r : routerHistory(runDir, runId, layer)) {
        if (static_cast<size_t>(expert) >= r.counts.size()) continue;
        double total = 0;
        for (uint32_t c : r.counts) total += c;
        h.experts = static_cast<int>(r.counts.size());
        h.steps.push_back(static_cast<double>(r.step));
        h.share.push_back(total > 0 ? r.counts[static_cast<size_t>(expert)] / total : 0);
        if (static_cast<size_t>(expert) < r.bias.size()) {
            h.biasSteps.push_back(static_cast<double>(r.step));
            h.bias.push_back(r.bias[static_cast<size_t>(expert)]);
        }
    }
    return h;
}

std::vector<CheckpointRecord> runCheckpoints(const std::string& runDir) {
    const RunStore store = RunStore::open(RunLayout{runDir}.store(), RunStore::Mode::ReadOnly);
    const auto runs = store.runs();
    return runs.empty() ? std::vector<CheckpointRecord>{} : store.checkpoints(runs.back().id);
}

CheckpointPlace placeOfCheckpoint(const std::string& checkpoint) {
    CheckpointPlace place;
    const std::optional<RunLayout> run = RunLayout::ofCheckpoint(checkpoint);
    const std::optional<int64_t> step = CheckpointDirectory::stepOf(fs::path(checkpoint).lexically_normal().filename().string());
    if (run && step) place = {run->root.string(), *step};
    return place;
}

bool insideRun(const std::string& runDir, const std::string& path) { return RunLayout{runDir}.contains(path); }

void deleteCheckpoint(const std::string& runDir, const std::string& checkpoint, bool runGoing) {
    const fs::path root = RunLayout{runDir}.checkpoints();
    RunStore store = RunStore::open(RunLayout{runDir}.store(), RunStore::Mode::ReadWrite);
    const auto runs = store.runs();
    CheckpointDirectory dir(root, &store, runs.empty() ? 0 : runs.back().id);
    std::error_code ec;
    if (runGoing) {
        const auto latest = dir.latest();
        if (latest && fs::equivalent(*latest, checkpoint, ec))
            fail(checkpoint, "LATEST names this checkpoint and the run is still going; stop the run first");
    }
    dir.remove(checkpoint);
}

std::vector<RunCurve> readRunCurves(const std::vector<std::string>& runDirs) {
    std::vector<RunCurve> out;
    for (const std::string& dir : runDirs) {
        RunCurve c;
        c.dir = dir;
        try {
            const RunStore store = RunStore::open(RunLayout{dir}.store(), RunStore::Mode::ReadOnly);
            const auto runs = store.runs();
            if (runs.empty()) fail(RunLayout{dir}.store().string(), "the run store holds no run");
            c.name = runs.back().name;
            c.settingsJson = runs.back().settings_json;
            for (const MetricPoint& p : store.metric(runs.back().id, "loss")) c.steps.push_back(static_cast<double>(p.step)), c.loss.push_back(p.value);
        } catch (const std::exception& e) {
            c.error = e.what();
        }
        out.push_back(std::move(c));
    }
    return out;
}

namespace {
void flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
    if (j.is_object()) {
        for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    } else {
        out[prefix] = j.dump();
    }
}
}  // namespace

std::vector<std::string> settingsDiff(const std::string& a, const std::string& b) {
    std::map<std::string, std::string> left, right;
    flatten(json::parse(a.empty() ? "{}" : a, nullptr, false), "", left);
    flatten(json::parse(b.empty() ? "{}" : b, nullptr, false), "", right);
    // A setting one run's file leaves out has its default there: the same value set explicitly
    // on the other side is no difference, and a different one is shown against that default.
    struct Side {
        std::string value;
        bool isDefault = false;
        std::string text() const { return isDefault ? value + " (default)" : value; }
    };
    auto side = [](const std::map<std::string, std::string>& values, const std::string& key) -> std::optional<Side> {
        if (const auto it = values.find(key); it != values.end()) return Side{it->second};
        if (const SettingSpec* spec = findSetting(key)) return Side{spec->defaultValue.dump(), true};
        return std::nullopt;
    };
    std::set<std::string> keys;
    for (const auto& [k, v] : left) keys.insert(k);
    for (const auto& [k, v] : right) keys.insert(k);
    std::vector<std::string> out;
    for (const std::string& k : keys) {
        const auto l = side(left, k), r = side(right, k);
        if (l && r && l->value == r->value) continue;
        out.push_back(k + ": " + (l ? l->text() : "(not set)") + " vs " + (r ? r->text() : "(not set)"));
    }
    return out;
}

}  // namespace hy3::api
