#include "models/dataset_table_model.h"

#include "project_session.h"

#include <QBrush>
#include <QColor>

namespace hy3::ui {

DatasetTableModel::DatasetTableModel(ProjectSession* session, QObject* parent)
    : QAbstractTableModel(parent), session_(session) {
    connect(session_, &ProjectSession::changed, this, &DatasetTableModel::reload);
    connect(session_, &ProjectSession::projectReplaced, this, &DatasetTableModel::reload);
    reload();
}

QStringList DatasetTableModel::formats() {
    return {"auto", "messages", "sharegpt", "alpaca", "prompt_completion", "text"};
}

QStringList DatasetTableModel::splits() { return {"train", "validation"}; }

void DatasetTableModel::reload() {
    beginResetModel();
    rows_ = 0;
    if (session_->hasProject()) {
        const auto datasets = session_->project().get("datasets");
        rows_ = datasets.is_array() ? static_cast<int>(datasets.size()) : 0;
    }
    endResetModel();
}

QString DatasetTableModel::field(int row, const char* name, const QString& fallback) const {
    const auto datasets = session_->project().get("datasets");
    const auto& entry = datasets[static_cast<size_t>(row)];
    if (!entry.is_object() || !entry.contains(name) || !entry[name].is_string()) return fallback;
    return QString::fromStdString(entry[name].get<std::string>());
}

int DatasetTableModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : rows_; }

int DatasetTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant DatasetTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rows_) return {};
    const QString rowKey = QString("datasets[%1]").arg(index.row());
    if (role == Qt::DisplayRole || role == Qt::EditRole) {
        switch (index.column()) {
        case PathColumn: return field(index.row(), "path", "");
        case FormatColumn: return field(index.row(), "format", "auto");
        case SplitColumn: return field(index.row(), "split", "train");
        }
    }
    if (role == Qt::ToolTipRole || role == Qt::ForegroundRole) {
        const QStringList problems = session_->problemsFor(rowKey);
        if (problems.isEmpty()) return {};
        if (role == Qt::ForegroundRole) return QBrush(QColor("#c0392b"));
        return problems.join("\n");
    }
    return {};
}

QVariant DatasetTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case PathColumn: return tr("Path");
    case FormatColumn: return tr("Format");
    case SplitColumn: return tr("Split");
    }
    return {};
}

Qt::ItemFlags DatasetTableModel::flags(const QModelIndex& index) const {
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (index.column() == FormatColumn || index.column() == SplitColumn) f |= Qt::ItemIsEditable;
    return f;
}

bool DatasetTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (role != Qt::EditRole || !index.isValid()) return false;
    const char* name = index.column() == FormatColumn ? "format" : index.column() == SplitColumn ? "split" : nullptr;
    if (!name) return false;
    const std::string key = "datasets[" + std::to_string(index.row()) + "]." + name;
    session_->setValue(key, value.toString().toStdString());
    return true;
}

}  // namespace hy3::ui
