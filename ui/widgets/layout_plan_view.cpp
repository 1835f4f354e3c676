#include "widgets/layout_plan_view.h"

#include "models/layout_table_model.h"
#include "record_table.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>

namespace hy3::ui {
namespace {

constexpr double kGiB = 1073741824.0;

// One bar of the chart: a layout's memory with its choice of checkpointing.
struct Bar {
    QString label;
    MemoryBreakdown memory;
    bool checkpointing;
};

struct Part {
    const char* name;
    QColor color;
    double (*value)(const MemoryBreakdown&, bool);
};

const Part kParts[] = {
    {"weights", QColor(0x4a, 0x90, 0xd9), [](const MemoryBreakdown& m, bool) { return m.weights; }},
    {"gradients", QColor(0x9b, 0x59, 0xb6), [](const MemoryBreakdown& m, bool) { return m.gradients; }},
    {"optimizer state", QColor(0xe6, 0x7e, 0x22), [](const MemoryBreakdown& m, bool) { return m.optimizer; }},
    {"activations", QColor(0x2e, 0xcc, 0x71), [](const MemoryBreakdown& m, bool c) { return c ? m.activationsCheckpointed : m.activations; }},
    {"all-to-all buffers", QColor(0x1a, 0xbc, 0x9c), [](const MemoryBreakdown& m, bool c) { return c ? m.allToAllCheckpointed : m.allToAll; }},
    {"runtime overhead", QColor(0x95, 0xa5, 0xa6), [](const MemoryBreakdown& m, bool) { return m.overhead; }},
};

// A bar of `e`, labelled "TITLE\npp8 dp1 ep1", with "+checkpointing" below when it is drawn with
// it and `sayCheckpointing`.
Bar barOf(const LayoutEstimate& e, const QString& title, bool checkpointing, bool sayCheckpointing = true) {
    QString label = title.isEmpty() ? QString() : title + "\n";
    label += QString("pp%1 dp%2 ep%3").arg(e.layout.pp).arg(e.layout.dp).arg(e.layout.ep);
    if (checkpointing && sayCheckpointing) label += QObject::tr("\n+checkpointing");
    return {label, e.memory, checkpointing};
}

// The project's layout, then the (up to) four fastest that fit; when none fits, the three that
// come closest (the least memory with checkpointing), so the chart shows how far over they are.
std::vector<Bar> barsOf(const LayoutPlanResult& plan, const Layout& project, bool projectCheckpointing) {
    std::vector<Bar> bars;
    for (const LayoutEstimate& e : plan.layouts)
        if (e.valid() && e.layout.pp == project.pp && e.layout.dp == project.dp && e.layout.ep == project.ep)
            bars.push_back(barOf(e, QObject::tr("project"), projectCheckpointing, false));
    std::vector<const LayoutEstimate*> fitting;
    for (const LayoutEstimate& e : plan.layouts)
        if (e.valid() && (e.fits || e.fitsCheckpointed)) fitting.push_back(&e);
    std::sort(fitting.begin(), fitting.end(), [](auto* a, auto* b) { return a->relativeTime < b->relativeTime; });
    for (size_t i = 0; i < fitting.size() && i < 4; ++i)
        bars.push_back(barOf(*fitting[i], i == 0 ? QObject::tr("recommended") : QString(), !fitting[i]->fits));
    if (!fitting.empty()) return bars;
    // The project's own layout among them too: its bar above is drawn as the project sets
    // checkpointing, these with it, and "least memory" must be the least of all.
    std::vector<const LayoutEstimate*> closest;
    for (const LayoutEstimate& e : plan.layouts)
        if (e.valid()) closest.push_back(&e);
    std::sort(closest.begin(), closest.end(), [](auto* a, auto* b) { return a->memory.total(true) < b->memory.total(true); });
    for (size_t i = 0; i < closest.size() && i < 3; ++i) bars.push_back(barOf(*closest[i], i == 0 ? QObject::tr("least memory") : QString(), true));
    return bars;
}

// "10 layouts of 8 devices tried: 3 can run, 7 cannot (the last column says why)."
QString countsText(const LayoutPlanResult& plan) {
    const auto valid = std::count_if(plan.layouts.begin(), plan.layouts.end(), [](const LayoutEstimate& e) { return e.valid(); });
    const auto total = static_cast<int64_t>(plan.layouts.size());
    QString text = QObject::tr("%1 layouts of %2 devices tried: %3 can run").arg(total).arg(plan.settings.devices).arg(valid);
    if (valid < total) text += QObject::tr(", %1 cannot (greyed; the last column says why)").arg(total - valid);
    return text + ".";
}

}  // namespace

LayoutPlanView::LayoutPlanView(QWidget* parent) : QWidget(parent) {
    summary_ = new QLabel;
    summary_->setObjectName("planSummary");
    summary_->setWordWrap(true);
    plot_ = new QCustomPlot;
    plot_->setObjectName("memoryPlot");
    plot_->setMinimumHeight(260);
    model_ = new LayoutTableModel(this);
    sorted_ = new QSortFilterProxyModel(this);
    sorted_->setSourceModel(model_);
    sorted_->setSortRole(Qt::UserRole);
    table_ = newRecordTable("planTable", sorted_);
    table_->setSortingEnabled(true);
    // The numbers as wide as they need; the reason a layout cannot run gets the rest.
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(LayoutTableModel::WhyNotColumn, QHeaderView::Stretch);
    table_->setMinimumHeight(200);
    useButton_ = new QPushButton(tr("Use this layout"));
    useButton_->setObjectName("useLayoutButton");
    useButton_->setEnabled(false);
    connect(useButton_, &QPushButton::clicked, this, &LayoutPlanView::onUseClicked);
    // Only a layout these devices can run can be used.
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        const auto rows = table_->selectionModel()->selectedRows();
        useButton_->setEnabled(!rows.isEmpty() && model_->layoutAt(sorted_->mapToSource(rows.front()).row()).valid());
    });

    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 0, 0, 0);
    v->addWidget(summary_);
    v->addWidget(plot_);
    v->addWidget(table_);
    auto* useRow = new QHBoxLayout;
    useRow->addWidget(useButton_);
    useRow->addStretch();
    v->addLayout(useRow);
}

