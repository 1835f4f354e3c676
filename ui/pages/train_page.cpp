#include "pages/train_page.h"

#include "api/run_tools.h"
#include "page_heading.h"
#include "project_session.h"
#include "run_monitor.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDateTime>
#include <QDialog>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QSplitter>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <qcustomplot.h>

#include <cmath>

namespace hy3::ui {
namespace {

QVector<double> toQVector(const std::vector<double>& v) { return QVector<double>(v.begin(), v.end()); }

// The training loss smoothed for reading the trend (an exponential moving average, bias-corrected
// at the start like TensorBoard's).
std::vector<double> smoothed(const std::vector<double>& values, double weight = 0.95) {
    std::vector<double> out(values.size());
    double average = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        average = weight * average + (1 - weight) * values[i];
        out[i] = average / (1 - std::pow(weight, static_cast<double>(i + 1)));
    }
    return out;
}

QString duration(double seconds) {
    if (seconds < 0 || !std::isfinite(seconds)) return "-";
    const auto s = static_cast<int64_t>(seconds);
    return s >= 3600 ? QString("%1:%2:%3").arg(s / 3600).arg(s / 60 % 60, 2, 10, QChar('0')).arg(s % 60, 2, 10, QChar('0'))
                     : QString("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
}

// A tiny loss curve for the runs table.
QPixmap sparkline(const std::vector<double>& values) {
    QPixmap pixmap(90, 22);
    pixmap.fill(Qt::transparent);
    if (values.size() < 2) return pixmap;
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(QPen(QColor(0x4a, 0x90, 0xd9), 1.5));
    QPolygonF line;
    for (size_t i = 0; i < values.size(); ++i) {
        const double y = *hi > *lo ? (values[i] - *lo) / (*hi - *lo) : 0.5;
        line << QPointF(2 + 86.0 * static_cast<double>(i) / static_cast<double>(values.size() - 1), 20 - 18 * y);
    }
    p.drawPolyline(line);
    return pixmap;
}

const QColor kPalette[] = {QColor(0x4a, 0x90, 0xd9), QColor(0xd9, 0x53, 0x4f), QColor(0x2e, 0xcc, 0x71), QColor(0x9b, 0x59, 0xb6),
                           QColor(0xe6, 0x7e, 0x22), QColor(0x1a, 0xbc, 0x9c)};

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
    auto* openRun = new QPushButton(tr("Open run folder…"));
    openRun->setObjectName("openRunButton");
    status_ = new QLabel(tr("No run yet."));
    status_->setObjectName("trainStatus");
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* bar = new QHBoxLayout;
    bar->addWidget(startButton_);
    bar->addWidget(stopButton_);
    bar->addWidget(openRun);
    bar->addWidget(status_, 1);

    tabs_ = new QTabWidget;
    tabs_->setObjectName("trainTabs");
    tabs_->addTab(buildCharts(), tr("Charts"));
    tabs_->addTab(buildRouter(), tr("Router load"));
    tabs_->addTab(buildLog(), tr("Log"));
    tabs_->addTab(buildRuns(), tr("Runs"));

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(pageHeading(tr("<h2>Train</h2><p>Run the project and watch it: loss, learning rate, gradient norm, speed, "
                                 "memory and the router load of every MoE layer, live from the run's events.</p>")));
    layout->addLayout(bar);
    layout->addWidget(tabs_, 1);

    redraw_->setInterval(250);
    connect(redraw_, &QTimer::timeout, this, [this] {
        if (chartsDirty_) refreshCharts();
        if (heatmapDirty_) refreshHeatmap();
    });
    redraw_->start();
    clock_->setInterval(1000);
    connect(clock_, &QTimer::timeout, this, &TrainPage::refreshStatus);
    clock_->start();

    connect(startButton_, &QPushButton::clicked, this, &TrainPage::onStartClicked);
    connect(stopButton_, &QPushButton::clicked, this, &TrainPage::stop);
    connect(openRun, &QPushButton::clicked, this, &TrainPage::onOpenRunClicked);
    connect(monitor_, &RunMonitor::updated, this, [this] { chartsDirty_ = true; });
    connect(monitor_, &RunMonitor::routerUpdated, this, [this] { heatmapDirty_ = true; });
    connect(monitor_, &RunMonitor::stateChanged, this, &TrainPage::onStateChanged);
    connect(monitor_, &RunMonitor::logAdded, this, &TrainPage::onLogAdded);
    connect(monitor_, &RunMonitor::runDirKnown, this, &TrainPage::runDirChanged);
    connect(monitor_, &RunMonitor::checkpointSaved, this, &TrainPage::checkpointSaved);
    connect(session_, &ProjectSession::projectReplaced, this, &TrainPage::onProjectReplaced);
    connect(session_, &ProjectSession::fileChanged, this, &TrainPage::refreshRuns);
    onProjectReplaced();
}

TrainPage::~TrainPage() {
    // The timers read the monitor: stop them first. The expert job shares nothing with the page, but
    // it ends before the page does, so no thread outlives the window.
    redraw_->stop();
    clock_->stop();
    expertWatcher_.waitForFinished();
}

QCustomPlot* TrainPage::makePlot(const QString& name, const QString& title, QString yLabel) {
    auto* plot = new QCustomPlot;
    plot->setObjectName(name);
    plot->setMinimumHeight(170);
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, title, QFont(font().family(), 9, QFont::Bold)));
    plot->xAxis->setLabel(tr("step"));
    plot->yAxis->setLabel(yLabel);
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    return plot;
}

