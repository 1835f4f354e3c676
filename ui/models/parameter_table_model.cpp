#include "models/parameter_table_model.h"

#include "api/common.h"
#include "number_text.h"

#include <QFont>

namespace hy3::ui {

void ParameterTableModel::setCount(const ParameterCount& count) {
    beginResetModel();
    rows_ = count.rows;
    ParameterRow total;
    total.component = "total";
    total.total = count.total;
    total.active = count.active;
    rows_.push_back(total);
    endResetModel();
}

void ParameterTableModel::clear() {
    beginResetModel();
    rows_.clear();
    endResetModel();
}

int ParameterTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int ParameterTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : 3; }

QVariant ParameterTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid()) return {};
    const ParameterRow& row = rows_[static_cast<size_t>(index.row())];
    const bool isTotal = index.row() + 1 == static_cast<int>(rows_.size());
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case 0: return QString::fromStdString(row.component);
        case 1: return groupedNumber(row.total);
        case 2: return groupedNumber(row.active);
        }
    }
    if (role == Qt::TextAlignmentRole && index.column() > 0) return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::FontRole && isTotal) {
        QFont bold;
        bold.setBold(true);
        return bold;
    }
    return {};
}

QVariant ParameterTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case 0: return tr("Component");
    case 1: return tr("Parameters");
    case 2: return tr("Active per token");
    }
    return {};
}

}  // namespace hy3::ui
