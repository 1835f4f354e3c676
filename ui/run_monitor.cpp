#include "run_monitor.h"

#include "store_poller.h"

#include <QDateTime>
#include <QRegularExpression>

#include <utility>

namespace hy3::ui {
namespace {

double nowSeconds() { return static_cast<double>(QDateTime::currentMSecsSinceEpoch()) / 1000.0; }

}  // namespace

RunMonitor::RunMonitor(QObject* parent) : QObject(parent) {}

RunMonitor::~RunMonitor() {
    poller_.reset();  // joins the poller's thread
    if (process_ && process_->state() != QProcess::NotRunning) {
        // Closing the window stops the run the way Stop does (a checkpoint is saved), and waits.
        // The wait delivers the child's last output and its exit synchronously: nothing may reach
        // this object's slots or, through its signals, the pages, which are being destroyed too.
        process_->disconnect(this);
        process_->terminate();
        process_->waitForFinished(60000);
    }
}

void RunMonitor::publish(const api::FollowChanges& c) {
    for (const LogLine& line : c.log) emit logAdded(line);
    if (!c.alerts.empty()) emit alertsChanged();
    if (c.runDir) emit runDirKnown(runDir());
    for (const std::string& path : c.checkpoints) emit checkpointSaved(QString::fromStdString(path));
    if (c.metrics) emit updated();
    if (c.router) emit routerUpdated();
    if (c.state) emit stateChanged(state());
}

void RunMonitor::addLog(const QString& level, const QString& text) {
    publish(follower_.addLog(static_cast<double>(follower_.step()), level.toStdString(), text.toStdString()));
}

void RunMonitor::clear() {
    poller_.reset();
    ++generation_;
    storeRunId_ = 0;
    source_ = {};
    const bool wasIdle = follower_.state() == "idle";
    follower_.clear();
    if (!wasIdle) emit stateChanged(state());
    emit updated();
    emit routerUpdated();
    emit alertsChanged();
}

double RunMonitor::elapsedSeconds() const {
    const double started = follower_.startedAt(), ended = follower_.endedAt();
    if (started <= 0) return 0;
    return (ended > 0 ? ended : nowSeconds()) - started;
}

void RunMonitor::startProcess(const QString& program, const QStringList& args, const QString& workDir) {
    clear();
    if (!process_) {
        process_ = new QProcess(this);
        connect(process_, &QProcess::readyReadStandardOutput, this, &RunMonitor::readProcessOutput);
        connect(process_, &QProcess::readyReadStandardError, this, &RunMonitor::readProcessErrors);
        connect(process_, &QProcess::finished, this, &RunMonitor::onProcessFinished);
    }
    pending_.clear();
    pendingErrors_.clear();
    lastErrorLine_.clear();
    follower_.setTimes(nowSeconds(), 0);
    publish(follower_.setState("starting"));
    addLog("info", "started: " + program + " " + args.join(' '));
    process_->setWorkingDirectory(workDir);
    process_->start(program, args);
}

void RunMonitor::loadHistory(const QString& runDir, int64_t step) {
    // Read here, on the GUI thread, once: a resumed run's store is the one it is about to append
    // to; the Train page's benchmark reads 5,000 steps of the released model's router load
    // (79 x 192) in 0.73 s.
    try {
        publish(api::applyHistory(follower_, runDir.toStdString(), step));
    } catch (const std::exception& e) {
        addLog("warning", tr("the run's steps before %1 could not be read: %2").arg(step).arg(QString::fromUtf8(e.what())));
    }
}

bool RunMonitor::stop(QString* error) {
    if (ownsProcess()) {
        addLog("info", "stop requested (SIGTERM): the run saves a checkpoint and ends");
        process_->terminate();  // SIGTERM
        return true;
    }
    // A run started elsewhere (a terminal, a cluster node) is asked through its stop-request file.
    if (!isRunning() || runDir().isEmpty()) return false;
    try {
        api::requestRunStop(runDir().toStdString());
    } catch (const std::exception& e) {
        if (error) *error = QString::fromUtf8(e.what());
        return false;
    }
    addLog("info", tr("stop requested (%1/stop-request): the run saves a checkpoint after its step and ends").arg(runDir()));
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
        publish(follower_.feedLine(std::string_view(line.constData(), static_cast<size_t>(line.size()))));
    }
}

