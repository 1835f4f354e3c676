#include "pages/train_page.h"

#include <QAction>

#include "api/launch_tools.h"
#include "api/model_report.h"
#include "page_heading.h"
#include "project_session.h"
#include "run_monitor.h"
#include "widgets/compare_dialog.h"
#include "widgets/router_view.h"
#include "widgets/run_log_view.h"
#include "widgets/runs_view.h"
#include "widgets/train_charts.h"
#include "widgets/what_trains_view.h"

#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalBlocker>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace hy3::ui {
namespace {

QString duration(double seconds) {
    if (seconds < 0 || !std::isfinite(seconds)) return "-";
    const auto s = static_cast<int64_t>(seconds);
    return s >= 3600 ? QString("%1:%2:%3").arg(s / 3600).arg(s / 60 % 60, 2, 10, QChar('0')).arg(s % 60, 2, 10, QChar('0'))
                     : QString("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
}

}  // namespace

QString hy3Program() {
    const QString fromEnv = qEnvironmentVariable("HY3_CLI");
    if (!fromEnv.isEmpty()) return fromEnv;
    const QString beside = QDir(QCoreApplication::applicationDirPath()).filePath("hy3");
    if (QFileInfo(beside).isExecutable()) return beside;
    const QString onPath = QStandardPaths::findExecutable("hy3");
    return onPath.isEmpty() ? QString("hy3") : onPath;
}

TrainPage::TrainPage(ProjectSession* session, QWidget* parent)
    : QWidget(parent), session_(session), monitor_(new RunMonitor(this)), redraw_(new QTimer(this)), clock_(new QTimer(this)) {
    startButton_ = new QPushButton(tr("▶ Start"));
    startButton_->setObjectName("startButton");
    startButton_->setToolTip(tr("Save the project and train it (hy3 train, or hy3 launch for several ranks)"));
    stopButton_ = new QPushButton(tr("■ Stop"));
    stopButton_->setObjectName("stopButton");
    stopButton_->setToolTip(tr("SIGTERM: the current step finishes, a checkpoint is saved, the run ends"));
    stopButton_->setEnabled(false);
    startAction_ = new QAction(tr("&Start training"), this);
    startAction_->setObjectName("startAction");
    startAction_->setShortcut(QKeySequence(Qt::Key_F5));
    stopAction_ = new QAction(tr("S&top training"), this);
    stopAction_->setObjectName("stopAction");
    stopAction_->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_F5));
    stopAction_->setEnabled(false);
    auto* openRunButton = new QPushButton(tr("Open run folder…"));
    openRunButton->setObjectName("openRunButton");
    status_ = new QLabel(tr("No run yet."));
    status_->setObjectName("trainStatus");
    status_->setTextFormat(Qt::RichText);  // HTML with its messages escaped, also when no tag is in it
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // training.device, here where a run starts: each rank takes its node's GPU LOCAL_RANK.
    deviceChoice_ = new QComboBox;
    deviceChoice_->setObjectName("deviceChoice");
    deviceChoice_->addItem(tr("Device: automatic"), "auto");
    deviceChoice_->addItem(tr("Device: CPU"), "cpu");
    deviceChoice_->addItem(tr("Device: GPU (CUDA)"), "cuda");
    deviceChoice_->setToolTip(tr("training.device. Automatic: each rank's own GPU when one is visible, else the CPU. "
                                 "GPU: refused at Start where none is visible."));
    connect(deviceChoice_, QOverload<int>::of(&QComboBox::activated), this,
            [this](int index) { session_->setValue("training.device", deviceChoice_->itemData(index).toString().toStdString()); });
    auto* bar = new QHBoxLayout;
    bar->addWidget(startButton_);
    bar->addWidget(stopButton_);
    bar->addWidget(deviceChoice_);
    bar->addWidget(openRunButton);
    bar->addWidget(status_, 1);

    charts_ = new TrainCharts;
    router_ = new RouterView(monitor_);
    log_ = new RunLogView;
    runs_ = new RunsView;
    tabs_ = new QTabWidget;
    tabs_->setObjectName("trainTabs");
    tabs_->addTab(charts_, tr("Charts"));
    tabs_->addTab(router_, tr("Router load"));
    tabs_->addTab(log_, tr("Log"));
    tabs_->addTab(runs_, tr("Runs"));

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(pageHeading(tr("<h2>Train</h2><p>Run the project and watch it: loss, learning rate, gradient norm, speed, "
                                 "memory and the router load of every MoE layer, live from the run's events.</p>")));
    layout->addLayout(bar);
    method_ = new QLabel;
    method_->setObjectName("trainMethod");
    method_->setWordWrap(true);
    layout->addWidget(method_);
    alert_ = new QLabel;
    alert_->setObjectName("routerAlert");
    alert_->setTextFormat(Qt::RichText);
    alert_->setWordWrap(true);
    alert_->setStyleSheet("QLabel { background: #fdebd0; border: 1px solid #e67e22; border-radius: 3px; padding: 6px; }");
    alert_->hide();
    layout->addWidget(alert_);
    layout->addWidget(tabs_, 1);
    connect(session_, &ProjectSession::changed, this, &TrainPage::showMethod);
    connect(session_, &ProjectSession::projectReplaced, this, &TrainPage::showMethod);
    showMethod();

    redraw_->setInterval(250);
    connect(redraw_, &QTimer::timeout, this, [this] {
        // The status line is drawn with the charts, so it never names an older step than they show.
        if (chartsDirty_) charts_->show(monitor_->metrics()), refreshStatus(), chartsDirty_ = false;
        if (heatmapDirty_) router_->refresh(), heatmapDirty_ = false;
    });
    redraw_->start();
    clock_->setInterval(1000);
    connect(clock_, &QTimer::timeout, this, [this] {
        // The Runs tab follows a run that is going (its state and step), every ten seconds.
        if (monitor_->isRunning() && ++runsTicks_ % 10 == 0) refreshRuns();
        refreshStatus();
    });
    clock_->start();

    connect(startButton_, &QPushButton::clicked, this, &TrainPage::onStartClicked);
    connect(stopButton_, &QPushButton::clicked, this, &TrainPage::stop);
    connect(startAction_, &QAction::triggered, this, &TrainPage::onStartClicked);
    connect(stopAction_, &QAction::triggered, this, &TrainPage::stop);
    connect(monitor_, &RunMonitor::processEnded, this, &TrainPage::updateControls);
    connect(openRunButton, &QPushButton::clicked, this, &TrainPage::onOpenRunClicked);
    connect(router_, &RouterView::expertShown, this, &TrainPage::expertShown);
    connect(runs_, &RunsView::openRequested, this, [this](const QString& dir) {
        QString error;
        if (!openRun(dir, &error)) QMessageBox::warning(this, tr("Cannot open the run"), error);
    });
    connect(runs_, &RunsView::compareRequested, this, &TrainPage::compareRuns);
    connect(runs_, &RunsView::runsListed, this, [this] {
        // Reopening a project shows its newest run, and follows it when it is still going.
        if (!followNewestRun_) return;
        followNewestRun_ = false;
        if (!runs_->runs().empty() && !monitor_->ownsProcess()) openRun(QString::fromStdString(runs_->runs().front().dir));
    });
    connect(monitor_, &RunMonitor::updated, this, [this] { chartsDirty_ = true; });
    connect(monitor_, &RunMonitor::routerUpdated, this, [this] { heatmapDirty_ = true; });
    connect(monitor_, &RunMonitor::stateChanged, this, &TrainPage::onStateChanged);
    connect(monitor_, &RunMonitor::logAdded, this, &TrainPage::onLogAdded);
    connect(monitor_, &RunMonitor::alertsChanged, this, &TrainPage::showAlerts);
    connect(alert_, &QLabel::linkActivated, this, [this] {
        if (monitor_->alerts().empty()) return;
        const RouterAlert& a = monitor_->alerts().back();
        const std::vector<int> layers = monitor_->layerNumbers();
        const auto at = std::find(layers.begin(), layers.end(), static_cast<int>(a.layer));
        if (at == layers.end()) return;
        tabs_->setCurrentIndex(1);
        showExpert(static_cast<int>(at - layers.begin()), static_cast<int>(a.expert));
    });
    connect(monitor_, &RunMonitor::runDirKnown, this, &TrainPage::runDirChanged);
    connect(monitor_, &RunMonitor::checkpointSaved, this, &TrainPage::checkpointSaved);
    connect(monitor_, &RunMonitor::attachFailed, this, [this](const QString& error) {
        openError_ = error;
        refreshStatus();
    });
    connect(session_, &ProjectSession::projectReplaced, this, &TrainPage::onProjectReplaced);
    connect(session_, &ProjectSession::fileChanged, this, &TrainPage::refreshRuns);
    onProjectReplaced();
}