QWidget* TrainPage::buildCharts() {
    lossPlot_ = makePlot("lossPlot", tr("Loss"), tr("loss"));
    auto addGraph = [](QCustomPlot* plot, const QString& name, QColor color, bool dots = false) {
        QCPGraph* g = plot->addGraph();
        g->setName(name);
        g->setPen(QPen(color, dots ? 0 : 1.4));
        if (dots) {
            g->setLineStyle(QCPGraph::lsLine);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, color, 6));
        }
        g->setAdaptiveSampling(true);  // draws a decimated view of long series; the data stay whole
        return g;
    };
    addGraph(lossPlot_, tr("train (raw)"), QColor(0x4a, 0x90, 0xd9, 90));
    addGraph(lossPlot_, tr("train (smoothed)"), QColor(0x1f, 0x5f, 0xa8));
    addGraph(lossPlot_, tr("eval"), QColor(0xd9, 0x53, 0x4f), true);
    lossPlot_->legend->setVisible(true);
    lossPlot_->legend->setFont(QFont(font().family(), 8));
    lrPlot_ = makePlot("lrPlot", tr("Learning rate"), tr("lr"));
    addGraph(lrPlot_, tr("lr"), kPalette[2]);
    gradPlot_ = makePlot("gradPlot", tr("Gradient norm (before clipping)"), tr("norm"));
    addGraph(gradPlot_, tr("grad norm"), kPalette[3]);
    speedPlot_ = makePlot("speedPlot", tr("Tokens per second"), tr("tokens/s"));
    addGraph(speedPlot_, tr("tokens/s"), kPalette[4]);
    memoryPlot_ = makePlot("memoryPlot", tr("Peak memory (resident, largest rank)"), tr("MiB"));
    addGraph(memoryPlot_, tr("RSS"), kPalette[5]);
    addGraph(memoryPlot_, tr("CUDA allocated"), kPalette[1]);

    logScale_ = new QCheckBox(tr("log scale"));
    logScale_->setObjectName("logScaleCheck");
    connect(logScale_, &QCheckBox::toggled, this, [this](bool on) {
        lossPlot_->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        lossPlot_->yAxis->setTicker(on ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog) : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        refreshCharts();
    });
    auto* w = new QWidget;
    auto* grid = new QGridLayout(w);
    grid->addWidget(lossPlot_, 0, 0, 1, 2);
    grid->addWidget(logScale_, 1, 0);
    grid->addWidget(lrPlot_, 2, 0);
    grid->addWidget(gradPlot_, 2, 1);
    grid->addWidget(speedPlot_, 3, 0);
    grid->addWidget(memoryPlot_, 3, 1);
    grid->setRowStretch(0, 2);
    return w;
}

