#include "pages/layout_page.h"

#include "api/common.h"
#include "page_heading.h"
#include "project_session.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <qcustomplot.h>

namespace hy3::ui {
namespace {

constexpr double kGiB = 1073741824.0;

// A table cell that sorts by its number, not its text.
struct NumericItem : QTableWidgetItem {
    bool operator<(const QTableWidgetItem& other) const override { return data(Qt::UserRole).toDouble() < other.data(Qt::UserRole).toDouble(); }
};

QTableWidgetItem* sortableItem(double value, const QString& text) {
    auto* item = new NumericItem;
    item->setData(Qt::DisplayRole, text);
    item->setData(Qt::UserRole, value);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

QSpinBox* spin(const char* name, int lo, int hi) {
    auto* s = new QSpinBox;
    s->setObjectName(name);
    s->setRange(lo, hi);
    s->setKeyboardTracking(false);
    return s;
}

}  // namespace

LayoutPage::LayoutPage(ProjectSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    devicesLabel_ = new QLabel(tr("Looking for devices…"));
    devicesLabel_->setObjectName("devicesLabel");
    devicesLabel_->setWordWrap(true);

    nodesSpin_ = spin("nodesSpin", 1, 4096);
    perNodeSpin_ = spin("perNodeSpin", 1, 64);
    memorySpin_ = new QDoubleSpinBox;
    memorySpin_->setObjectName("memorySpin");
    memorySpin_->setRange(0.5, 4096);
    memorySpin_->setDecimals(1);
    memorySpin_->setSuffix(tr(" GiB per device"));
    memorySpin_->setKeyboardTracking(false);
    deviceKindCombo_ = new QComboBox;
    deviceKindCombo_->setObjectName("deviceKindCombo");
    deviceKindCombo_->addItem(tr("CUDA GPUs"), "cuda");
    deviceKindCombo_->addItem(tr("CPU processes"), "cpu");
    auto* clusterBox = new QGroupBox(tr("Cluster to plan for"));
    auto* clusterForm = new QFormLayout(clusterBox);
    clusterForm->addRow(tr("This machine"), devicesLabel_);
    auto* clusterRow = new QHBoxLayout;
    clusterRow->addWidget(nodesSpin_);
    clusterRow->addWidget(new QLabel(tr("nodes x")));
    clusterRow->addWidget(perNodeSpin_);
    clusterRow->addWidget(new QLabel(tr("devices per node,")));
    clusterRow->addWidget(memorySpin_);
    clusterRow->addWidget(deviceKindCombo_);
    clusterRow->addStretch();
    clusterForm->addRow(tr("Devices"), clusterRow);

    ppSpin_ = spin("ppSpin", 1, 65536);
    dpSpin_ = spin("dpSpin", 1, 65536);
    epSpin_ = spin("epSpin", 1, 65536);
    problemLabel_ = new QLabel;
    problemLabel_->setObjectName("layoutProblem");
    problemLabel_->setWordWrap(true);
    auto* layoutRow = new QHBoxLayout;
    layoutRow->addWidget(new QLabel(tr("pipeline stages (pp)")));
    layoutRow->addWidget(ppSpin_);
    layoutRow->addWidget(new QLabel(tr("x data-parallel replicas (dp)")));
    layoutRow->addWidget(dpSpin_);
    layoutRow->addWidget(new QLabel(tr(", experts split over (ep)")));
    layoutRow->addWidget(epSpin_);
    layoutRow->addStretch();
    auto* layoutBox = new QGroupBox(tr("The project's layout"));
    auto* layoutV = new QVBoxLayout(layoutBox);
    layoutV->addLayout(layoutRow);
    layoutV->addWidget(problemLabel_);

    summaryLabel_ = new QLabel;
    summaryLabel_->setObjectName("planSummary");
    summaryLabel_->setWordWrap(true);
    memoryPlot_ = new QCustomPlot;
    memoryPlot_->setObjectName("memoryPlot");
    memoryPlot_->setMinimumHeight(260);
    table_ = new QTableWidget(0, ColumnCount);
    table_->setObjectName("planTable");
    table_->setHorizontalHeaderLabels({tr("pp"), tr("dp"), tr("ep"), tr("GiB per device"), tr("GiB, checkpointing"), tr("fits"),
                                       tr("relative step time")});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->verticalHeader()->hide();
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSortingEnabled(true);
    table_->setMinimumHeight(200);
    useButton_ = new QPushButton(tr("Use this layout"));
    useButton_->setObjectName("useLayoutButton");
    auto* planBox = new QGroupBox(tr("Memory per device (the planner: hy3 plan)"));
    auto* planV = new QVBoxLayout(planBox);
    planV->addWidget(summaryLabel_);
    planV->addWidget(memoryPlot_);
    planV->addWidget(table_);
    auto* useRow = new QHBoxLayout;
    useRow->addWidget(useButton_);
    useRow->addStretch();
    planV->addLayout(useRow);

    commandEdit_ = new QPlainTextEdit;
    commandEdit_->setObjectName("launchCommand");
    commandEdit_->setReadOnly(true);
    commandEdit_->setMaximumHeight(90);
    QFont mono("monospace");
    mono.setStyleHint(QFont::Monospace);
    commandEdit_->setFont(mono);
    auto* copyButton = new QPushButton(tr("Copy"));
    copyButton->setObjectName("copyCommandButton");
    auto* commandBox = new QGroupBox(tr("Start this run from a terminal"));
    auto* commandRow = new QHBoxLayout(commandBox);
    commandRow->addWidget(commandEdit_, 1);
    commandRow->addWidget(copyButton, 0, Qt::AlignTop);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(pageHeading(tr("<h2>Layout</h2><p>How the run spreads over devices: pp x dp ranks, one per device; "
                                    "ep splits each MoE layer's experts over groups of ep replicas.</p>")));
    layout->addWidget(clusterBox);
    layout->addWidget(layoutBox);
    layout->addWidget(planBox, 1);
    layout->addWidget(commandBox);

    for (QSpinBox* s : {nodesSpin_, perNodeSpin_}) connect(s, &QSpinBox::valueChanged, this, &LayoutPage::onLayoutEdited);
    // Memory and device kind change the plan, not whether the layout can run.
    connect(memorySpin_, &QDoubleSpinBox::valueChanged, this, [this] {
        if (!loading_ && session_->hasProject()) planAndShow();
    });
    connect(deviceKindCombo_, &QComboBox::currentIndexChanged, this, [this] {
        if (!loading_ && session_->hasProject()) planAndShow();
    });
    for (QSpinBox* s : {ppSpin_, dpSpin_, epSpin_}) connect(s, &QSpinBox::valueChanged, this, &LayoutPage::onLayoutEdited);
    connect(useButton_, &QPushButton::clicked, this, &LayoutPage::useSelectedLayout);
    connect(copyButton, &QPushButton::clicked, this, &LayoutPage::copyCommand);
    connect(&devicesWatcher_, &QFutureWatcher<SystemInfo>::finished, this, &LayoutPage::onDevicesDone);
    connect(session_, &ProjectSession::projectReplaced, this, &LayoutPage::reloadFromProject);
    connect(session_, &ProjectSession::fileChanged, this, &LayoutPage::reloadFromProject);
    connect(session_, &ProjectSession::changed, this, [this] {
        if (!loading_) reloadFromProject();
    });

    // Until the devices are known, plan for one node of 8 x 80 GiB GPUs (a common cluster node).
    loading_ = true;
    nodesSpin_->setValue(1);
    perNodeSpin_->setValue(1);
    memorySpin_->setValue(80);
    loading_ = false;
    // The device list only: timing a matmul here would change LibTorch's thread count under a
    // Try it that runs at the same time.
    devicesWatcher_.setFuture(QtConcurrent::run([] { return api::systemInfo(false); }));
    reloadFromProject();
}

LayoutPage::~LayoutPage() { devicesWatcher_.waitForFinished(); }

void LayoutPage::onDevicesDone() {
    const SystemInfo info = devicesWatcher_.result();
    devicesKnown_ = true;
    if (info.gpus.empty()) {
        devicesLabel_->setText(tr("no GPU (%1); CPU: %2, %3 logical CPUs")
                                   .arg(info.cuda_built ? tr("CUDA found none") : tr("this build has no CUDA"),
                                        QString::fromStdString(info.cpu_model))
                                   .arg(info.hardware_threads));
    } else {
        QStringList gpus;
        for (const GpuInfo& g : info.gpus)
            gpus << QString("%1: %2, %3 GiB").arg(g.index).arg(QString::fromStdString(g.name)).arg(static_cast<double>(g.memory_bytes) / kGiB, 0, 'f', 1);
        devicesLabel_->setText(gpus.join("\n"));
        // Plan for this node's GPUs unless the project's layout asks for more.
        loading_ = true;
        perNodeSpin_->setValue(std::max<int>(perNodeSpin_->value(), static_cast<int>(info.gpus.size())));
        memorySpin_->setValue(static_cast<double>(info.gpus.front().memory_bytes) / kGiB);
        deviceKindCombo_->setCurrentIndex(0);
        loading_ = false;
        replan();
    }
    emit devicesListed();
}

void LayoutPage::reloadFromProject() {
    if (!session_->hasProject()) return;
    const ProjectFile& p = session_->project();
    loading_ = true;
    const auto value = [&](const char* key) { return static_cast<int>(p.get(key).is_number_integer() ? p.get(key).get<int64_t>() : 1); };
    ppSpin_->setValue(value("layout.pp"));
    dpSpin_->setValue(value("layout.dp"));
    epSpin_->setValue(value("layout.ep"));
    // The cluster grows to hold the project's layout.
    const int world = ppSpin_->value() * dpSpin_->value();
    if (nodesSpin_->value() * perNodeSpin_->value() != world) {
        const int perNode = world > 8 && world % 8 == 0 ? 8 : world;  // nodes of 8 GPUs are the common case
        perNodeSpin_->setValue(perNode);
        nodesSpin_->setValue(world / perNode);
    }
    loading_ = false;
    replan();
}

int64_t LayoutPage::devices() const { return static_cast<int64_t>(nodesSpin_->value()) * perNodeSpin_->value(); }

QString LayoutPage::layoutProblem() const { return problem_; }

void LayoutPage::setCluster(int nodes, int devicesPerNode, double memoryGiB, const QString& deviceKind) {
    loading_ = true;
    nodesSpin_->setValue(nodes);
    perNodeSpin_->setValue(devicesPerNode);
    memorySpin_->setValue(memoryGiB);
    deviceKindCombo_->setCurrentIndex(deviceKind == "cpu" ? 1 : 0);
    loading_ = false;
    onLayoutEdited();
}

void LayoutPage::setLayout(int pp, int dp, int ep) {
    loading_ = true;
    ppSpin_->setValue(pp);
    dpSpin_->setValue(dp);
    epSpin_->setValue(ep);
    loading_ = false;
    onLayoutEdited();
}

void LayoutPage::checkLayout() {
    const Layout layout{ppSpin_->value(), dpSpin_->value(), epSpin_->value()};
    const ProjectFile& p = session_->project();
    try {
        problem_ = QString::fromStdString(api::layoutProblemFor(session_->modelSource().toStdString(), layout, devices(),
                                                                p.get("training.global_batch").get<int64_t>(),
                                                                p.get("training.micro_batch").get<int64_t>()));
    } catch (const std::exception& e) {
        problem_ = QString::fromStdString(e.what());
    }
    problemLabel_->setText(problem_.isEmpty() ? tr("This layout can run: %n rank(s).", nullptr, static_cast<int>(devices()))
                                              : tr("Cannot run: %1").arg(problem_));
    problemLabel_->setStyleSheet(problem_.isEmpty() ? "color: #27ae60;" : "color: #c0392b;");
}

// The spin boxes changed: a layout that can run goes into the project; one that cannot shows why
// and leaves the project as it was.
void LayoutPage::onLayoutEdited() {
    if (loading_ || !session_->hasProject()) return;
    checkLayout();
    const ProjectFile& p = session_->project();
    const Layout layout{ppSpin_->value(), dpSpin_->value(), epSpin_->value()};
    if (problem_.isEmpty() && (p.get("layout.pp") != layout.pp || p.get("layout.dp") != layout.dp || p.get("layout.ep") != layout.ep)) {
        loading_ = true;
        session_->setValue("layout.pp", layout.pp);
        session_->setValue("layout.dp", layout.dp);
        session_->setValue("layout.ep", layout.ep);
        loading_ = false;
    }
    planAndShow();  // the layout was checked above
}

void LayoutPage::replan() {
    if (loading_ || !session_->hasProject()) return;
    checkLayout();
    planAndShow();
}

void LayoutPage::planAndShow() {
    const ProjectFile& p = session_->project();
    PlanSettings s;
    s.devices = devices();
    s.deviceMemoryBytes = memorySpin_->value() * kGiB;
    s.seqLen = p.get("training.seq_len").get<int64_t>();
    s.microBatch = p.get("training.micro_batch").get<int64_t>();
    s.globalBatch = p.get("training.global_batch").get<int64_t>();
    s.dtype = p.get("training.dtype").get<std::string>();
    s.device = deviceKindCombo_->currentData().toString().toStdString();
    try {
        plan_ = api::planLayoutsFor(session_->modelSource().toStdString(), s);
        summaryLabel_->setText(QString::fromStdString(plan_->summary));
        summaryLabel_->setStyleSheet(plan_->recommended >= 0 ? "" : "color: #c0392b;");
    } catch (const std::exception& e) {
        plan_.reset();
        summaryLabel_->setText(QString::fromStdString(e.what()));
        summaryLabel_->setStyleSheet("color: #c0392b;");
    }
    fillTable();
    plotMemory();
    updateCommand();
    emit planned();
}

void LayoutPage::fillTable() {
    table_->setSortingEnabled(false);
    table_->setRowCount(0);
    if (!plan_) return;
    for (size_t i = 0; i < plan_->layouts.size(); ++i) {
        const LayoutEstimate& e = plan_->layouts[i];
        if (!e.valid()) continue;
        const int row = table_->rowCount();
        table_->insertRow(row);
        const double plain = e.memory.total(false) / kGiB, ckpt = e.memory.total(true) / kGiB;
        table_->setItem(row, PpColumn, sortableItem(static_cast<double>(e.layout.pp), QString::number(e.layout.pp)));
        table_->setItem(row, DpColumn, sortableItem(static_cast<double>(e.layout.dp), QString::number(e.layout.dp)));
        table_->setItem(row, EpColumn, sortableItem(static_cast<double>(e.layout.ep), QString::number(e.layout.ep)));
        table_->setItem(row, MemoryColumn, sortableItem(plain, QString::number(plain, 'f', 2)));
        table_->setItem(row, CheckpointedColumn, sortableItem(ckpt, QString::number(ckpt, 'f', 2)));
        const QString fits = e.fits ? tr("yes") : e.fitsCheckpointed ? tr("with checkpointing") : tr("no");
        // Sorting by this column puts what fits first, fastest first within each kind.
        const double fitsKey = (e.fits ? 0 : e.fitsCheckpointed ? 1 : 2) * 1e6 + e.relativeTime;
        table_->setItem(row, FitsColumn, sortableItem(fitsKey, fits));
        table_->setItem(row, TimeColumn, sortableItem(e.relativeTime > 0 ? e.relativeTime : 1e9,
                                                      e.relativeTime > 0 ? QString::number(e.relativeTime, 'f', 2) : QString("-")));
        if (static_cast<int>(i) == plan_->recommended)
            for (int c = 0; c < ColumnCount; ++c) table_->item(row, c)->setBackground(QColor(0xd5, 0xf5, 0xe3));
    }
    table_->setSortingEnabled(true);
    table_->sortByColumn(FitsColumn, Qt::AscendingOrder);
}

void LayoutPage::plotMemory() {
    memoryPlot_->clearPlottables();
    memoryPlot_->clearItems();
    if (!plan_) {
        memoryPlot_->replot();
        return;
    }
    // Bars: the project's layout (with its checkpointing choice) and the best fitting ones.
    struct Bar {
        QString label;
        MemoryBreakdown memory;
        bool checkpointing;
    };
    std::vector<Bar> bars;
    const bool projectCheckpointing = session_->project().get("training.activation_checkpointing").get<bool>();
    for (const LayoutEstimate& e : plan_->layouts)
        if (e.valid() && e.layout.pp == ppSpin_->value() && e.layout.dp == dpSpin_->value() && e.layout.ep == epSpin_->value())
            bars.push_back({tr("project\npp%1 dp%2 ep%3").arg(e.layout.pp).arg(e.layout.dp).arg(e.layout.ep), e.memory, projectCheckpointing});
    std::vector<const LayoutEstimate*> fitting;
    for (const LayoutEstimate& e : plan_->layouts)
        if (e.valid() && (e.fits || e.fitsCheckpointed)) fitting.push_back(&e);
    std::sort(fitting.begin(), fitting.end(), [](auto* a, auto* b) { return a->relativeTime < b->relativeTime; });
    for (size_t i = 0; i < fitting.size() && i < 4; ++i) {
        const LayoutEstimate& e = *fitting[i];
        const bool ckpt = !e.fits;
        bars.push_back({tr("%1pp%2 dp%3 ep%4%5").arg(i == 0 ? tr("recommended\n") : QString()).arg(e.layout.pp).arg(e.layout.dp).arg(e.layout.ep).arg(
                            ckpt ? tr("\n+checkpointing") : QString()),
                        e.memory, ckpt});
    }
    struct Part {
        QString name;
        QColor color;
        double (*value)(const MemoryBreakdown&, bool);
    };
    const Part parts[] = {
        {tr("weights"), QColor(0x4a, 0x90, 0xd9), [](const MemoryBreakdown& m, bool) { return m.weights; }},
        {tr("gradients"), QColor(0x9b, 0x59, 0xb6), [](const MemoryBreakdown& m, bool) { return m.gradients; }},
        {tr("optimizer state"), QColor(0xe6, 0x7e, 0x22), [](const MemoryBreakdown& m, bool) { return m.optimizer; }},
        {tr("activations"), QColor(0x2e, 0xcc, 0x71), [](const MemoryBreakdown& m, bool c) { return c ? m.activationsCheckpointed : m.activations; }},
        {tr("all-to-all buffers"), QColor(0x1a, 0xbc, 0x9c), [](const MemoryBreakdown& m, bool c) { return c ? m.allToAllCheckpointed : m.allToAll; }},
        {tr("runtime overhead"), QColor(0x95, 0xa5, 0xa6), [](const MemoryBreakdown& m, bool) { return m.overhead; }},
    };
    QVector<double> ticks;
    QVector<QString> labels;
    for (size_t i = 0; i < bars.size(); ++i) ticks << static_cast<double>(i + 1), labels << bars[i].label;
    QCPBars* below = nullptr;
    double top = memorySpin_->value();
    std::vector<double> stacked(bars.size(), 0);
    for (const Part& part : parts) {
        auto* b = new QCPBars(memoryPlot_->xAxis, memoryPlot_->yAxis);
        b->setName(part.name);
        b->setBrush(part.color);
        b->setPen(Qt::NoPen);
        b->setWidth(0.6);
        QVector<double> values;
        for (size_t i = 0; i < bars.size(); ++i) {
            const double v = part.value(bars[i].memory, bars[i].checkpointing) / kGiB;
            values << v;
            stacked[i] += v;
            top = std::max(top, stacked[i]);
        }
        b->setData(ticks, values);
        if (below) b->moveAbove(below);
        below = b;
    }
    auto* limit = new QCPItemStraightLine(memoryPlot_);
    limit->point1->setCoords(0, memorySpin_->value());
    limit->point2->setCoords(1, memorySpin_->value());
    limit->setPen(QPen(QColor(0xc0, 0x39, 0x2b), 1.5, Qt::DashLine));
    auto* label = new QCPItemText(memoryPlot_);
    label->position->setCoords(0.55, memorySpin_->value());
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    label->setText(tr("device memory %1 GiB").arg(memorySpin_->value(), 0, 'f', 1));
    label->setColor(QColor(0xc0, 0x39, 0x2b));
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    ticker->addTicks(ticks, labels);
    memoryPlot_->xAxis->setTicker(ticker);
    memoryPlot_->xAxis->setRange(0.4, static_cast<double>(bars.size()) + 1.8);  // room on the right for the legend
    memoryPlot_->yAxis->setRange(0, top * 1.12);
    memoryPlot_->yAxis->setLabel(tr("GiB per device"));
    memoryPlot_->legend->setVisible(true);
    memoryPlot_->legend->setFont(QFont(font().family(), 8));
    memoryPlot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignRight | Qt::AlignTop);
    memoryPlot_->replot();
}

void LayoutPage::useSelectedLayout() {
    const auto rows = table_->selectionModel()->selectedRows();
    if (rows.isEmpty()) return;
    const int row = rows.front().row();
    setLayout(table_->item(row, PpColumn)->text().toInt(), table_->item(row, DpColumn)->text().toInt(), table_->item(row, EpColumn)->text().toInt());
}

QString LayoutPage::launchCommand() const { return commandEdit_->toPlainText(); }

void LayoutPage::updateCommand() {
    QString project = QFileInfo(session_->filePath()).absoluteFilePath();
    if (project.contains(QRegularExpression("[^A-Za-z0-9_./=:+-]"))) project = "'" + project.replace("'", "'\\''") + "'";
    const int nodes = nodesSpin_->value(), perNode = perNodeSpin_->value();
    QStringList lines;
    if (nodes == 1 && perNode == 1) {
        lines << QString("hy3 train %1").arg(project);
    } else if (nodes == 1) {
        lines << QString("hy3 launch --nproc-per-node %1 -- train %2").arg(perNode).arg(project);
    } else {
        lines << tr("# on each node, R = 0 … %1; NODE0 = the first node's host name").arg(nodes - 1);
        lines << QString("hy3 launch --nnodes %1 --node-rank $R --master NODE0:29500 --nproc-per-node %2 -- train %3").arg(nodes).arg(perNode).arg(project);
    }
    lines << tr("# Slurm: one task per device");
    lines << QString("srun --nodes %1 --ntasks-per-node %2%3 hy3 train %4")
                 .arg(nodes)
                 .arg(perNode)
                 .arg(deviceKindCombo_->currentData().toString() == "cuda" ? " --gpus-per-task 1" : "")
                 .arg(project);
    if (!problem_.isEmpty()) lines.prepend(tr("# the project's layout cannot run on this cluster yet: %1").arg(problem_));
    commandEdit_->setPlainText(lines.join("\n"));
}

void LayoutPage::copyCommand() { QApplication::clipboard()->setText(commandEdit_->toPlainText()); }

}  // namespace hy3::ui
