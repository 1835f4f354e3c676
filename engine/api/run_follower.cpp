#include "api/run_follower.h"

#include "store/run_layout.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/host.h"
#include "util/format.h"

#include <sys/vfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <chrono>
#include <cmath>

namespace hy3::api {
namespace {

double nowSeconds() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

template <class... Fs>
struct Overload : Fs... {
    using Fs::operator()...;
};
template <class... Fs>
Overload(Fs...) -> Overload<Fs...>;

}  // namespace

std::vector<double> loadShares(const LayerLoad& layer, bool overWindow) {
    if (!overWindow || layer.window.empty()) return layer.latest;
    std::vector<double> sum(layer.window.front().size(), 0);
    for (const auto& counts : layer.window)
        for (size_t e = 0; e < counts.size() && e < sum.size(); ++e) sum[e] += counts[e];
    double total = 0;
    for (double v : sum) total += v;
    for (double& v : sum) v = total > 0 ? v / total : 0;
    return sum;
}

std::vector<double> smoothed(const std::vector<double>& values, double weight) {
    std::vector<double> out(values.size());
    double average = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        average = weight * average + (1 - weight) * values[i];
        out[i] = average / (1 - std::pow(weight, static_cast<double>(i + 1)));
    }
    return out;
}

void FollowChanges::merge(const FollowChanges& o) {
    metrics = metrics || o.metrics;
    router = router || o.router;
    state = state || o.state;
    runDir = runDir || o.runDir;
    log.insert(log.end(), o.log.begin(), o.log.end());
    checkpoints.insert(checkpoints.end(), o.checkpoints.begin(), o.checkpoints.end());
    alerts.insert(alerts.end(), o.alerts.begin(), o.alerts.end());
}

void RunFollower::clear() { *this = RunFollower(); }

FollowChanges RunFollower::setState(const std::string& state) {
    FollowChanges c;
    if (state == state_) return c;
    state_ = state;
    c.state = true;
    return c;
}

FollowChanges RunFollower::addLog(double step, const std::string& level, const std::string& text) {
    log_.push_back({step, level, text});
    FollowChanges c;
    c.log.push_back(log_.back());
    if (level == "warning")
        if (auto alert = parseRouterAlert(static_cast<int64_t>(step), text)) alerts_.push_back(*alert), c.alerts.push_back(*alert);
    return c;
}

FollowChanges RunFollower::addMetric(const std::string& name, int64_t step, double value) {
    metrics_[name].add(static_cast<double>(step), value);
    step_ = std::max(step_, step);
    FollowChanges c;
    c.metrics = true;
    return c;
}

FollowChanges RunFollower::feedLine(std::string_view line) {
    const auto object = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    const auto event = eventFromJson(object);
    return event ? apply(*event) : FollowChanges{};
}

FollowChanges RunFollower::apply(const RunEvent& event) {
    FollowChanges c;
    std::visit(Overload{
                   [&](const StartEvent& e) {
                       // A run opened from its folder keeps that folder: the event names where the
                       // run started, which a copied or moved run is no longer.
                       if (runDir_.empty()) {
                           runDir_ = e.runDir;
                           c.runDir = true;
                       }
                       totalSteps_ = e.totalSteps;
                       step_ = e.step;
                       c.merge(setState("running"));
                       c.merge(applyStored(e));
                   },
                   [&](const StepEvent& e) {
                       step_ = e.step;
                       totalSteps_ = e.totalSteps;
                       if (e.skipped) {
                           c.merge(addLog(static_cast<double>(e.step), "warning", "step skipped: " + e.skipReason));
                       } else {
                           for (const auto& [name, value] : {std::pair<const char*, double>{"loss", e.loss},
                                                             {"lr", e.lr},
                                                             {"grad_norm", e.gradNorm},
                                                             {"tokens_per_s", e.tokensPerSecond},
                                                             {"mfu", e.mfu},
                                                             {"rss_bytes", static_cast<double>(e.rssBytes)}})
                               metrics_[name].add(static_cast<double>(e.step), value);
                           if (e.cudaReserved > 0)
                               for (const auto& [name, value] : {std::pair<const char*, uint64_t>{"cuda_allocated_bytes", e.cudaAllocated},
                                                                 {"cuda_reserved_bytes", e.cudaReserved},
                                                                 {"cuda_peak_bytes", e.cudaPeak}})
                                   metrics_[name].add(static_cast<double>(e.step), static_cast<double>(value));
                       }
                       c.metrics = true;
                   },
                   [&](const RouterEvent& e) {
                       c.merge(addRouterLoad(e.step, static_cast<int>(e.layer), std::vector<double>(e.load.begin(), e.load.end())));
                   },
                   [&](const EvalEvent& e) {
                       metrics_["eval_loss"].add(static_cast<double>(e.step), e.evalLoss);
                       c.metrics = true;
                       c.merge(applyStored(e));
                   },
                   [&](const EndEvent& e) {
                       endedAt_ = nowSeconds();
                       c.merge(applyStored(e));
                       c.merge(setState(e.status));
                   },
                   [&](const auto& e) { c.merge(applyStored(e)); },
               },
               event);
    return c;
}

