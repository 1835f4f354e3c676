#include "models/log_model.h"

#include <QColor>

namespace hy3::ui {

LogModel::LogModel(QObject* parent) : QAbstractListModel(parent) {}

LogModel::Row LogModel::rowOf(const api::LogLine& line) {
    const int level = line.level == "error" ? 2 : line.level == "warning" ? 1 : 0;
    return {QString("%1  %2").arg(static_cast<qint64>(line.step), 6).arg(QString::fromStdString(line.text)), level};
}

void LogModel::append(const api::LogLine& line) {
    const int row = static_cast<int>(rows_.size());
    beginInsertRows({}, row, row);
    rows_.push_back(rowOf(line));
    endInsertRows();
}

void LogModel::setLines(const std::vector<api::LogLine>& lines) {
    beginResetModel();
    rows_.clear();
    pinned_ = false;
    for (const api::LogLine& line : lines) rows_.push_back(rowOf(line));
    endResetModel();
}

void LogModel::clear() { setLines({}); }

void LogModel::pinError(const QString& text) {
    if (pinned_) {
        beginRemoveRows({}, 0, 0);
        rows_.erase(rows_.begin());
        pinned_ = false;
        endRemoveRows();
    }
    if (text.isEmpty()) return;
    beginInsertRows({}, 0, 0);
    rows_.insert(rows_.begin(), Row{tr("ERROR: %1").arg(text), 2});
    pinned_ = true;
    endInsertRows();
}

int LogModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }

QVariant LogModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid()) return {};
    const Row& r = rows_[static_cast<size_t>(index.row())];
    if (role == Qt::DisplayRole) return r.text;
    if (role == LevelRole) return r.level;
    if (role == Qt::ForegroundRole && r.level == 2) return QColor(0xc0, 0x39, 0x2b);
    if (role == Qt::ForegroundRole && r.level == 1) return QColor(0xb9, 0x77, 0x0e);
    return {};
}

LogFilter::LogFilter(QObject* parent) : QSortFilterProxyModel(parent) {}

void LogFilter::setMinimumLevel(int level) {
    minimum_ = level;
    invalidateFilter();
}

void LogFilter::setText(const QString& text) {
    text_ = text;
    invalidateFilter();
}

bool LogFilter::filterAcceptsRow(int row, const QModelIndex& parent) const {
    const QModelIndex index = sourceModel()->index(row, 0, parent);
    if (index.data(LogModel::LevelRole).toInt() < minimum_) return false;
    return text_.isEmpty() || index.data().toString().contains(text_, Qt::CaseInsensitive);
}

}  // namespace hy3::ui
