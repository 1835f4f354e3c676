#pragma once
// Parameter counts per component (total and active per token) for the Model page.
#include "api/model_report.h"

#include <QAbstractTableModel>

namespace hy3::ui {

class ParameterTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;

    void setCount(const ParameterCount& count);
    void clear();

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<ParameterRow> rows_;  // components, then a "total" row
};

}  // namespace hy3::ui
