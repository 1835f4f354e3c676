#include "run_monitor.h"

#include "api/run_tools.h"

#include <QDateTime>
#include <QDir>
#include <QTimer>

namespace hy3::ui {
namespace {

double nowSeconds() { return static_cast<double>(QDateTime::currentMSecsSinceEpoch()) / 1000.0; }

}  // namespace

RunMonitor::RunMonitor(QObject* parent) : QObject(parent), pollTimer_(new QTimer(this)) {
    pollTimer_->setInterval(1000);
    connect(pollTimer_, &QTimer::timeout, this, &RunMonitor::pollStore);
}

RunMonitor::~RunMonitor() {
    pollTimer_->stop();
    if (process_ && process_->state() != QProcess::NotRunning) {
        // Closing the window stops the run the way Stop does (a checkpoint is saved), and waits.
        // The wait delivers the child's last output and its exit synchronously: nothing may reach
        // this object's slots or, through its signals, the pages, which are being destroyed too.
        process_->disconnect(this);
        process_->terminate();
        process_->waitForFinished(60000);
    }
}

void RunMonitor::clear() {
    pollTimer_->stop();
    store_.reset();
    storeRun_ = 0, lastRouterStep_ = -1, lastEventId_ = 0;
    lastStepOf_.clear();
    runDir_.clear();
    lastError_.clear();
    step_ = totalSteps_ = routerSteps_ = 0;
    startedAt_ = endedAt_ = 0;
    metrics_.clear();
    layers_.clear();
    layerNumbers_.clear();
    log_.clear();
    setState("idle");
    emit updated();
    emit routerUpdated();
}

void RunMonitor::setState(const QString& state) {
    if (state == state_) return;
    state_ = state;
    emit stateChanged(state);
}

void RunMonitor::addLog(double step, const QString& level, const QString& text) {
    log_.push_back({step, level, text});
    emit logAdded(log_.back());
}

double RunMonitor::elapsedSeconds() const {
    if (startedAt_ <= 0) return 0;
    return (endedAt_ > 0 ? endedAt_ : nowSeconds()) - startedAt_;
}

void RunMonitor::startProcess(const QString& program, const QStringList& args, const QString& workDir) {
    clear();
    if (!process_) {
        process_ = new QProcess(this);
        connect(process_, &QProcess::readyReadStandardOutput, this, &RunMonitor::readProcessOutput);
        connect(process_, &QProcess::readyReadStandardError, this, [this] {
            // Human progress and the ranks' messages: the log keeps the lines that say something.
            for (const QByteArray& line : process_->readAllStandardError().split('\n')) {
                const QString text = QString::fromUtf8(line).trimmed();
                if (text.isEmpty() || text.startsWith("step ") || text.contains('\r')) continue;
                addLog(static_cast<double>(step_), text.startsWith("error") ? "error" : "info", text);
            }
        });
        connect(process_, &QProcess::finished, this, &RunMonitor::onProcessFinished);
    }
    pending_.clear();
    startedAt_ = nowSeconds();
    setState("starting");
    addLog(0, "info", "started: " + program + " " + args.join(' '));
    process_->setWorkingDirectory(workDir);
    process_->start(program, args);
}

bool RunMonitor::stop() {
    if (!ownsProcess()) return false;
    addLog(static_cast<double>(step_), "info", "stop requested (SIGTERM): the run saves a checkpoint and ends");
    process_->terminate();  // SIGTERM
    return true;
}

void RunMonitor::waitForExit(int ms) {
    if (process_ && process_->state() != QProcess::NotRunning) process_->waitForFinished(ms);
}

void RunMonitor::readProcessOutput() {
    pending_ += process_->readAllStandardOutput();
    int newline;
    while ((newline = pending_.indexOf('\n')) >= 0) {
        const QByteArray line = pending_.left(newline);
        pending_.remove(0, newline + 1);
        const auto event = nlohmann::json::parse(line.constData(), line.constData() + line.size(), nullptr, false);
        if (event.is_object()) handleEvent(event);
    }
}

void RunMonitor::onProcessFinished(int exitCode, QProcess::ExitStatus status) {
    readProcessOutput();
    endedAt_ = nowSeconds();
    if (state_ == "running" || state_ == "starting") {
        // The child ended without an end event: it crashed or could not start.
        lastError_ = status == QProcess::CrashExit ? "the training process crashed" : QString("hy3 exited with status %1").arg(exitCode);
        addLog(static_cast<double>(step_), "error", lastError_);
        setState("failed");
    }
}

void RunMonitor::handleEvent(const nlohmann::json& e) {
    const std::string kind = e.value("event", std::string());
    const double step = e.value("step", 0.0);
    if (kind == "start") {
        runDir_ = QString::fromStdString(e.value("run_dir", std::string()));
        totalSteps_ = e.value("total_steps", int64_t(0));
        step_ = static_cast<int64_t>(step);
        setState("running");
        addLog(step, "info", QString("run %1, %2 steps").arg(runDir_).arg(totalSteps_));
        emit runDirKnown(runDir_);
    } else if (kind == "step") {
        step_ = static_cast<int64_t>(step);
        totalSteps_ = e.value("total_steps", totalSteps_);
        if (e.value("skipped", false)) {
            addLog(step, "warning", QString("step skipped: %1").arg(QString::fromStdString(e.value("reason", std::string()))));
        } else {
            for (const char* key : {"loss", "lr", "grad_norm", "tokens_per_s", "mfu", "rss_bytes", "cuda_allocated_bytes"})
                if (e.contains(key) && e[key].is_number()) metrics_[key].add(step, e[key].get<double>());
        }
        emit updated();
    } else if (kind == "eval") {
        metrics_["eval_loss"].add(step, e.value("eval_loss", 0.0));
        addLog(step, "info", QString("eval loss %1").arg(e.value("eval_loss", 0.0), 0, 'f', 4));
        emit updated();
    } else if (kind == "router") {
        std::vector<double> counts;
        for (const auto& v : e.value("load", nlohmann::json::array())) counts.push_back(v.get<double>());
        addRouterLoad(static_cast<int64_t>(step), e.value("layer", 0), counts);
    } else if (kind == "checkpoint") {
        const QString path = QString::fromStdString(e.value("path", std::string()));
        addLog(step, "info", "checkpoint " + path);
        emit checkpointSaved(path);
    } else if (kind == "error") {
        lastError_ = QString::fromStdString(e.value("message", std::string()));
        addLog(step, "error", lastError_);
    } else if (kind == "end") {
        endedAt_ = nowSeconds();
        const QString status = QString::fromStdString(e.value("status", std::string("finished")));
        addLog(step, status == "failed" ? "error" : "info", QString("run %1: %2").arg(status, QString::fromStdString(e.value("message", std::string()))));
        setState(status);
    }
}

void RunMonitor::addRouterLoad(int64_t step, int layer, const std::vector<double>& counts) {
    auto it = std::find(layerNumbers_.begin(), layerNumbers_.end(), layer);
    size_t index = static_cast<size_t>(it - layerNumbers_.begin());
    if (it == layerNumbers_.end()) {
        // Layers arrive in order within a step; a new one is appended in place.
        const auto pos = std::lower_bound(layerNumbers_.begin(), layerNumbers_.end(), layer);
        index = static_cast<size_t>(pos - layerNumbers_.begin());
        layerNumbers_.insert(pos, layer);
        layers_.insert(layers_.begin() + static_cast<std::ptrdiff_t>(index), LayerLoad{});
    }
    LayerLoad& l = layers_[index];
    double total = 0;
    for (double c : counts) total += c;
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
    if (index + 1 == layers_.size()) emit routerUpdated();  // a whole step has arrived
}

bool RunMonitor::attach(const QString& runDir, QString* error) {
    clear();
    try {
        store_ = std::make_unique<RunStore>(RunStore::open((QDir(runDir).filePath("run.sqlite")).toStdString(), RunStore::Mode::ReadOnly));
        const auto runs = store_->runs();
        if (runs.empty()) throw std::runtime_error("the run store holds no run yet");
        storeRun_ = runs.back().id;
    } catch (const std::exception& e) {
        store_.reset();
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    runDir_ = runDir;
    emit runDirKnown(runDir_);
    pollStore();
    if (state_ == "running") pollTimer_->start();  // a run that has ended does not grow
    return true;
}

// Reads what the store gained since the last poll (WAL readers never block the writer).
void RunMonitor::pollStore() {
    if (!store_) return;
    try {
        for (const RunRecord& r : store_->runs()) {
            if (r.id != storeRun_) continue;
            totalSteps_ = r.total_steps;
            startedAt_ = r.started_at;
            endedAt_ = r.ended_at;
            setState(QString::fromStdString(r.state));
        }
        bool grew = false;
        for (const std::string& name : store_->metricNames(storeRun_)) {
            int64_t& last = lastStepOf_.try_emplace(name, -1).first->second;
            for (const MetricPoint& p : store_->metric(storeRun_, name, last)) {
                metrics_[QString::fromStdString(name)].add(static_cast<double>(p.step), p.value);
                last = p.step;
                step_ = std::max(step_, p.step);
                grew = true;
            }
        }
        // A step's layers may be half written while we read: take the newest step only once the run
        // has moved past it (or ended).
        const auto rows = store_->routerLoad(storeRun_, lastRouterStep_);
        const int64_t newestRouterStep = rows.empty() ? lastRouterStep_ : rows.back().step;
        const bool growing = state_ == "running";
        for (const RouterLoadRecord& r : rows) {
            if (growing && r.step == newestRouterStep) break;
            addRouterLoad(r.step, static_cast<int>(r.layer), std::vector<double>(r.counts.begin(), r.counts.end()));
        }
        for (const EventRecord& e : store_->events(storeRun_, lastEventId_)) {
            lastEventId_ = e.id;
            if (e.kind == "step" || e.kind == "router") continue;
            addLog(static_cast<double>(e.step), QString::fromStdString(e.level), QString::fromStdString(e.message));
            if (e.kind == "error") lastError_ = QString::fromStdString(e.message);
            if (e.kind == "checkpoint") emit checkpointSaved(QString::fromStdString(e.message));
        }
        if (grew) emit updated();
        if (state_ != "running") pollTimer_->stop();  // a finished run does not grow
    } catch (const std::exception& e) {
        addLog(static_cast<double>(step_), "error", QString("reading the run store: %1").arg(e.what()));
        pollTimer_->stop();
    }
}

}  // namespace hy3::ui