QWidget* TrainPage::buildRouter() {
    routerMode_ = new QComboBox;
    routerMode_->setObjectName("routerMode");
    routerMode_->addItem(tr("latest step"));
    routerMode_->addItem(tr("last %1 steps").arg(RunMonitor::kWindow));
    connect(routerMode_, &QComboBox::currentIndexChanged, this, &TrainPage::refreshHeatmap);
    heatmapPlot_ = new QCustomPlot;
    heatmapPlot_->setObjectName("heatmapPlot");
    heatmapPlot_->setMinimumHeight(260);
    heatmapPlot_->xAxis->setLabel(tr("expert"));
    heatmapPlot_->yAxis->setLabel(tr("MoE layer"));
    heatmap_ = new QCPColorMap(heatmapPlot_->xAxis, heatmapPlot_->yAxis);
    heatmap_->setInterpolate(false);
    auto* scale = new QCPColorScale(heatmapPlot_);
    heatmapPlot_->plotLayout()->addElement(0, 1, scale);
    scale->setLabel(tr("share of the layer's token slots"));
    heatmap_->setColorScale(scale);
    heatmap_->setGradient(QCPColorGradient::gpThermal);
    connect(heatmapPlot_, &QCustomPlot::mousePress, this, &TrainPage::onHeatmapClicked);
    connect(&expertWatcher_, &QFutureWatcher<ExpertHistory>::finished, this, &TrainPage::onExpertHistoryReady);

    imbalanceMetric_ = new QComboBox;
    imbalanceMetric_->setObjectName("imbalanceMetric");
    imbalanceMetric_->addItems({tr("largest load / mean"), tr("coefficient of variation"), tr("experts with no tokens")});
    connect(imbalanceMetric_, &QComboBox::currentIndexChanged, this, [this] { heatmapDirty_ = true; });
    imbalancePlot_ = new QCustomPlot;
    imbalancePlot_->setObjectName("imbalancePlot");
    imbalancePlot_->setMinimumHeight(170);
    imbalancePlot_->xAxis->setLabel(tr("step"));
    imbalancePlot_->yAxis->setLabel(tr("per layer"));
    expertLabel_ = new QLabel(tr("Click a cell of the heatmap to see that expert's load and bias over time."));
    expertLabel_->setObjectName("expertLabel");
    expertPlot_ = new QCustomPlot;
    expertPlot_->setObjectName("expertPlot");
    expertPlot_->setMinimumHeight(150);
    expertPlot_->xAxis->setLabel(tr("step"));
    expertPlot_->yAxis->setLabel(tr("load share"));
    expertPlot_->yAxis2->setVisible(true);
    expertPlot_->yAxis2->setLabel(tr("bias"));

    auto* w = new QWidget;
    auto* v = new QVBoxLayout(w);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Router load per MoE layer and expert over")));
    top->addWidget(routerMode_);
    top->addStretch();
    v->addLayout(top);
    v->addWidget(heatmapPlot_, 3);
    auto* mid = new QHBoxLayout;
    mid->addWidget(new QLabel(tr("Imbalance over time, one line per layer:")));
    mid->addWidget(imbalanceMetric_);
    mid->addStretch();
    v->addLayout(mid);
    v->addWidget(imbalancePlot_, 2);
    v->addWidget(expertLabel_);
    v->addWidget(expertPlot_, 2);
    return w;
}