TrainPage::~TrainPage() {
    // The timers read the monitor: stop them first.
    redraw_->stop();
    clock_->stop();
}

QString TrainPage::outputDir() const {
    if (!session_->hasProject()) return {};
    const auto out = session_->project().get("output_dir");
    return out.is_string() ? QString::fromStdString(session_->project().absolutePath(out.get<std::string>()).string()) : QString();
}

void TrainPage::onProjectReplaced() {
    if (monitor_->ownsProcess()) return;  // our own run goes on
    monitor_->clear();
    log_->clear();
    followNewestRun_ = true;
    refreshRuns();
}

void TrainPage::refreshRuns() { runs_->refresh(outputDir()); }

bool TrainPage::openRun(const QString& runDir, QString* error) {
    if (monitor_->ownsProcess()) {
        if (error) *error = tr("a run started here is still going; stop it first");
        return false;
    }
    log_->clear();
    openError_.clear();
    monitor_->attach(runDir);  // read on the poller's thread; storeRead() or attachFailed() follow
    chartsDirty_ = heatmapDirty_ = true;
    refreshNow();
    return true;
}

void TrainPage::onOpenRunClicked() {
    // Refused before the dialog, not after it, while a run started here is going.
    if (monitor_->ownsProcess()) {
        QMessageBox::information(this, tr("Open run folder"), tr("A run started here is still going; stop it first."));
        return;
    }
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Run folder (holds run.sqlite)"), outputDir());
    if (!dir.isEmpty()) openRun(dir);
}