FollowChanges RunFollower::applyStored(const RunEvent& event) {
    FollowChanges c;
    const double step = static_cast<double>(stepOf(event));
    std::visit(Overload{
                   [&](const StartEvent& e) {
                       c.merge(addLog(step, "info", "run " + (runDir_.empty() ? e.runDir : runDir_) + ", " + std::to_string(e.totalSteps) + " steps"));
                   },
                   [&](const StepEvent&) {},
                   [&](const RouterEvent&) {},
                   [&](const EvalEvent& e) { c.merge(addLog(step, "info", "eval loss " + fixed(e.evalLoss, 4))); },
                   [&](const CheckpointEvent& e) {
                       const std::string path = runDir_.empty() ? e.path : RunLayout{runDir_}.resolve(e.path).string();
                       c.merge(addLog(step, "info", "checkpoint " + path));
                       c.checkpoints.push_back(path);
                   },
                   [&](const ErrorEvent& e) {
                       lastError_ = e.message;
                       c.merge(addLog(step, "error", e.message));
                   },
                   [&](const EndEvent& e) {
                       c.merge(addLog(step, e.status == "failed" ? "error" : "info", "run " + e.status + ": " + e.message));
                   },
                   [&](const LogEvent& e) { c.merge(addLog(step, e.level, e.text)); },
               },
               event);
    return c;
}

FollowChanges RunFollower::addRouterLoad(int64_t step, int layer, const std::vector<double>& counts) {
    auto it = std::find(layerNumbers_.begin(), layerNumbers_.end(), layer);
    size_t index = static_cast<size_t>(it - layerNumbers_.begin());
    if (it == layerNumbers_.end()) {
        // Layers arrive in order within a step; a new one is inserted in place.
        const auto pos = std::lower_bound(layerNumbers_.begin(), layerNumbers_.end(), layer);
        index = static_cast<size_t>(pos - layerNumbers_.begin());
        layerNumbers_.insert(pos, layer);
        layers_.insert(layers_.begin() + static_cast<std::ptrdiff_t>(index), LayerLoad{});
    }
    LayerLoad& l = layers_[index];
    double total = 0;
    for (double v : counts) total += v;
    l.latest.resize(counts.size());
    for (size_t i = 0; i < counts.size(); ++i) l.latest[i] = total > 0 ? counts[i] / total : 0;
    l.window.push_back(counts);
    if (l.window.size() > kWindow) l.window.pop_front();
    const RouterSummary s = summarizeLoad(std::vector<int64_t>(counts.begin(), counts.end()));
    l.maxOverMean.add(static_cast<double>(step), s.maxOverMean);
    l.cv.add(static_cast<double>(step), s.cv);
    l.idleExperts.add(static_cast<double>(step), static_cast<double>(s.idle));
    if (step != lastRouterStep_ || routerSteps_ == 0) ++routerSteps_;
    lastRouterStep_ = step;
    FollowChanges c;
    c.router = index + 1 == layers_.size();  // a whole step has arrived
    return c;
}

RunStoreReader::RunStoreReader(const std::string& runDir)
    : store_(RunStore::open(RunLayout{runDir}.store(), RunStore::Mode::ReadOnly)) {
    const auto runs = store_.runs();
    if (runs.empty()) fail(RunLayout{runDir}.store().string(), "the run store holds no run yet");
    runId_ = runs.back().id;
}

StoreDelta RunStoreReader::read() {
    StoreDelta d;
    for (const RunRecord& r : store_.runs())
        if (r.id == runId_) d.run = r;
    for (const std::string& name : store_.metricNames(runId_)) {
        int64_t& last = lastStepOf_.try_emplace(name, -1).first->second;
        for (const MetricPoint& p : store_.metric(runId_, name, last)) {
            d.metrics.emplace_back(name, p);
            last = p.step;
        }
    }
    // A step's layers may be half written while we read: take the newest step only once the run
    // has moved past it (or ended).
    const auto rows = store_.routerLoad(runId_, lastRouterStep_);
    const int64_t newest = rows.empty() ? lastRouterStep_ : rows.back().step;
    for (const RouterLoadRecord& r : rows) {
        if (d.growing() && r.step == newest) break;
        d.router.push_back(r);
        lastRouterStep_ = r.step;
    }
    for (const EventRecord& e : store_.events(runId_, lastEventId_)) {
        lastEventId_ = e.id;
        if (auto event = eventFromRecord(e)) d.events.push_back(std::move(*event));
    }
    return d;
}