void LayoutPlanView::showPlan(const std::optional<LayoutPlanResult>& plan, const QString& error, const Layout& project,
                              bool projectCheckpointing, double deviceGiB) {
    summary_->setText(plan ? QString::fromStdString(plan->summary) + "\n" + countsText(*plan) : error);
    summary_->setStyleSheet(plan && plan->recommended >= 0 ? "" : "color: #c0392b;");
    model_->setPlan(plan ? &*plan : nullptr);
    table_->sortByColumn(LayoutTableModel::FitsColumn, Qt::AscendingOrder);
    plot_->clearPlottables();
    plot_->clearItems();
    if (plan) plotMemory(*plan, project, projectCheckpointing, deviceGiB);
    plot_->replot();
}

void LayoutPlanView::plotMemory(const LayoutPlanResult& plan, const Layout& project, bool projectCheckpointing, double deviceGiB) {
    const std::vector<Bar> bars = barsOf(plan, project, projectCheckpointing);
    if (bars.empty()) {  // an empty chart would look like a drawing fault: say why it is empty
        auto* note = new QCPItemText(plot_);
        note->position->setType(QCPItemPosition::ptAxisRectRatio);
        note->position->setCoords(0.5, 0.5);
        note->setText(tr("No layout can run on %1 devices; the table says why.").arg(plan.settings.devices));
        note->setColor(QColor(0xc0, 0x39, 0x2b));
        plot_->legend->setVisible(false);
        plot_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
        plot_->xAxis->setTickLabels(false);
        plot_->yAxis->setRange(0, deviceGiB * 1.12);
        return;
    }
    plot_->xAxis->setTickLabels(true);
    QVector<double> ticks;
    QVector<QString> labels;
    for (size_t i = 0; i < bars.size(); ++i) ticks << static_cast<double>(i + 1), labels << bars[i].label;
    QCPBars* below = nullptr;
    double top = deviceGiB;
    std::vector<double> stacked(bars.size(), 0);
    for (const Part& part : kParts) {
        auto* b = new QCPBars(plot_->xAxis, plot_->yAxis);
        b->setName(tr(part.name));
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
    auto* limit = new QCPItemStraightLine(plot_);
    limit->point1->setCoords(0, deviceGiB);
    limit->point2->setCoords(1, deviceGiB);
    limit->setPen(QPen(QColor(0xc0, 0x39, 0x2b), 1.5, Qt::DashLine));
    auto* label = new QCPItemText(plot_);
    label->position->setCoords(0.55, deviceGiB);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    label->setText(tr("device memory %1 GiB").arg(deviceGiB, 0, 'f', 1));
    label->setColor(QColor(0xc0, 0x39, 0x2b));
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    ticker->addTicks(ticks, labels);
    plot_->xAxis->setTicker(ticker);
    plot_->xAxis->setRange(0.4, static_cast<double>(bars.size()) + 1.8);  // room on the right for the legend
    plot_->yAxis->setRange(0, top * 1.12);
    plot_->yAxis->setLabel(tr("GiB per device"));
    plot_->legend->setVisible(true);
    plot_->legend->setFont(QFont(font().family(), 8));
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignRight | Qt::AlignTop);
}

void LayoutPlanView::onUseClicked() {
    const auto rows = table_->selectionModel()->selectedRows();
    if (rows.isEmpty()) return;
    const LayoutEstimate& e = model_->layoutAt(sorted_->mapToSource(rows.front()).row());
    if (!e.valid()) return;  // greyed: it cannot run here
    emit layoutChosen(static_cast<int>(e.layout.pp), static_cast<int>(e.layout.dp), static_cast<int>(e.layout.ep));
}

}  // namespace hy3::ui