void TrainPage::onStartClicked() {
    QString error;
    if (!start({}, false, &error)) QMessageBox::warning(this, tr("Cannot start"), error);
}

bool TrainPage::start(const QString& resumeFrom, bool weightsOnly, QString* error) {
    auto refuse = [&](const QString& why) {
        if (error) *error = why;
        return false;
    };
    // A run that has ended may still be writing its last lines and exiting: give it a moment.
    if (monitor_->ownsProcess() && !monitor_->isRunning()) monitor_->waitForExit(30000);
    if (monitor_->ownsProcess()) return refuse(tr("a run is already going"));
    if (!session_->hasProject()) return refuse(tr("no project is open"));
    if (session_->isUntitled()) return refuse(tr("save the project first (File > Save as)"));
    if (!session_->problems().empty()) return refuse(tr("the project has problems; see the Project page"));
    if (const QStringList rejected = session_->rejectedEdits(); !rejected.isEmpty())
        return refuse(tr("a setting holds a value that was not applied; correct it on the Training page first:") + "\n" + rejected.join("\n"));
    // The model checked now, not as the Model page last saw it (files change): headers only, so a
    // moment even for a model of hundreds of shards. Found problems join the status bar's list.
    const QString model = session_->modelKey();
    QStringList modelProblems;
    for (const std::string& p : api::projectModelProblems(session_->project())) modelProblems << QString::fromStdString(p);
    session_->setModelProblems(model, modelProblems);
    if (!modelProblems.isEmpty())
        return refuse(tr("the model has %n problem(s) (see the Model page):", nullptr, static_cast<int>(modelProblems.size())) + "\n" +
                      modelProblems.mid(0, 3).join("\n"));
    QString saveError;
    if (session_->isDirty() && !session_->save(&saveError)) return refuse(saveError);
    const ProjectFile& p = session_->project();
    const int64_t ranks = p.get("layout.pp").get<int64_t>() * p.get("layout.dp").get<int64_t>();
    QStringList args;
    for (const std::string& a : trainArguments(session_->filePath().toStdString(), ranks, resumeFrom.toStdString(), weightsOnly))
        args << QString::fromStdString(a);
    log_->clear();
    openError_.clear();
    monitor_->startProcess(hy3Program(), args, QFileInfo(session_->filePath()).absolutePath());
    // An exact resume continues the checkpoint's own run: its earlier steps belong on the charts.
    if (!resumeFrom.isEmpty() && !weightsOnly) {
        const api::CheckpointPlace place = api::placeOfCheckpoint(resumeFrom.toStdString());
        if (!place.runDir.empty()) monitor_->loadHistory(QString::fromStdString(place.runDir), place.step);
    }
    tabs_->setCurrentIndex(0);
    refreshNow();
    return true;
}