FollowChanges applyHistory(RunFollower& follower, const std::string& runDir, int64_t step) {
    RunStoreReader reader(runDir);
    const StoreDelta d = reader.read();
    FollowChanges c;
    for (const auto& [name, p] : d.metrics)
        if (p.step <= step) c.merge(follower.addMetric(name, p.step, p.value));
    for (const RouterLoadRecord& r : d.router)
        if (r.step <= step) c.merge(follower.addRouterLoad(r.step, static_cast<int>(r.layer), std::vector<double>(r.counts.begin(), r.counts.end())));
    for (const RunEvent& e : d.events)
        if (stepOf(e) <= step) c.merge(follower.applyStored(e));
    return c;
}

FollowChanges applyDelta(RunFollower& follower, const StoreDelta& d) {
    FollowChanges c;
    follower.setTotalSteps(d.run.total_steps);
    follower.setTimes(d.run.started_at, d.run.ended_at);
    for (const auto& [name, p] : d.metrics) c.merge(follower.addMetric(name, p.step, p.value));
    for (const RouterLoadRecord& r : d.router)
        c.merge(follower.addRouterLoad(r.step, static_cast<int>(r.layer), std::vector<double>(r.counts.begin(), r.counts.end())));
    for (const RunEvent& e : d.events) c.merge(follower.applyStored(e));
    c.merge(follower.setState(d.run.state));
    return c;
}

namespace {

// The filesystems whose files other machines write too (statfs f_type, from linux/magic.h and the
// projects' own headers): SQLite's WAL is not safe on them across machines.
const char* networkFilesystem(const std::string& dir) {
    struct statfs fs {};
    if (statfs(dir.c_str(), &fs) != 0) return nullptr;
    switch (static_cast<unsigned long>(fs.f_type)) {
        case 0x6969: return "NFS";
        case 0x0BD00BD0: return "Lustre";
        case 0x47504653: return "GPFS";
        case 0xFF534D42: return "CIFS";
        case 0xFE534D42: return "SMB";
        case 0x65735546: return "a FUSE filesystem";
        case 0x00C36400: return "CephFS";
        case 0x013111A8: return "IBRIX";
        default: return nullptr;
    }
}

// The host the run's start event names (empty when the file has none yet).
std::string startHost(const std::filesystem::path& eventsFile) {
    std::ifstream in(eventsFile);
    std::string line;
    for (int i = 0; i < 64 && std::getline(in, line); ++i) {  // the start event follows a few log lines
        const auto event = eventFromJson(nlohmann::json::parse(line, nullptr, false));
        if (const auto* start = event ? std::get_if<StartEvent>(&*event) : nullptr)
            return start->info.is_object() ? start->info.value("host", "") : "";
    }
    return "";
}

}  // namespace

FollowSource chooseFollowSource(const std::string& runDir) {
    const RunLayout run{runDir};
    std::error_code ec;
    const bool haveEvents = std::filesystem::is_regular_file(run.eventsLog(), ec);
    const char* forced = std::getenv("HY3_FOLLOW");
    if (forced && std::string(forced) == "store") return {false, "HY3_FOLLOW=store"};
    if (!haveEvents) return {false, "the run has no events.jsonl"};
    if (forced && std::string(forced) == "events") return {true, "HY3_FOLLOW=events"};
    if (const char* fs = networkFilesystem(runDir)) return {true, std::string("the run directory is on ") + fs};
    const std::string host = startHost(run.eventsLog());
    if (!host.empty() && host != hostName()) return {true, "the run was written on host " + host};
    return {false, "the run directory is local"};
}

EventsFileReader::EventsFileReader(const std::string& runDir) : path_(RunLayout{runDir}.eventsLog().string()) {
    std::ifstream probe(path_);
    if (!probe) throw Error(path_ + ": cannot open: " + std::strerror(errno));
}

std::vector<RunEvent> EventsFileReader::read() {
    std::vector<RunEvent> events;
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw Error(path_ + ": cannot open: " + std::strerror(errno));
    in.seekg(static_cast<std::streamoff>(offset_));
    char buffer[1 << 16];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        const auto got = static_cast<size_t>(in.gcount());
        offset_ += got;
        partial_.append(buffer, got);
        size_t start = 0, newline;
        while ((newline = partial_.find('\n', start)) != std::string::npos) {
            const auto event = eventFromJson(nlohmann::json::parse(partial_.begin() + static_cast<std::ptrdiff_t>(start),
                                                                   partial_.begin() + static_cast<std::ptrdiff_t>(newline), nullptr, false));
            if (event) {
                ended_ = ended_ || std::holds_alternative<EndEvent>(*event);
                events.push_back(*event);
            }
            start = newline + 1;
        }
        partial_.erase(0, start);
        if (partial_.size() > kMaxLineBytes) throw Error(path_ + ": a line longer than " + std::to_string(kMaxLineBytes) + " bytes");
    }
    return events;
}

void requestRunStop(const std::string& runDir) {
    writeFileAtomic(RunLayout{runDir}.stopRequest(), "stop requested by a follower on " + hostName() + "\n");
}

}  // namespace hy3::api
