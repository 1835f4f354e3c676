#include "pages/layout_page.h"

#include "api/launch_tools.h"
#include "page_heading.h"
#include "project_session.h"
#include "widgets/layout_plan_view.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace hy3::ui {
namespace {

constexpr double kGiB = 1073741824.0;

QSpinBox* spin(const char* name, int lo, int hi) {
    auto* s = new QSpinBox;
    s->setObjectName(name);
    s->setRange(lo, hi);
    s->setKeyboardTracking(false);
    return s;
}

}  // namespace

LayoutPage::LayoutPage(ProjectSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    planView_ = new LayoutPlanView;
    auto* planBox = new QGroupBox(tr("Memory per device (the planner: hy3 plan)"));
    auto* planV = new QVBoxLayout(planBox);
    planV->addWidget(planView_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(pageHeading(tr("<h2>Layout</h2><p>How the run spreads over devices: pp x dp ranks, one per device; "
                                    "ep splits each MoE layer's experts over groups of ep replicas.</p>")));
    layout->addWidget(buildCluster());
    layout->addWidget(buildLayout());
    layout->addWidget(planBox, 1);
    layout->addWidget(buildCommands());

    for (QSpinBox* s : {nodesSpin_, perNodeSpin_, ppSpin_, dpSpin_, epSpin_}) connect(s, &QSpinBox::valueChanged, this, &LayoutPage::onLayoutEdited);
    // Memory and device kind change the plan, not whether the layout can run.
    connect(memorySpin_, &QDoubleSpinBox::valueChanged, this, [this] {
        if (!loading_ && session_->hasProject()) planAndShow();
    });
    connect(deviceKindCombo_, &QComboBox::currentIndexChanged, this, [this] {
        if (!loading_ && session_->hasProject()) planAndShow();
    });
    connect(planView_, &LayoutPlanView::layoutChosen, this, &LayoutPage::setLayout);
    connect(session_, &ProjectSession::projectReplaced, this, &LayoutPage::reloadFromProject);
    connect(session_, &ProjectSession::fileChanged, this, &LayoutPage::reloadFromProject);
    connect(session_, &ProjectSession::changed, this, [this] {
        if (!loading_) reloadFromProject();
    });

    // Until the devices are known, plan for one device of 80 GiB.
    loading_ = true;
    nodesSpin_->setValue(1);
    perNodeSpin_->setValue(1);
    memorySpin_->setValue(80);
    loading_ = false;
    // The device list only: timing a matmul here would change LibTorch's thread count under a
    // Try it that runs at the same time.
    devicesJob_.start([] { return api::systemInfo(false); }, [this](const SystemInfo& info) { onDevicesDone(info); });
    reloadFromProject();
}

QGroupBox* LayoutPage::buildCluster() {
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
    auto* box = new QGroupBox(tr("Cluster to plan for"));
    auto* form = new QFormLayout(box);
    form->addRow(tr("This machine"), devicesLabel_);
    auto* row = new QHBoxLayout;
    row->addWidget(nodesSpin_);
    row->addWidget(new QLabel(tr("nodes x")));
    row->addWidget(perNodeSpin_);
    row->addWidget(new QLabel(tr("devices per node,")));
    row->addWidget(memorySpin_);
    row->addWidget(deviceKindCombo_);
    row->addStretch();
    form->addRow(tr("Devices"), row);
    return box;
}

QGroupBox* LayoutPage::buildLayout() {
    ppSpin_ = spin("ppSpin", 1, 65536);
    dpSpin_ = spin("dpSpin", 1, 65536);
    epSpin_ = spin("epSpin", 1, 65536);
    problemLabel_ = new QLabel;
    problemLabel_->setObjectName("layoutProblem");
    problemLabel_->setWordWrap(true);
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("pipeline stages (pp)")));
    row->addWidget(ppSpin_);
    row->addWidget(new QLabel(tr("x data-parallel replicas (dp)")));
    row->addWidget(dpSpin_);
    row->addWidget(new QLabel(tr(", experts split over (ep)")));
    row->addWidget(epSpin_);
    row->addStretch();
    auto* box = new QGroupBox(tr("The project's layout"));
    auto* v = new QVBoxLayout(box);
    v->addLayout(row);
    v->addWidget(problemLabel_);
    return box;
}

