#include "models/run_list_model.h"

#include <QDateTime>
#include <QGuiApplication>
#include <QIcon>
#include <QPalette>
#include <QPainter>
#include <QPixmap>

#include <algorithm>

namespace hy3::ui {
namespace {

// A tiny loss curve in `colour`.
QPixmap sparklinePixmap(const std::vector<double>& values, const QColor& colour) {
    QPixmap pixmap(90, 22);
    pixmap.fill(Qt::transparent);
    if (values.size() < 2) return pixmap;
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(QPen(colour, 1.5));
    QPolygonF line;
    for (size_t i = 0; i < values.size(); ++i) {
        const double y = *hi > *lo ? (values[i] - *lo) / (*hi - *lo) : 0.5;
        line << QPointF(2 + 86.0 * static_cast<double>(i) / static_cast<double>(values.size() - 1), 20 - 18 * y);
    }
    p.drawPolyline(line);
    return pixmap;
}

// The runs table's loss curve: blue, and in the highlight's text colour on a selected row (blue
// on the blue selection could not be seen).
QIcon sparkline(const std::vector<double>& values, const QPalette& palette) {
    QIcon icon;
    icon.addPixmap(sparklinePixmap(values, QColor(0x4a, 0x90, 0xd9)), QIcon::Normal);
    icon.addPixmap(sparklinePixmap(values, palette.color(QPalette::HighlightedText)), QIcon::Selected);
    return icon;
}

QString lossText(double loss) { return loss >= 0 ? QString::number(loss, 'f', 4) : QString("-"); }

}  // namespace

RunListModel::RunListModel(QObject* parent) : QAbstractTableModel(parent) {}

void RunListModel::setRuns(std::vector<api::RunSummary> runs) {
    beginResetModel();
    runs_ = std::move(runs);
    sparklines_.clear();
    for (const api::RunSummary& r : runs_) sparklines_.push_back(sparkline(r.lossSketch, QGuiApplication::palette()));
    endResetModel();
}

int RunListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(runs_.size()); }

int RunListModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant RunListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid()) return {};
    const api::RunSummary& r = runs_[static_cast<size_t>(index.row())];
    if (role == Qt::UserRole) return QString::fromStdString(r.dir);
    if (role == Qt::ToolTipRole) return QString::fromStdString(r.problem.empty() ? r.dir : r.problem);
    if (role == Qt::ForegroundRole && !r.problem.empty()) return QColor(0xb0, 0x30, 0x30);
    if (role == Qt::DecorationRole && index.column() == LossColumn) return sparklines_[static_cast<size_t>(index.row())];
    if (role != Qt::DisplayRole) return {};
    switch (index.column()) {
        case NameColumn: return QString::fromStdString(r.name);
        case StateColumn: return QString::fromStdString(r.state);
        case StartedColumn:
            if (!r.problem.empty()) return QString("-");
            return QDateTime::fromSecsSinceEpoch(static_cast<qint64>(r.startedAt)).toString("yyyy-MM-dd hh:mm");
        case StepsColumn: return r.problem.empty() ? QString("%1 / %2").arg(r.steps).arg(r.totalSteps) : QString("-");
        case FinalLossColumn: return lossText(r.finalLoss);
        case BestEvalColumn: return lossText(r.bestEvalLoss);
    }
    return {};
}

QVariant RunListModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    static const char* const names[] = {"run", "state", "started", "steps", "final loss", "best eval", "loss"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

}  // namespace hy3::ui