QWidget* TrainPage::buildLog() {
    logFilter_ = new QLineEdit;
    logFilter_->setObjectName("logFilter");
    logFilter_->setPlaceholderText(tr("filter the log"));
    logLevel_ = new QComboBox;
    logLevel_->setObjectName("logLevel");
    logLevel_->addItems({tr("everything"), tr("warnings and errors"), tr("errors")});
    logList_ = new QListWidget;
    logList_->setObjectName("logList");
    logList_->setFont(QFont("monospace", 9));
    connect(logFilter_, &QLineEdit::textChanged, this, &TrainPage::refreshLogList);
    connect(logLevel_, &QComboBox::currentIndexChanged, this, &TrainPage::refreshLogList);
    auto* w = new QWidget;
    auto* v = new QVBoxLayout(w);
    auto* top = new QHBoxLayout;
    top->addWidget(logFilter_, 1);
    top->addWidget(logLevel_);
    v->addLayout(top);
    v->addWidget(logList_, 1);
    return w;
}

QWidget* TrainPage::buildRuns() {
    runsTable_ = new QTableWidget(0, 7);
    runsTable_->setObjectName("runsTable");
    runsTable_->setHorizontalHeaderLabels({tr("run"), tr("state"), tr("started"), tr("steps"), tr("final loss"), tr("best eval"), tr("loss")});
    runsTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    runsTable_->verticalHeader()->hide();
    runsTable_->setSelectionBehavior(QAbstractItemView::SelectRows);
    runsTable_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    runsTable_->setIconSize(QSize(90, 22));
    auto* open = new QPushButton(tr("Open selected run"));
    open->setObjectName("openSelectedRunButton");
    auto* compare = new QPushButton(tr("Compare selected runs"));
    compare->setObjectName("compareButton");
    auto* refresh = new QPushButton(tr("Refresh"));
    connect(refresh, &QPushButton::clicked, this, &TrainPage::refreshRuns);
    auto selectedDirs = [this] {
        QStringList dirs;
        for (const QModelIndex& i : runsTable_->selectionModel()->selectedRows()) dirs << runsTable_->item(i.row(), 0)->data(Qt::UserRole).toString();
        return dirs;
    };
    connect(open, &QPushButton::clicked, this, [this, selectedDirs] {
        const QStringList dirs = selectedDirs();
        QString error;
        if (!dirs.isEmpty() && !openRun(dirs.front(), &error)) QMessageBox::warning(this, tr("Cannot open the run"), error);
    });
    connect(compare, &QPushButton::clicked, this, [this, selectedDirs] { compareRuns(selectedDirs()); });
    connect(runsTable_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        openRun(runsTable_->item(row, 0)->data(Qt::UserRole).toString());
    });
    auto* w = new QWidget;
    auto* v = new QVBoxLayout(w);
    v->addWidget(runsTable_, 1);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(open);
    buttons->addWidget(compare);
    buttons->addWidget(refresh);
    buttons->addStretch();
    v->addLayout(buttons);
    return w;
}

QString TrainPage::outputDir() const {
    if (!session_->hasProject()) return {};
    const auto out = session_->project().get("output_dir");
    return out.is_string() ? QString::fromStdString(session_->project().absolutePath(out.get<std::string>()).string()) : QString();
}

void TrainPage::onProjectReplaced() {
    if (monitor_->ownsProcess()) return;  // our own run goes on
    monitor_->clear();
    logList_->clear();
    refreshRuns();
    // Reopening a project shows its newest run (the table's first row), and follows it when it is still going.
    if (runsTable_->rowCount() > 0) openRun(runsTable_->item(0, 0)->data(Qt::UserRole).toString());
}