QGroupBox* LayoutPage::buildCommands() {
    commandEdit_ = new QPlainTextEdit;
    commandEdit_->setObjectName("launchCommand");
    commandEdit_->setReadOnly(true);
    commandEdit_->setMaximumHeight(90);
    QFont mono("monospace");
    mono.setStyleHint(QFont::Monospace);
    commandEdit_->setFont(mono);
    auto* copy = new QPushButton(tr("Copy"));
    copy->setObjectName("copyCommandButton");
    connect(copy, &QPushButton::clicked, this, &LayoutPage::copyCommand);
    auto* box = new QGroupBox(tr("Start this run from a terminal"));
    auto* row = new QHBoxLayout(box);
    row->addWidget(commandEdit_, 1);
    row->addWidget(copy, 0, Qt::AlignTop);
    return box;
}

QTableView* LayoutPage::table() const { return planView_->table(); }
QString LayoutPage::layoutStateText() const { return problemLabel_->text(); }

void LayoutPage::onDevicesDone(const SystemInfo& info) {
    devicesKnown_ = true;
    if (info.gpus.empty()) {
        devicesLabel_->setText(tr("no GPU (%1); CPU: %2, %3 logical CPUs")
                                   .arg(info.cuda_built ? tr("CUDA found none") : tr("this build has no CUDA"), QString::fromStdString(info.cpu_model))
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
        checkLayout();
        planAndShow();
    }
    emit devicesListed();
}

void LayoutPage::readModelConfig(const QString& source) {
    configSource_ = source;
    config_.reset();
    configError_ = tr("reading the model's config…");
    configJob_.start(
        [model = source.toStdString()] {
            try {
                return std::pair<std::optional<ModelConfig>, QString>{api::modelConfigOf(model), QString()};
            } catch (const std::exception& e) {
                return std::pair<std::optional<ModelConfig>, QString>{std::nullopt, QString::fromStdString(e.what())};
            }
        },
        [this](const std::pair<std::optional<ModelConfig>, QString>& read) {
            config_ = read.first;
            configError_ = read.second;
            checkLayout();
            planAndShow();
        });
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
    if (session_->modelSource() != configSource_) readModelConfig(session_->modelSource());
    checkLayout();
    planAndShow();
}

int64_t LayoutPage::devices() const { return static_cast<int64_t>(nodesSpin_->value()) * perNodeSpin_->value(); }

Layout LayoutPage::spinLayout() const { return {ppSpin_->value(), dpSpin_->value(), epSpin_->value()}; }

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
    // Until the model's config has been read, only the rules that do not need it are checked.
    const ModelConfig unknown;
    problem_ = QString::fromStdString(api::layoutProblemFor(config_ ? *config_ : unknown, spinLayout(), devices(),
                                                            session_->settingValue("training.global_batch").get<int64_t>(),
                                                            session_->settingValue("training.micro_batch").get<int64_t>()));
    if (problem_.isEmpty() && !config_ && !configJob_.isPending()) problem_ = configError_;
    showLayoutState();
}

