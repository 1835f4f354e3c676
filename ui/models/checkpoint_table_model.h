#pragma once
// A run's checkpoint records as a table: step, time saved, train and eval loss, size, status and
// parent. Qt::UserRole of any cell is the checkpoint's folder.
#include "api/run_tools.h"

#include <QAbstractTableModel>

#include <vector>

namespace hy3::ui {

class CheckpointTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { StepColumn, TimeColumn, LossColumn, EvalColumn, SizeColumn, StatusColumn, ParentColumn, ColumnCount };

    explicit CheckpointTableModel(QObject* parent = nullptr);

    void setRecords(std::vector<CheckpointRecord> records);
    const std::vector<CheckpointRecord>& records() const { return records_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<CheckpointRecord> records_;
};

}  // namespace hy3::ui