// Human progress and the ranks' messages, whole lines only: the log keeps the lines that say
// something, an error's reason kept for the banner.
void RunMonitor::readProcessErrors() {
    pendingErrors_ += process_->readAllStandardError();
    int newline;
    while ((newline = pendingErrors_.indexOf('\n')) >= 0) {
        addErrorLine(pendingErrors_.left(newline));
        pendingErrors_.remove(0, newline + 1);
    }
}

void RunMonitor::addErrorLine(const QByteArray& line) {
    // A progress line redraws itself with a carriage return and a terminal's erase-line code;
    // what follows the last return is the line.
    static const QRegularExpression terminalCode("\x1b\\[[0-9;]*[A-Za-z]");
    const QString text = QString::fromUtf8(line.mid(line.lastIndexOf('\r') + 1)).remove(terminalCode).trimmed();
    if (text.isEmpty() || text.startsWith("step ")) return;
    // "error: ..." from hy3 itself, "[rank 1] error: ..." from a launched rank.
    const bool error = text.startsWith("error") || text.contains("] error:");
    const bool warning = !error && (text.startsWith("warning") || text.contains("] warning:"));
    if (error) lastErrorLine_ = text;
    addLog(error ? "error" : warning ? "warning" : "info", text);
}

void RunMonitor::onProcessFinished(int exitCode, QProcess::ExitStatus status) {
    readProcessOutput();
    readProcessErrors();
    if (!pendingErrors_.isEmpty()) addErrorLine(std::exchange(pendingErrors_, {}));  // a last line without its newline
    follower_.setTimes(follower_.startedAt(), nowSeconds());
    if (follower_.isRunning()) {
        // The child ended without an end event: it crashed or could not start. Its last error
        // line says why.
        QString error = status == QProcess::CrashExit ? "the training process crashed" : QString("hy3 exited with status %1").arg(exitCode);
        if (!lastErrorLine_.isEmpty()) error += ": " + lastErrorLine_;
        follower_.setLastError(error.toStdString());
        addLog("error", error);
        publish(follower_.setState("failed"));
    }
    // The end event usually arrives while the process still runs: whoever enables controls by
    // "is our process running" must hear that it no longer is.
    emit processEnded();
}

void RunMonitor::handleEvent(const RunEvent& event) {
    // A stream's end event ends the clock too (the follower sets endedAt).
    publish(follower_.apply(event));
}

void RunMonitor::addRouterLoad(int64_t step, int layer, const std::vector<double>& counts) {
    publish(follower_.addRouterLoad(step, layer, counts));
}

void RunMonitor::attach(const QString& runDir) {
    clear();
    follower_.setRunDir(runDir.toStdString());
    emit runDirKnown(runDir);
    const int generation = generation_;
    StorePoller::Handlers handlers;
    handlers.onSource = [this, generation](const api::FollowSource& source) {
        if (generation != generation_) return;  // from a run followed before
        source_ = source;
        if (source.eventsFile) addLog("info", tr("following the run's events.jsonl: %1").arg(QString::fromStdString(source.why)));
    };
    handlers.onDelta = [this, generation](std::shared_ptr<const api::StoreDelta> delta) {
        if (generation != generation_) return;
        storeRunId_ = delta->run.id;
        publish(api::applyDelta(follower_, *delta));
        emit storeRead();
    };
    handlers.onEvents = [this, generation](std::shared_ptr<const std::vector<RunEvent>> events) {
        if (generation != generation_) return;
        api::FollowChanges changes;  // one publication per read, as for a store delta
        for (const RunEvent& event : *events) changes.merge(follower_.apply(event));
        publish(changes);
        emit storeRead();
    };
    handlers.onFail = [this, generation](const QString& error) {
        if (generation != generation_) return;
        addLog("error", error);
        emit attachFailed(error);
    };
    poller_ = std::make_unique<StorePoller>(runDir, this, std::move(handlers));
}

}  // namespace hy3::ui