// One line on the project's layout that agrees with the plan below it: it cannot run (why), it
// runs but does not fit in memory, it fits only with activation checkpointing (which the project
// has off), or it can run.
void LayoutPage::showLayoutState() {
    const auto line = [this](const QString& text, const char* color) {
        problemLabel_->setText(text);
        problemLabel_->setStyleSheet(QString("color: %1;").arg(color));
    };
    if (!problem_.isEmpty()) return line(tr("Cannot run: %1").arg(problem_), "#c0392b");
    const int ranks = static_cast<int>(devices());
    const LayoutEstimate* mine = nullptr;
    if (plan_)
        for (const LayoutEstimate& e : plan_->layouts)
            if (e.valid() && e.layout.pp == ppSpin_->value() && e.layout.dp == dpSpin_->value() && e.layout.ep == epSpin_->value()) mine = &e;
    const bool checkpointing = session_->settingValue("training.activation_checkpointing").get<bool>();
    const double available = memorySpin_->value();
    if (mine && !mine->fits && !mine->fitsCheckpointed)
        return line(tr("This layout is valid for %n rank(s) but does not fit: %1 GiB per device of %2, even with activation checkpointing.",
                       nullptr, ranks)
                        .arg(mine->memory.total(true) / kGiB, 0, 'f', 1)
                        .arg(available, 0, 'f', 1),
                    "#c0392b");
    if (mine && !mine->fits && !checkpointing)
        return line(tr("This layout fits only with activation checkpointing (%1 GiB per device of %2; %3 GiB without it): turn it on "
                       "under Memory on the Training page.")
                        .arg(mine->memory.total(true) / kGiB, 0, 'f', 1)
                        .arg(available, 0, 'f', 1)
                        .arg(mine->memory.total(false) / kGiB, 0, 'f', 1),
                    "#b9770e");
    line(mine ? tr("This layout can run and fits: %n rank(s).", nullptr, ranks) : tr("This layout can run: %n rank(s).", nullptr, ranks),
         "#27ae60");
}

// The spin boxes changed: a layout that can run goes into the project; one that cannot shows why
// and leaves the project as it was.
void LayoutPage::onLayoutEdited() {
    if (loading_ || !session_->hasProject()) return;
    checkLayout();
    const ProjectFile& p = session_->project();
    const Layout layout = spinLayout();
    if (problem_.isEmpty() && (p.get("layout.pp") != layout.pp || p.get("layout.dp") != layout.dp || p.get("layout.ep") != layout.ep)) {
        loading_ = true;
        session_->setValue("layout.pp", layout.pp);
        session_->setValue("layout.dp", layout.dp);
        session_->setValue("layout.ep", layout.ep);
        loading_ = false;
    }
    planAndShow();
}

void LayoutPage::planAndShow() {
    const ProjectFile& p = session_->project();
    PlanSettings s;
    s.devices = devices();
    s.deviceMemoryBytes = memorySpin_->value() * kGiB;
    s.seqLen = session_->settingValue("training.seq_len").get<int64_t>();
    s.microBatch = session_->settingValue("training.micro_batch").get<int64_t>();
    s.globalBatch = session_->settingValue("training.global_batch").get<int64_t>();
    s.dtype = session_->settingValue("training.dtype").get<std::string>();
    s.device = deviceKindCombo_->currentData().toString().toStdString();
    // What trains changes the memory: frozen tensors hold weights only; LoRA adds its adapters.
    try {
        const Project project = p.resolve();
        s.freeze = project.training.freeze;
        s.lora = project.training.isLora();
        s.loraSpec = project.training.lora;
    } catch (const std::exception&) {
        // An invalid project: the Project page lists why; plan as if everything trains.
    }
    QString error = configError_;
    plan_.reset();
    if (config_) {
        try {
            plan_ = api::planLayoutsFor(*config_, s);
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
    }
    planView_->showPlan(plan_, error, spinLayout(), session_->settingValue("training.activation_checkpointing").get<bool>(),
                        memorySpin_->value());
    showLayoutState();
    updateCommand();
    emit planned();
}

QString LayoutPage::launchCommand() const { return commandEdit_->toPlainText(); }

void LayoutPage::updateCommand() {
    QStringList lines;
    for (const std::string& line : launchCommands(QFileInfo(session_->filePath()).absoluteFilePath().toStdString(), nodesSpin_->value(),
                                                  perNodeSpin_->value(), deviceKindCombo_->currentData().toString() == "cuda"))
        lines << QString::fromStdString(line);
    if (!problem_.isEmpty()) lines.prepend(tr("# the project's layout cannot run on this cluster yet: %1").arg(problem_));
    commandEdit_->setPlainText(lines.join("\n"));
}

void LayoutPage::copyCommand() { QApplication::clipboard()->setText(commandEdit_->toPlainText()); }

}  // namespace hy3::ui
