#include "widgets/train_charts.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QMessageBox>
#include <QPushButton>
#include <QSaveFile>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>

#include <qcustomplot.h>

#include <cmath>


namespace hy3::ui {
namespace {

QVector<double> toQVector(const std::vector<double>& v) { return QVector<double>(v.begin(), v.end()); }

QCPGraph* addGraph(QCustomPlot* plot, const QString& name, QColor color, bool dots = false) {
    QCPGraph* g = plot->addGraph();
    g->setName(name);
    g->setPen(QPen(color, dots ? 0 : 1.4));
    if (dots) {
        g->setLineStyle(QCPGraph::lsLine);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, color, 6));
    }
    g->setAdaptiveSampling(true);  // draws a decimated view of long series; the data stay whole
    return g;
}

}  // namespace

QColor plotColor(size_t i) {
    static const QColor palette[] = {QColor(0x4a, 0x90, 0xd9), QColor(0xd9, 0x53, 0x4f), QColor(0x2e, 0xcc, 0x71),
                                     QColor(0x9b, 0x59, 0xb6), QColor(0xe6, 0x7e, 0x22), QColor(0x1a, 0xbc, 0x9c)};
    return palette[i % 6];
}

TrainCharts::TrainCharts(QWidget* parent) : QWidget(parent) {
    loss_ = makePlot("lossPlot", tr("Loss"), tr("loss"));
    addGraph(loss_, tr("train (raw)"), QColor(0x4a, 0x90, 0xd9, 90));
    addGraph(loss_, tr("train (smoothed)"), QColor(0x1f, 0x5f, 0xa8));
    addGraph(loss_, tr("eval"), QColor(0xd9, 0x53, 0x4f), true);
    loss_->legend->setVisible(true);
    loss_->legend->setFont(QFont(font().family(), 8));
    lr_ = makePlot("lrPlot", tr("Learning rate"), tr("lr"));
    addGraph(lr_, tr("lr"), plotColor(2));
    grad_ = makePlot("gradPlot", tr("Gradient norm (before clipping)"), tr("norm"));
    addGraph(grad_, tr("grad norm"), plotColor(3));
    speed_ = makePlot("speedPlot", tr("Tokens per second"), tr("tokens/s"));
    addGraph(speed_, tr("tokens/s"), plotColor(4));
    memory_ = makePlot("memoryPlot", tr("Memory (largest rank)"), tr("MiB"));
    addGraph(memory_, tr("RSS peak"), plotColor(5));
    addGraph(memory_, tr("GPU allocated"), plotColor(1));
    addGraph(memory_, tr("GPU reserved"), plotColor(2));
    addGraph(memory_, tr("GPU step peak"), plotColor(3));

    logScale_ = new QCheckBox(tr("log scale"));
    logScale_->setObjectName("logScaleCheck");
    connect(logScale_, &QCheckBox::toggled, this, [this](bool on) {
        loss_->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        loss_->yAxis->setTicker(on ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog) : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        if (shown_) show(*shown_);
    });
    smoothing_ = new QSlider(Qt::Horizontal);
    smoothing_->setObjectName("smoothingSlider");
    smoothing_->setRange(0, 99);
    smoothing_->setValue(60);
    smoothing_->setMaximumWidth(200);
    smoothing_->setToolTip(tr("Weight of the exponential moving average, bias-corrected at the start as TensorBoard's"));
    smoothingValue_ = new QLabel;
    connect(smoothing_, &QSlider::valueChanged, this, [this](int v) {
        smoothingValue_->setText(QString::number(v / 100.0, 'f', 2));
        if (shown_) show(*shown_);
    });
    smoothingValue_->setText(QString::number(smoothing(), 'f', 2));
    auto* lossOptions = new QHBoxLayout;
    lossOptions->addWidget(logScale_);
    lossOptions->addSpacing(20);
    lossOptions->addWidget(new QLabel(tr("smoothing")));
    lossOptions->addWidget(smoothing_);
    lossOptions->addWidget(smoothingValue_);
    lossOptions->addStretch();
    auto* savePng = new QPushButton(tr("Save PNG…"));
    savePng->setObjectName("saveChartsPngButton");
    savePng->setToolTip(tr("The charts as one picture"));
    auto* saveCsv = new QPushButton(tr("Save CSV…"));
    saveCsv->setObjectName("saveChartsCsvButton");
    saveCsv->setToolTip(tr("Every point of every series: one row per step, one column per metric"));
    connect(savePng, &QPushButton::clicked, this, [this] { askAndSave(true); });
    connect(saveCsv, &QPushButton::clicked, this, [this] { askAndSave(false); });
    lossOptions->addWidget(savePng);
    lossOptions->addWidget(saveCsv);
    auto* grid = new QGridLayout(this);
    grid->addWidget(loss_, 0, 0, 1, 2);
    grid->addLayout(lossOptions, 1, 0, 1, 2);
    grid->addWidget(lr_, 2, 0);
    grid->addWidget(grad_, 2, 1);
    grid->addWidget(speed_, 3, 0);
    grid->addWidget(memory_, 3, 1);
    grid->setRowStretch(0, 2);
}