void TrainPage::stop() {
    QString error;
    const bool ours = monitor_->ownsProcess();
    if (monitor_->stop(&error)) stopFileWritten_ = !ours;  // a stop file is asked once
    else if (!error.isEmpty()) QMessageBox::warning(this, tr("Cannot stop the run"), error);
    updateControls();
}

void TrainPage::updateControls() {
    const bool ours = monitor_->ownsProcess() || monitor_->state() == "starting";
    const bool canStart = !ours && !monitor_->isRunning();
    // A run started elsewhere (a terminal, a cluster node) is stopped through its folder.
    const bool canStop = monitor_->isRunning() && (ours || (!monitor_->runDir().isEmpty() && !stopFileWritten_));
    startButton_->setEnabled(canStart);
    startAction_->setEnabled(canStart);
    stopButton_->setEnabled(canStop);
    stopAction_->setEnabled(canStop);
    stopButton_->setToolTip(monitor_->isRunning() && !ours
                                ? tr("Writes stop-request in the run's folder: wherever the run goes, it finishes its step, saves a "
                                     "checkpoint and ends")
                                : tr("SIGTERM: the current step finishes, a checkpoint is saved, the run ends"));
}

void TrainPage::onStateChanged(const QString& state) {
    stopFileWritten_ = false;
    updateControls();
    if (state == "failed") {
        // A failed run opens on its log, the error first.
        tabs_->setCurrentIndex(2);
        log_->pinError(monitor_->lastError());
    }
    if (state != "starting" && state != "idle") refreshRuns();  // running too: a resumed run is no longer "stopped"
    refreshNow();
}

void TrainPage::onLogAdded(const api::LogLine& line) { log_->append(line); }

// The run's latest router collapse warning, in a banner above the tabs, with a link to that
// expert's history; every warning is also in the Log.
void TrainPage::showAlerts() {
    const std::vector<RouterAlert>& alerts = monitor_->alerts();
    alert_->setVisible(!alerts.empty());
    if (alerts.empty()) return alert_->clear();
    const RouterAlert& a = alerts.back();
    const QString what = a.kind == "idle" ? tr("expert %1 got no token for %2 steps").arg(a.expert).arg(a.value)
                                          : tr("expert %1 took %2x the mean load over %3 steps").arg(a.expert).arg(a.value, 0, 'f', 1).arg(RouterWatch::kWindow);
    QString text = tr("⚠ <b>Router collapse</b> at step %1 in MoE layer %2: %3. <a href=\"expert\">Show this expert</a>")
                       .arg(a.step)
                       .arg(a.layer)
                       .arg(what);
    if (alerts.size() > 1) text += tr(" · %1 warnings in this run, each in the Log").arg(alerts.size());
    text += tr("<br><span style='color:#666'>Balancing steers tokens back: training.expert_bias_update (aux-loss-free, 0.001 in the "
               "default project; LoRA keeps the base and its bias frozen) or training.aux_loss_coef, under Mixture of experts on the "
               "Training page; under LoRA, lora.train_router lets the router learn.</span>");
    alert_->setText(text);
}

