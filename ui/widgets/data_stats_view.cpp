#include "widgets/data_stats_view.h"

#include "api/common.h"
#include "number_text.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>

namespace hy3::ui {
namespace {

QString percent(double fraction) { return QString::number(100.0 * fraction, 'f', 1) + "%"; }

QString splitRows(const QString& name, const SplitStats& x) {
    const double lossShare = x.tokens > 0 ? static_cast<double>(x.lossTokens) / static_cast<double>(x.tokens) : 0;
    return QObject::tr("<tr><td colspan=2><b>%1</b></td></tr>"
                       "<tr><td>documents</td><td align=right>%2</td></tr>"
                       "<tr><td>tokens</td><td align=right>%3</td></tr>"
                       "<tr><td>in the loss</td><td align=right>%4 (%5)</td></tr>"
                       "<tr><td>truncated / dropped</td><td align=right>%6 / %7</td></tr>"
                       "<tr><td>longest</td><td align=right>%8</td></tr>"
                       "<tr><td>rows per epoch</td><td align=right>%9</td></tr>"
                       "<tr><td>packing efficiency</td><td align=right>%10</td></tr>")
        .arg(name, groupedNumber(x.documents), groupedNumber(x.tokens), groupedNumber(x.lossTokens), percent(lossShare), groupedNumber(x.truncated),
             groupedNumber(x.dropped), groupedNumber(x.longest))
        .arg(groupedNumber(x.rows), percent(x.packingEfficiency));
}

QCPBars* addBars(QCustomPlot* plot, const QVector<double>& x, const QVector<double>& y, double width, QColor colour, const QString& name) {
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setWidth(width * 0.9);
    bars->setData(x, y);
    bars->setBrush(colour);
    bars->setPen(Qt::NoPen);
    bars->setName(name);
    return bars;
}

}  // namespace

DataStatsView::DataStatsView(QWidget* parent) : QWidget(parent) {
    prepareButton_ = new QPushButton(tr("Prepare"));
    prepareButton_->setObjectName("prepareButton");
    prepareButton_->setToolTip(tr("Tokenize every record into the token cache (hy3 prepare); an unchanged cache is reused"));
    cancelButton_ = new QPushButton(tr("Cancel"));
    cancelButton_->setObjectName("cancelPrepareButton");
    cancelButton_->setEnabled(false);
    progress_ = new QProgressBar;
    progress_->setObjectName("prepareProgress");
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    progress_->setVisible(false);  // shown while preparing only: beside "not prepared yet" a full bar misleads
    status_ = new QLabel;
    status_->setObjectName("prepareStatus");
    status_->setWordWrap(true);
    statsLabel_ = new QLabel;
    statsLabel_->setObjectName("statsLabel");
    statsLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    statsLabel_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    lengthPlot_ = new QCustomPlot;
    lengthPlot_->setObjectName("lengthPlot");
    lengthPlot_->setMinimumSize(360, 220);
    lengthPlot_->setVisible(false);  // an empty box until there is a histogram
    skippedList_ = new QListWidget;
    skippedList_->setObjectName("skippedList");
    skippedList_->setMinimumHeight(80);
    skippedList_->setToolTip(tr("Click a line to open it in the preview"));

    auto* top = new QHBoxLayout;
    top->addWidget(prepareButton_);
    top->addWidget(cancelButton_);
    top->addWidget(progress_, 1);
    auto* columns = new QHBoxLayout;
    columns->addWidget(statsLabel_);
    columns->addWidget(lengthPlot_, 1);
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 0, 0, 0);
    v->addLayout(top);
    v->addWidget(status_);
    v->addLayout(columns);
    v->addWidget(new QLabel(tr("Skipped lines (training leaves them out; click one to see it above):")));
    v->addWidget(skippedList_);

    connect(prepareButton_, &QPushButton::clicked, this, &DataStatsView::prepareRequested);
    connect(cancelButton_, &QPushButton::clicked, this, &DataStatsView::cancelRequested);
    connect(skippedList_, &QListWidget::itemClicked, this, &DataStatsView::onSkippedClicked);
}

void DataStatsView::setPreparing(bool preparing) {
    prepareButton_->setEnabled(!preparing);
    cancelButton_->setEnabled(preparing);
    progress_->setVisible(preparing);
    if (preparing) {
        progress_->setValue(0);
        status_->setText(tr("Preparing…"));
        status_->setStyleSheet("");
    }
}

void DataStatsView::setProgress(double fraction, int64_t records) {
    progress_->setValue(static_cast<int>(1000 * fraction));
    status_->setText(tr("Preparing… %1 records").arg(groupedNumber(records)));
}

void DataStatsView::setCancelling() { cancelButton_->setEnabled(false); }

void DataStatsView::showFailure(const QString& message, bool isError) {
    progress_->setValue(0);
    progress_->setVisible(false);
    status_->setText(message);
    status_->setStyleSheet(isError ? "color: #c0392b;" : "");
}