QCustomPlot* TrainCharts::makePlot(const QString& name, const QString& title, const QString& yLabel) {
    auto* plot = new QCustomPlot;
    plot->setObjectName(name);
    plot->setMinimumHeight(170);
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, title, QFont(font().family(), 9, QFont::Bold)));
    plot->xAxis->setLabel(tr("step"));
    // Steps are whole: ticks at integer multiples (1, 2, 5, 10, ... apart), never at 2.5.
    auto steps = QSharedPointer<QCPAxisTickerFixed>::create();
    steps->setTickStep(1.0);
    steps->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot->xAxis->setTicker(steps);
    plot->yAxis->setLabel(yLabel);
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    return plot;
}

void TrainCharts::show(const std::map<std::string, api::Series>& metrics) {
    shown_ = &metrics;
    auto series = [&](const char* key) -> const api::Series* {
        const auto it = metrics.find(key);
        return it == metrics.end() ? nullptr : &it->second;
    };
    auto set = [this](QCPGraph* graph, const api::Series* s, double scale = 1.0, bool smooth = false) {
        if (!s) {
            graph->data()->clear();
            return;
        }
        std::vector<double> values = smooth ? api::smoothed(s->values, smoothing()) : s->values;
        if (scale != 1.0)
            for (double& v : values) v *= scale;
        graph->setData(toQVector(s->steps), toQVector(values), true);
    };
    set(loss_->graph(0), series("loss"));
    set(loss_->graph(1), series("loss"), 1.0, true);
    set(loss_->graph(2), series("eval_loss"));
    set(lr_->graph(0), series("lr"));
    set(grad_->graph(0), series("grad_norm"));
    set(speed_->graph(0), series("tokens_per_s"));
    set(memory_->graph(0), series("rss_bytes"), 1.0 / 1048576.0);
    set(memory_->graph(1), series("cuda_allocated_bytes"), 1.0 / 1048576.0);
    set(memory_->graph(2), series("cuda_reserved_bytes"), 1.0 / 1048576.0);
    set(memory_->graph(3), series("cuda_peak_bytes"), 1.0 / 1048576.0);
    for (QCustomPlot* plot : {loss_, lr_, grad_, speed_, memory_}) {
        bool empty = true;
        for (int g = 0; g < plot->graphCount(); ++g) empty = empty && plot->graph(g)->data()->isEmpty();
        if (empty) {  // no run shown: empty axes, not the last run's ranges
            plot->xAxis->setRange(0, 1);
            plot->yAxis->setRange(plot->yAxis->scaleType() == QCPAxis::stLogarithmic ? 0.1 : 0, 1);
        } else {
            plot->rescaleAxes(true);
        }
        plot->replot(QCustomPlot::rpQueuedReplot);
    }
}

int TrainCharts::lossPoints() const { return loss_->graph(0)->dataCount(); }

double TrainCharts::smoothing() const { return smoothing_->value() / 100.0; }

void TrainCharts::setSmoothing(double weight) { smoothing_->setValue(static_cast<int>(std::lround(weight * 100))); }

std::vector<double> TrainCharts::smoothedLoss() const {
    std::vector<double> out;
    for (auto it = loss_->graph(1)->data()->constBegin(); it != loss_->graph(1)->data()->constEnd(); ++it) out.push_back(it->value);
    return out;
}

void TrainCharts::askAndSave(bool png) {
    const QString path = QFileDialog::getSaveFileName(this, png ? tr("Save the charts as PNG") : tr("Save the series as CSV"),
                                                      png ? "charts.png" : "metrics.csv", png ? tr("PNG (*.png)") : tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    QString error;
    if (!(png ? savePng(path, &error) : saveCsv(path, &error))) QMessageBox::warning(this, tr("Cannot save"), error);
}

bool TrainCharts::savePng(const QString& path, QString* error) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !grab().save(&file, "PNG") || !file.commit()) {
        if (error) *error = tr("%1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

bool TrainCharts::saveCsv(const QString& path, QString* error) const {
    static const std::map<std::string, api::Series> none;
    const auto& metrics = shown_ ? *shown_ : none;
    // Rows by step; a metric's column is empty at the steps it was not measured (eval, say).
    std::map<double, std::vector<const double*>> rows;
    size_t column = 0;
    for (const auto& [name, series] : metrics) {
        for (size_t i = 0; i < series.size(); ++i) {
            auto& row = rows[series.steps[i]];
            row.resize(metrics.size(), nullptr);
            row[column] = &series.values[i];
        }
        ++column;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
        if (error) *error = tr("%1: %2").arg(path, file.errorString());
        return false;
    }
    QByteArray header = "step";
    for (const auto& entry : metrics) header += "," + QByteArray::fromStdString(entry.first);
    file.write(header + "\n");
    for (const auto& [step, values] : rows) {
        QByteArray line = QByteArray::number(step, 'g', 12);
        for (size_t c = 0; c < metrics.size(); ++c) line += "," + (c < values.size() && values[c] ? QByteArray::number(*values[c], 'g', 9) : "");
        file.write(line + "\n");
    }
    if (!file.commit()) {
        if (error) *error = tr("%1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

}  // namespace hy3::ui