QString TrainPage::alertText() const { return alert_->isHidden() ? QString() : alert_->text(); }

void TrainPage::refreshNow() {
    charts_->show(monitor_->metrics());
    router_->refresh();
    chartsDirty_ = heatmapDirty_ = false;
    refreshStatus();
}

int TrainPage::lossPoints() const { return charts_->lossPoints(); }
QCPColorMap* TrainPage::heatmap() const { return router_->heatmap(); }
double TrainPage::lastHeatmapMs() const { return router_->lastRefreshMs(); }
QTableView* TrainPage::runsTable() const { return runs_->table(); }
void TrainPage::showExpert(int layerPosition, int expert) { router_->showExpert(layerPosition, expert); }
QCustomPlot* TrainPage::expertPlot() const { return router_->expertPlot(); }
QString TrainPage::statusText() const { return status_->text(); }
QString TrainPage::methodText() const { return method_->text(); }

// What Start will train, said before it is pressed (the Model page shows the same in detail).
QString TrainPage::deviceChoice() const { return deviceChoice_->currentData().toString(); }

void TrainPage::showMethod() {
    if (!session_->hasProject()) return method_->clear();
    {
        const QSignalBlocker quiet(deviceChoice_);
        const nlohmann::json device = session_->settingValue("training.device");
        deviceChoice_->setCurrentIndex(std::max(0, deviceChoice_->findData(QString::fromStdString(device.is_string() ? device.get<std::string>() : "auto"))));
    }
    const ProjectFile& p = session_->project();
    method_->setText(p.isLora() ? tr("Start trains: %1.").arg(loraCoverageText(p.loraSpec(), std::nullopt))
                                                        : tr("Start trains: <b>full fine-tuning</b> of every tensor not frozen on the Model page."));
}

void TrainPage::refreshStatus() {
    const RunMonitor& m = *monitor_;
    if (m.state() == "idle") {
        status_->setText(openError_.isEmpty() ? tr("No run yet.") : tr("Cannot open the run: %1").arg(openError_.toHtmlEscaped()));
        return;
    }
    const auto& metrics = m.metrics();
    auto last = [&](const char* key) {
        const auto it = metrics.find(key);
        return it == metrics.end() || it->second.values.empty() ? -1.0 : it->second.values.back();
    };
    const double elapsed = m.elapsedSeconds();
    const auto loss = metrics.find("loss");
    const double firstStep = loss == metrics.end() || loss->second.steps.empty() ? 0 : loss->second.steps.front() - 1;
    const double done = static_cast<double>(m.step()) - firstStep;
    const double eta = m.isRunning() && done > 0 ? elapsed / done * static_cast<double>(m.totalSteps() - m.step()) : 0;
    QString text = tr("<b>%1</b> · step %2 / %3 · elapsed %4").arg(m.state()).arg(m.step()).arg(m.totalSteps()).arg(duration(elapsed));
    if (m.isRunning()) text += tr(" · ETA %1").arg(duration(eta));
    if (last("tokens_per_s") >= 0) text += tr(" · %1 tokens/s").arg(last("tokens_per_s"), 0, 'f', 0);
    if (last("mfu") >= 0) text += tr(" · MFU %1%").arg(100 * last("mfu"), 0, 'f', 1);
    if (!m.runDir().isEmpty()) text += " · " + QFileInfo(m.runDir()).fileName().toHtmlEscaped();
    status_->setText(text);
}

void TrainPage::compareRuns(const QStringList& runDirs) {
    if (runDirs.size() < 2) {
        QMessageBox::information(this, tr("Compare runs"), tr("Select two or more runs in the table."));
        return;
    }
    (new CompareDialog(runDirs, this))->show();
}

}  // namespace hy3::ui