void TrainPage::refreshRuns() {
    const auto runs = api::listRuns(outputDir().toStdString());
    runsTable_->setRowCount(0);
    for (const api::RunSummary& r : runs) {
        const int row = runsTable_->rowCount();
        runsTable_->insertRow(row);
        auto* name = new QTableWidgetItem(QString::fromStdString(r.name));
        name->setData(Qt::UserRole, QString::fromStdString(r.dir));
        name->setToolTip(QString::fromStdString(r.dir));
        runsTable_->setItem(row, 0, name);
        runsTable_->setItem(row, 1, new QTableWidgetItem(QString::fromStdString(r.state)));
        runsTable_->setItem(row, 2, new QTableWidgetItem(QDateTime::fromSecsSinceEpoch(static_cast<qint64>(r.startedAt)).toString("yyyy-MM-dd hh:mm")));
        runsTable_->setItem(row, 3, new QTableWidgetItem(QString("%1 / %2").arg(r.steps).arg(r.totalSteps)));
        runsTable_->setItem(row, 4, new QTableWidgetItem(r.finalLoss >= 0 ? QString::number(r.finalLoss, 'f', 4) : "-"));
        runsTable_->setItem(row, 5, new QTableWidgetItem(r.bestEvalLoss >= 0 ? QString::number(r.bestEvalLoss, 'f', 4) : "-"));
        auto* spark = new QTableWidgetItem;
        spark->setIcon(QIcon(sparkline(r.lossSketch)));
        runsTable_->setItem(row, 6, spark);
    }
}

bool TrainPage::openRun(const QString& runDir, QString* error) {
    if (monitor_->ownsProcess()) {
        if (error) *error = tr("a run started here is still going; stop it first");
        return false;
    }
    logList_->clear();
    QString why;
    const bool ok = monitor_->attach(runDir, &why);
    if (!ok && error) *error = why;
    chartsDirty_ = heatmapDirty_ = true;
    refreshNow();
    return ok;
}

void TrainPage::onOpenRunClicked() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Run folder (holds run.sqlite)"), outputDir());
    if (dir.isEmpty()) return;
    QString error;
    if (!openRun(dir, &error)) QMessageBox::warning(this, tr("Cannot open the run"), error);
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
    QString saveError;
    if (session_->isDirty() && !session_->save(&saveError)) return refuse(saveError);
    const ProjectFile& p = session_->project();
    const int64_t ranks = p.get("layout.pp").get<int64_t>() * p.get("layout.dp").get<int64_t>();
    QStringList args;
    if (ranks > 1) args << "launch" << "--nproc-per-node" << QString::number(ranks) << "--";
    args << "train" << session_->filePath() << "--events" << "jsonl";
    if (!resumeFrom.isEmpty()) args << "--resume" << resumeFrom;
    if (weightsOnly) args << "--weights-only";
    logList_->clear();
    monitor_->startProcess(hy3Program(), args, QFileInfo(session_->filePath()).absolutePath());
    tabs_->setCurrentIndex(0);
    refreshNow();
    return true;
}

void TrainPage::stop() { monitor_->stop(); }

void TrainPage::onStateChanged(const QString& state) {
    const bool ours = monitor_->ownsProcess() || state == "starting";
    startButton_->setEnabled(!ours && !monitor_->isRunning());
    stopButton_->setEnabled(ours && monitor_->isRunning());
    stopButton_->setToolTip(monitor_->isRunning() && !ours ? tr("This run was started elsewhere; stop it where it runs")
                                                            : tr("SIGTERM: the current step finishes, a checkpoint is saved, the run ends"));
    if (state == "failed") {
        // A failed run opens on its log, the error first.
        tabs_->setCurrentIndex(2);
        if (!monitor_->lastError().isEmpty()) {
            auto* item = new QListWidgetItem(tr("ERROR: %1").arg(monitor_->lastError()));
            item->setForeground(QColor(0xc0, 0x39, 0x2b));
            logList_->insertItem(0, item);
        }
    }
    if (state != "running" && state != "starting" && state != "idle") refreshRuns();
    refreshNow();
}

void TrainPage::onLogAdded(const LogLine& line) {
    const int minimum = logLevel_->currentIndex();
    const int level = line.level == "error" ? 2 : line.level == "warning" ? 1 : 0;
    const QString text = QString("%1  %2").arg(static_cast<qint64>(line.step), 6).arg(QString::fromStdString(line.text));
    if (level < minimum || (!logFilter_->text().isEmpty() && !text.contains(logFilter_->text(), Qt::CaseInsensitive))) return;
    auto* item = new QListWidgetItem(text);
    if (level == 2) item->setForeground(QColor(0xc0, 0x39, 0x2b));
    if (level == 1) item->setForeground(QColor(0xb9, 0x77, 0x0e));
    logList_->addItem(item);
}

