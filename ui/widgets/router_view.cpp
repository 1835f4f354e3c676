#include "widgets/router_view.h"

#include "run_monitor.h"
#include "widgets/train_charts.h"

#include <QComboBox>
#include <QElapsedTimer>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <qcustomplot.h>

namespace hy3::ui {

RouterView::RouterView(const RunMonitor* monitor, QWidget* parent) : QWidget(parent), monitor_(monitor) {
    mode_ = new QComboBox;
    mode_->setObjectName("routerMode");
    mode_->addItem(tr("latest step"));
    mode_->addItem(tr("last %1 steps").arg(RunMonitor::kWindow));
    connect(mode_, &QComboBox::currentIndexChanged, this, &RouterView::refresh);
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
    // Viridis-like: the largest share is yellow. (QCustomPlot's thermal gradient ends in white, so
    // the busiest experts looked like cells with no data.)
    QCPColorGradient gradient;
    gradient.setColorStopAt(0.0, QColor(0x44, 0x01, 0x54));
    gradient.setColorStopAt(0.25, QColor(0x3b, 0x52, 0x8b));
    gradient.setColorStopAt(0.5, QColor(0x21, 0x91, 0x8c));
    gradient.setColorStopAt(0.75, QColor(0x5e, 0xc9, 0x62));
    gradient.setColorStopAt(1.0, QColor(0xfd, 0xe7, 0x25));
    heatmap_->setGradient(gradient);
    connect(heatmapPlot_, &QCustomPlot::mousePress, this, &RouterView::onHeatmapClicked);

    imbalanceMetric_ = new QComboBox;
    imbalanceMetric_->setObjectName("imbalanceMetric");
    imbalanceMetric_->addItems({tr("largest load / mean"), tr("coefficient of variation"), tr("experts with no tokens")});
    connect(imbalanceMetric_, &QComboBox::currentIndexChanged, this, &RouterView::refresh);
    imbalancePlot_ = new QCustomPlot;
    imbalancePlot_->setObjectName("imbalancePlot");
    imbalancePlot_->setMinimumHeight(170);
    imbalancePlot_->xAxis->setLabel(tr("step"));
    imbalancePlot_->yAxis->setLabel(tr("per layer"));
    imbalancePlot_->legend->setFont(QFont(font().family(), 7));
    imbalancePlot_->legend->setRowSpacing(0);
    imbalanceNote_ = new QLabel;
    imbalanceNote_->setObjectName("imbalanceNote");
    imbalanceNote_->setStyleSheet("color: #666;");
    expertLabel_ = new QLabel(tr("Click a cell of the heatmap to see that expert's load and bias over time."));
    expertLabel_->setObjectName("expertLabel");
    expertPlot_ = new QCustomPlot;
    expertPlot_->setObjectName("expertPlot");
    expertPlot_->setMinimumHeight(150);
    expertPlot_->xAxis->setLabel(tr("step"));
    expertPlot_->yAxis->setLabel(tr("load share"));
    expertPlot_->yAxis2->setVisible(true);
    expertPlot_->yAxis2->setLabel(tr("bias"));

    auto* v = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Router load per MoE layer and expert over")));
    top->addWidget(mode_);
    top->addStretch();
    v->addLayout(top);
    v->addWidget(heatmapPlot_, 3);
    auto* mid = new QHBoxLayout;
    mid->addWidget(new QLabel(tr("Imbalance over time, one line per layer:")));
    mid->addWidget(imbalanceMetric_);
    mid->addWidget(imbalanceNote_);
    mid->addStretch();
    v->addLayout(mid);
    v->addWidget(imbalancePlot_, 2);
    v->addWidget(expertLabel_);
    v->addWidget(expertPlot_, 2);
}

void RouterView::refresh() {
    QElapsedTimer timer;
    timer.start();
    const auto& layers = monitor_->layers();
    const auto numbers = monitor_->layerNumbers();
    const int experts = layers.empty() ? 0 : static_cast<int>(layers.front().latest.size());
    const bool windowed = mode_->currentIndex() == 1;
    heatmap_->data()->setSize(std::max(1, experts), std::max(1, static_cast<int>(layers.size())));
    heatmap_->data()->setRange(QCPRange(0, std::max(0, experts - 1)), QCPRange(0, std::max<int>(0, static_cast<int>(layers.size()) - 1)));
    for (size_t l = 0; l < layers.size(); ++l) {
        const std::vector<double> shares = api::loadShares(layers[l], windowed);
        for (int e = 0; e < experts && e < static_cast<int>(shares.size()); ++e)
            heatmap_->data()->setCell(e, static_cast<int>(l), shares[static_cast<size_t>(e)]);
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
    refreshImbalance();
    lastRefreshMs_ = static_cast<double>(timer.nsecsElapsed()) / 1e6;
}

// One thin line per layer; only the points that arrived since the last redraw are added.
void RouterView::refreshImbalance() {
    const auto& layers = monitor_->layers();
    const int metric = imbalanceMetric_->currentIndex();
    if (imbalancePlot_->graphCount() != static_cast<int>(layers.size()) || metric != imbalanceShown_) {
        imbalancePlot_->clearGraphs();
        imbalanceShown_ = metric;
        const auto numbers = monitor_->layerNumbers();
        for (size_t l = 0; l < layers.size(); ++l) {
            QCPGraph* g = imbalancePlot_->addGraph();
            g->setName(tr("layer %1").arg(l < numbers.size() ? numbers[l] : static_cast<int>(l)));
            g->setPen(QPen(QColor::fromHsv(static_cast<int>(300 * l / std::max<size_t>(1, layers.size())), 180, 200, 140), 1));
            g->setAdaptiveSampling(true);
        }
        // A legend names each line while it fits; beyond that the hue says where a layer sits
        // (red first, violet last), which the note beside the metric says.
        imbalancePlot_->legend->setVisible(!layers.empty() && layers.size() <= kLegendLayers);
        imbalanceNote_->setText(layers.size() > kLegendLayers ? tr("colour: first MoE layer red … last violet") : QString());
    }
    for (size_t l = 0; l < layers.size(); ++l) {
        const api::Series& s = metric == 0 ? layers[l].maxOverMean : metric == 1 ? layers[l].cv : layers[l].idleExperts;
        QCPGraph* g = imbalancePlot_->graph(static_cast<int>(l));
        const size_t have = static_cast<size_t>(g->dataCount());
        if (have > s.size()) g->data()->clear();
        const size_t from = have > s.size() ? 0 : have;
        if (from < s.size())
            g->addData(QVector<double>(s.steps.begin() + static_cast<std::ptrdiff_t>(from), s.steps.end()),
                       QVector<double>(s.values.begin() + static_cast<std::ptrdiff_t>(from), s.values.end()), true);
    }
    if (layers.empty()) {  // no run shown: empty axes, not the last run's ranges
        imbalancePlot_->xAxis->setRange(0, 1);
        imbalancePlot_->yAxis->setRange(0, 1);
    } else {
        imbalancePlot_->rescaleAxes();
    }
    imbalancePlot_->replot(QCustomPlot::rpImmediateRefresh);
}

void RouterView::onHeatmapClicked(QMouseEvent* event) {
    int expert = 0, layer = 0;
    heatmap_->data()->coordToCell(heatmapPlot_->xAxis->pixelToCoord(event->pos().x()), heatmapPlot_->yAxis->pixelToCoord(event->pos().y()), &expert,
                                  &layer);
    showExpert(layer, expert);
}

void RouterView::showExpert(int layerPosition, int expert) {
    const auto numbers = monitor_->layerNumbers();
    if (layerPosition < 0 || layerPosition >= static_cast<int>(numbers.size()) || expert < 0 || historyJob_.isPending()) return;
    const int layer = numbers[static_cast<size_t>(layerPosition)];
    expertLabel_->setText(tr("Reading layer %1, expert %2 from the run store…").arg(layer).arg(expert));
    // Thousands of steps of one layer come from the store on a worker, through a connection of the
    // worker's own: the job shares nothing with the monitor, which may move on meanwhile.
    const std::string runDir = monitor_->runDir().toStdString();
    const int64_t runId = monitor_->storeRunId();
    historyJob_.start(
        [runDir, runId, layer, expert] {
            try {
                return std::pair<api::ExpertHistory, QString>{api::expertHistory(runDir, runId, layer, expert), QString()};
            } catch (const std::exception& e) {
                return std::pair<api::ExpertHistory, QString>{api::ExpertHistory{layer, expert}, QString::fromStdString(e.what())};
            }
        },
        [this](const std::pair<api::ExpertHistory, QString>& read) { onExpertHistory(read.first, read.second); });
}

void RouterView::onExpertHistory(const api::ExpertHistory& h, const QString& error) {
    auto toQ = [](const std::vector<double>& v) { return QVector<double>(v.begin(), v.end()); };
    expertPlot_->clearGraphs();
    QCPGraph* load = expertPlot_->addGraph();
    load->setName(tr("load share"));
    load->setPen(QPen(plotColor(0), 1.4));
    load->setData(toQ(h.steps), toQ(h.share), true);
    QCPGraph* b = expertPlot_->addGraph(expertPlot_->xAxis, expertPlot_->yAxis2);
    b->setName(tr("bias"));
    b->setPen(QPen(plotColor(1), 1.4));
    b->setData(toQ(h.biasSteps), toQ(h.bias), true);
    expertPlot_->rescaleAxes();
    expertPlot_->legend->setVisible(true);
    expertPlot_->replot();
    expertLabel_->setText(error.isEmpty() ? tr("Layer %1, expert %2: load share (fair share %3) and expert bias over %4 steps")
                                                .arg(h.layer)
                                                .arg(h.expert)
                                                .arg(h.experts > 0 ? 1.0 / h.experts : 0.0, 0, 'f', 4)
                                                .arg(h.steps.size())
                                          : error);
    emit expertShown();
}

}  // namespace hy3::ui
