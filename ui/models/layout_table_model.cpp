#include "models/layout_table_model.h"

#include <QColor>

namespace hy3::ui {
namespace {

constexpr double kGiB = 1073741824.0;

}  // namespace

LayoutTableModel::LayoutTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void LayoutTableModel::setPlan(const LayoutPlanResult* plan) {
    beginResetModel();
    rows_.clear();
    recommendedRow_ = -1;
    if (plan)
        for (size_t i = 0; i < plan->layouts.size(); ++i) {
            if (static_cast<int>(i) == plan->recommended) recommendedRow_ = static_cast<int>(rows_.size());
            rows_.push_back(plan->layouts[i]);
        }
    endResetModel();
}

int LayoutTableModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }

int LayoutTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant LayoutTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid()) return {};
    const LayoutEstimate& e = rows_[static_cast<size_t>(index.row())];
    if (role == Qt::BackgroundRole) return index.row() == recommendedRow_ ? QVariant(QColor(0xd5, 0xf5, 0xe3)) : QVariant();
    if (role == Qt::ForegroundRole && !e.valid()) return QColor(0x88, 0x88, 0x88);
    if (role == Qt::ToolTipRole && !e.valid()) return QString::fromStdString(e.problem);  // the reason whole, however narrow the column
    if (role == Qt::TextAlignmentRole)
        return static_cast<int>((index.column() == WhyNotColumn ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
    const double plain = e.memory.total(false) / kGiB, ckpt = e.memory.total(true) / kGiB;
    const bool sortKey = role == Qt::UserRole;
    if (role != Qt::DisplayRole && !sortKey) return {};
    if (!e.valid() && index.column() >= MemoryColumn) {
        // A layout these devices cannot run has no memory or time; it sorts last by any of them.
        if (index.column() == WhyNotColumn) return QString::fromStdString(e.problem);
        if (sortKey) return 1e12;
        return index.column() == FitsColumn ? tr("cannot run") : QString("-");
    }
    switch (index.column()) {
        case PpColumn: return sortKey ? QVariant(static_cast<double>(e.layout.pp)) : QVariant(QString::number(e.layout.pp));
        case DpColumn: return sortKey ? QVariant(static_cast<double>(e.layout.dp)) : QVariant(QString::number(e.layout.dp));
        case EpColumn: return sortKey ? QVariant(static_cast<double>(e.layout.ep)) : QVariant(QString::number(e.layout.ep));
        case MemoryColumn: return sortKey ? QVariant(plain) : QVariant(QString::number(plain, 'f', 2));
        case CheckpointedColumn: return sortKey ? QVariant(ckpt) : QVariant(QString::number(ckpt, 'f', 2));
        case FitsColumn:
            // Sorting by this column puts what fits first, fastest first within each kind.
            if (sortKey) return (e.fits ? 0 : e.fitsCheckpointed ? 1 : 2) * 1e6 + e.relativeTime;
            return e.fits ? tr("yes, without checkpointing") : e.fitsCheckpointed ? tr("only with checkpointing") : tr("no, not even with checkpointing");
        case TimeColumn:
            if (sortKey) return e.relativeTime > 0 ? e.relativeTime : 1e9;
            return e.relativeTime > 0 ? QString::number(e.relativeTime, 'f', 2) : QString("-");
        case WhyNotColumn: return QString();
    }
    return {};
}

QVariant LayoutTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    static const char* const names[] = {"pp",   "dp", "ep", "GiB per device", "GiB, checkpointing", "fits in memory",
                                        "relative step time", "why it cannot run"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

}  // namespace hy3::ui
