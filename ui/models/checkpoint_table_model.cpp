#include "models/checkpoint_table_model.h"

#include <QDateTime>

#include <nlohmann/json.hpp>

namespace hy3::ui {
namespace {

QString sizeText(int64_t bytes) {
    if (bytes <= 0) return "-";
    const double mib = static_cast<double>(bytes) / 1048576.0;
    return mib >= 1024 ? QString("%1 GiB").arg(mib / 1024, 0, 'f', 2) : QString("%1 MiB").arg(mib, 0, 'f', 1);
}

QString metricText(const std::string& metricsJson, const char* key) {
    const auto j = nlohmann::json::parse(metricsJson.empty() ? "{}" : metricsJson, nullptr, false);
    return j.is_object() && j.contains(key) && j[key].is_number() ? QString::number(j[key].get<double>(), 'f', 4) : QString("-");
}

}  // namespace

CheckpointTableModel::CheckpointTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void CheckpointTableModel::setRecords(std::vector<CheckpointRecord> records) {
    beginResetModel();
    records_ = std::move(records);
    endResetModel();
}

int CheckpointTableModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(records_.size()); }

int CheckpointTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant CheckpointTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid()) return {};
    const CheckpointRecord& r = records_[static_cast<size_t>(index.row())];
    if (role == Qt::UserRole) return QString::fromStdString(r.path);
    if (role == Qt::ToolTipRole && index.column() == StepColumn) return QString::fromStdString(r.path);
    if (role != Qt::DisplayRole) return {};
    switch (index.column()) {
        case StepColumn: return QString::number(r.step);
        case TimeColumn: return QDateTime::fromSecsSinceEpoch(static_cast<qint64>(r.created_at)).toString("yyyy-MM-dd hh:mm:ss");
        case LossColumn: return metricText(r.metrics_json, "loss");
        case EvalColumn: return metricText(r.metrics_json, "eval_loss");
        case SizeColumn: return sizeText(r.size_bytes);
        case StatusColumn: return QString::fromStdString(r.status);
        case ParentColumn:
            for (const CheckpointRecord& p : records_)
                if (r.parent_id && p.id == r.parent_id) return tr("step %1").arg(p.step);
            return QString("-");
    }
    return {};
}

QVariant CheckpointTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    static const char* const names[] = {"step", "saved", "train loss", "eval loss", "size", "status", "parent"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

}  // namespace hy3::ui