void DataStatsView::clear(const QString& message, bool isError) {
    stats_.reset();
    showFailure(message, isError);
    statsLabel_->clear();
    skippedList_->clear();
    lengthPlot_->clearPlottables();
    lengthPlot_->clearItems();
    lengthPlot_->replot();
    lengthPlot_->setVisible(false);
}

void DataStatsView::showStats(const PrepareResult& result) {
    stats_ = result;
    const DataStats& s = result.stats;
    progress_->setValue(1000);
    progress_->setVisible(false);
    status_->setText((result.reused ? tr("Token cache reused (inputs unchanged): %1") : tr("Token cache written: %1"))
                         .arg(QString::fromStdString(result.cacheDir.string())));
    status_->setStyleSheet("");
    statsLabel_->setText(tr("<table cellspacing=2><tr><td>records read</td><td align=right>%1</td></tr>"
                            "<tr><td>lines skipped</td><td align=right>%2</td></tr>"
                            "<tr><td>sequence length</td><td align=right>%3</td></tr>")
                             .arg(groupedNumber(s.recordsRead), groupedNumber(s.recordsSkipped), groupedNumber(s.seqLen)) +
                         splitRows(tr("train"), s.train) + splitRows(tr("validation"), s.validation) + "</table>");
    showSkipped(result);
    plotLengths(s);
    emit statsShown();
}

void DataStatsView::showSkipped(const PrepareResult& result) {
    const DataStats& s = result.stats;
    skippedList_->clear();
    for (const SkippedLine& k : s.skipped) {
        auto* item = new QListWidgetItem(QString("%1:%2 — %3").arg(QFileInfo(QString::fromStdString(k.file)).fileName()).arg(k.line).arg(
            QString::fromStdString(k.reason)));
        item->setData(Qt::UserRole, QString::fromStdString(k.file));
        item->setData(Qt::UserRole + 1, static_cast<qlonglong>(k.line));
        skippedList_->addItem(item);
    }
    if (s.recordsSkipped > static_cast<int64_t>(s.skipped.size()))
        skippedList_->addItem(tr("… %1 more in %2/skipped.jsonl").arg(groupedNumber(s.recordsSkipped - static_cast<int64_t>(s.skipped.size())),
                                                                      QString::fromStdString(result.cacheDir.string())));
}

void DataStatsView::plotLengths(const DataStats& s) {
    lengthPlot_->clearPlottables();
    lengthPlot_->clearItems();
    const auto& histogram = s.train.histogram;
    lengthPlot_->setVisible(!histogram.empty() && s.histogramWidth > 0);
    if (histogram.empty() || s.histogramWidth <= 0) {
        lengthPlot_->replot();
        return;
    }
    // Bars at each bin's centre; the last bin holds everything longer than seq_len and sits past the line.
    QVector<double> x, y;
    const double width = static_cast<double>(s.histogramWidth);
    for (size_t b = 0; b + 1 < histogram.size(); ++b) {
        x << (static_cast<double>(b) + 0.5) * width;
        y << static_cast<double>(histogram[b]);
    }
    const auto seqLen = static_cast<double>(s.seqLen);
    const QColor red(0xd9, 0x53, 0x4f);
    addBars(lengthPlot_, x, y, width, QColor(0x4a, 0x90, 0xd9), tr("documents"));
    addBars(lengthPlot_, {seqLen + 0.5 * width}, {static_cast<double>(histogram.back())}, width, red,
            s.train.dropped > 0 ? tr("longer: dropped") : tr("longer: cut"));
    auto* limit = new QCPItemStraightLine(lengthPlot_);
    limit->point1->setCoords(seqLen, 0);
    limit->point2->setCoords(seqLen, 1);
    limit->setPen(QPen(red, 1.5, Qt::DashLine));
    auto* label = new QCPItemText(lengthPlot_);
    label->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
    label->setText(tr("max length %1").arg(s.seqLen));
    label->setColor(red);
    lengthPlot_->xAxis->setLabel(tr("tokens per document (train split)"));
    lengthPlot_->yAxis->setLabel(tr("documents"));
    lengthPlot_->xAxis->setRange(0, seqLen + 1.5 * width);
    const double top = std::max<double>(1, static_cast<double>(*std::max_element(histogram.begin(), histogram.end())));
    lengthPlot_->yAxis->setRange(0, top * 1.15);
    label->position->setCoords(seqLen, top * 1.13);  // just left of the line, at the top
    lengthPlot_->legend->setVisible(true);
    lengthPlot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignHCenter | Qt::AlignTop);
    lengthPlot_->replot();
}

void DataStatsView::onSkippedClicked(QListWidgetItem* item) {
    if (!item->data(Qt::UserRole).isValid()) return;
    emit skippedLineClicked(item->data(Qt::UserRole).toString().toStdString(), item->data(Qt::UserRole + 1).toLongLong());
}

}  // namespace hy3::ui