void TrainPage::refreshLogList() {
    logList_->clear();
    for (const LogLine& line : monitor_->log()) onLogAdded(line);
}

void TrainPage::refreshNow() {
    refreshCharts();
    refreshHeatmap();
    refreshStatus();
}

int TrainPage::lossPoints() const { return lossPlot_->graph(0)->dataCount(); }

QString TrainPage::statusText() const { return status_->text(); }

void TrainPage::refreshStatus() {
    const RunMonitor& m = *monitor_;
    if (m.state() == "idle") {
        status_->setText(tr("No run yet."));
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
    if (!m.runDir().isEmpty()) text += " · " + QFileInfo(m.runDir()).fileName();
    status_->setText(text);
}

void TrainPage::refreshCharts() {
    chartsDirty_ = false;
    const auto& metrics = monitor_->metrics();
    auto series = [&](const char* key) -> const Series* {
        const auto it = metrics.find(key);
        return it == metrics.end() ? nullptr : &it->second;
    };
    auto set = [&](QCPGraph* graph, const Series* s, double scale = 1.0, bool smooth = false) {
        if (!s) {
            graph->data()->clear();
            return;
        }
        std::vector<double> values = smooth ? smoothed(s->values) : s->values;
        if (scale != 1.0)
            for (double& v : values) v *= scale;
        graph->setData(toQVector(s->steps), toQVector(values), true);
    };
    set(lossPlot_->graph(0), series("loss"));
    set(lossPlot_->graph(1), series("loss"), 1.0, true);
    set(lossPlot_->graph(2), series("eval_loss"));
    set(lrPlot_->graph(0), series("lr"));
    set(gradPlot_->graph(0), series("grad_norm"));
    set(speedPlot_->graph(0), series("tokens_per_s"));
    set(memoryPlot_->graph(0), series("rss_bytes"), 1.0 / 1048576.0);
    set(memoryPlot_->graph(1), series("cuda_allocated_bytes"), 1.0 / 1048576.0);
    for (QCustomPlot* plot : {lossPlot_, lrPlot_, gradPlot_, speedPlot_, memoryPlot_}) {
        plot->rescaleAxes(true);
        plot->replot(QCustomPlot::rpQueuedReplot);
    }
}

void TrainPage::refreshHeatmap() {
    heatmapDirty_ = false;
    QElapsedTimer timer;
    timer.start();
    const auto& layers = monitor_->layers();
    const auto numbers = monitor_->layerNumbers();
    const int experts = layers.empty() ? 0 : static_cast<int>(layers.front().latest.size());
    const bool windowed = routerMode_->currentIndex() == 1;
    heatmap_->data()->setSize(std::max(1, experts), std::max(1, static_cast<int>(layers.size())));
    heatmap_->data()->setRange(QCPRange(0, std::max(0, experts - 1)), QCPRange(0, std::max<int>(0, static_cast<int>(layers.size()) - 1)));
    for (size_t l = 0; l < layers.size(); ++l) {
        const LayerLoad& layer = layers[l];
        std::vector<double> shares = layer.latest;
        if (windowed && !layer.window.empty()) {
            std::vector<double> sum(layer.window.front().size(), 0);
            for (const auto& counts : layer.window)
                for (size_t e = 0; e < counts.size() && e < sum.size(); ++e) sum[e] += counts[e];
            double total = 0;
            for (double v : sum) total += v;
            for (size_t e = 0; e < sum.size(); ++e) shares[e] = total > 0 ? sum[e] / total : 0;
        }
        for (int e = 0; e < experts && e < static_cast<int>(shares.size()); ++e) heatmap_->data()->setCell(e, static_cast<int>(l), shares[static_cast<size_t>(e)]);
    }
    heatmap_->rescaleDataRange(true);
    heatmapPlot_->xAxis->setRange(-0.5, std::max(0, experts) - 0.5);
    heatmapPlot_->yAxis->setRange(-0.5, static_cast<double>(layers.size()) - 0.5);
    // Label rows with the model's layer numbers (MoE layers need not start at 0).
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    const size_t every = std::max<size_t>(1, layers.size() / 12);
    for (size_t l = 0; l < numbers.size(); l += every) ticker->addTick(static_cast<double>(l), QString::number(numbers[l]));
    heatmapPlot_->yAxis->setTicker(ticker);
    heatmapPlot_->replot(QCustomPlot::rpImmediateRefresh);

    // Imbalance over time: one thin line per layer; only the points that arrived since are added.
    const int metric = imbalanceMetric_->currentIndex();
    if (imbalancePlot_->graphCount() != static_cast<int>(layers.size()) || metric != imbalanceShown_) {
        imbalancePlot_->clearGraphs();
        imbalanceShown_ = metric;
        for (size_t l = 0; l < layers.size(); ++l) {
            QCPGraph* g = imbalancePlot_->addGraph();
            g->setPen(QPen(QColor::fromHsv(static_cast<int>(300 * l / std::max<size_t>(1, layers.size())), 180, 200, 140), 1));
            g->setAdaptiveSampling(true);
        }
    }
    for (size_t l = 0; l < layers.size(); ++l) {
        const Series& s = metric == 0 ? layers[l].maxOverMean : metric == 1 ? layers[l].cv : layers[l].idleExperts;
        QCPGraph* g = imbalancePlot_->graph(static_cast<int>(l));
        const size_t have = static_cast<size_t>(g->dataCount());
        if (have > s.size()) g->data()->clear();
        const size_t from = have > s.size() ? 0 : have;
        if (from < s.size())
            g->addData(QVector<double>(s.steps.begin() + static_cast<std::ptrdiff_t>(from), s.steps.end()),
                       QVector<double>(s.values.begin() + static_cast<std::ptrdiff_t>(from), s.values.end()), true);
    }
    imbalancePlot_->rescaleAxes();
    imbalancePlot_->replot(QCustomPlot::rpImmediateRefresh);
    lastHeatmapMs_ = static_cast<double>(timer.nsecsElapsed()) / 1e6;
}

void TrainPage::onHeatmapClicked(QMouseEvent* event) {
    int expert = 0, layer = 0;
    heatmap_->data()->coordToCell(heatmapPlot_->xAxis->pixelToCoord(event->pos().x()), heatmapPlot_->yAxis->pixelToCoord(event->pos().y()), &expert,
                                  &layer);
    showExpert(layer, expert);
}

void TrainPage::showExpert(int layerPosition, int expert) {
    const auto numbers = monitor_->layerNumbers();
    if (layerPosition < 0 || layerPosition >= static_cast<int>(numbers.size()) || expert < 0 || expertWatcher_.isRunning()) return;
    const int layer = numbers[static_cast<size_t>(layerPosition)];
    expertLabel_->setText(tr("Reading layer %1, expert %2 from the run store…").arg(layer).arg(expert));
    // Thousands of steps of one layer come from the store on a worker thread, through a connection
    // of the worker's own: the job shares nothing with the monitor, which may move on meanwhile.
    const std::string runDir = monitor_->runDir().toStdString();
    const int64_t runId = monitor_->storeRunId();
    expertWatcher_.setFuture(QtConcurrent::run([runDir, runId, layer, expert] {
        ExpertHistory h;
        h.layer = layer;
        h.expert = expert;
        std::vector<RouterLoadRecord> rows;
        try {
            if (!runDir.empty()) rows = api::routerHistory(runDir, runId, layer);
        } catch (const std::exception& e) {
            h.error = QString::fromStdString(e.what());
        }
        for (const RouterLoadRecord& r : rows) {
            if (static_cast<size_t>(expert) >= r.counts.size()) continue;
            double total = 0;
            for (uint32_t c : r.counts) total += c;
            h.experts = static_cast<int>(r.counts.size());
            h.steps << static_cast<double>(r.step);
            h.share << (total > 0 ? r.counts[static_cast<size_t>(expert)] / total : 0);
            if (static_cast<size_t>(expert) < r.bias.size()) h.biasSteps << static_cast<double>(r.step), h.bias << r.bias[static_cast<size_t>(expert)];
        }
        return h;
    }));
}

void TrainPage::onExpertHistoryReady() {
    const ExpertHistory h = expertWatcher_.result();
    expertPlot_->clearGraphs();
    QCPGraph* load = expertPlot_->addGraph();
    load->setName(tr("load share"));
    load->setPen(QPen(kPalette[0], 1.4));
    load->setData(h.steps, h.share, true);
    QCPGraph* b = expertPlot_->addGraph(expertPlot_->xAxis, expertPlot_->yAxis2);
    b->setName(tr("bias"));
    b->setPen(QPen(kPalette[1], 1.4));
    b->setData(h.biasSteps, h.bias, true);
    expertPlot_->rescaleAxes();
    expertPlot_->legend->setVisible(true);
    expertPlot_->replot();
    expertLabel_->setText(h.error.isEmpty() ? tr("Layer %1, expert %2: load share (fair share %3) and expert bias over %4 steps")
                                                  .arg(h.layer)
                                                  .arg(h.expert)
                                                  .arg(h.experts > 0 ? 1.0 / h.experts : 0.0, 0, 'f', 4)
                                                  .arg(h.steps.size())
                                            : h.error);
    emit expertShown();
}

void TrainPage::compareRuns(const QStringList& runDirs) {
    if (runDirs.size() < 2) {
        QMessageBox::information(this, tr("Compare runs"), tr("Select two or more runs in the table."));
        return;
    }
    auto* dialog = new QDialog(this);
    dialog->setObjectName("compareDialog");
    dialog->setWindowTitle(tr("Compare runs"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    auto* plot = new QCustomPlot;
    plot->setObjectName("comparePlot");
    plot->setMinimumSize(700, 300);
    plot->xAxis->setLabel(tr("step"));
    plot->yAxis->setLabel(tr("training loss (smoothed)"));
    plot->legend->setVisible(true);
    auto* diff = new QListWidget;
    diff->setObjectName("settingsDiff");
    std::vector<RunRecord> runs;  // one store read per run: its record (name, settings) and its loss
    for (const QString& dir : runDirs) {
        try {
            const RunStore store = RunStore::open(QDir(dir).filePath("run.sqlite").toStdString(), RunStore::Mode::ReadOnly);
            const auto records = store.runs();
            if (records.empty()) throw std::runtime_error("the run store holds no run");
            runs.push_back(records.back());
            std::vector<double> steps, values;
            for (const MetricPoint& p : store.metric(runs.back().id, "loss")) steps.push_back(static_cast<double>(p.step)), values.push_back(p.value);
            QCPGraph* g = plot->addGraph();
            g->setName(QString::fromStdString(runs.back().name));
            g->setPen(QPen(kPalette[(runs.size() - 1) % 6], 1.5));
            g->setData(toQVector(steps), toQVector(smoothed(values)), true);
        } catch (const std::exception& e) {
            diff->addItem(tr("%1: %2").arg(dir, e.what()));
        }
    }
    plot->rescaleAxes();
    for (size_t i = 1; i < runs.size(); ++i) {
        const auto lines = api::settingsDiff(runs[0].settings_json, runs[i].settings_json);
        diff->addItem(tr("%1 vs %2: %n setting(s) differ", nullptr, static_cast<int>(lines.size())).arg(
            QString::fromStdString(runs[0].name), QString::fromStdString(runs[i].name)));
        for (const std::string& line : lines) diff->addItem("    " + QString::fromStdString(line));
    }
    auto* v = new QVBoxLayout(dialog);
    v->addWidget(plot, 2);
    v->addWidget(new QLabel(tr("Settings that differ:")));
    v->addWidget(diff, 1);
    dialog->resize(900, 650);
    dialog->show();
}

}  // namespace hy3::ui
