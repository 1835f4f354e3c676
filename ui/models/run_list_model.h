#pragma once
// The runs of an output folder as a table: name, state, start, steps, final loss, best eval loss
// and a sparkline of the loss. Qt::UserRole of any cell is the run's directory.
#include "api/run_tools.h"

#include <QAbstractTableModel>
#include <QIcon>

#include <vector>

namespace hy3::ui {

class RunListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { NameColumn, StateColumn, StartedColumn, StepsColumn, FinalLossColumn, BestEvalColumn, LossColumn, ColumnCount };

    explicit RunListModel(QObject* parent = nullptr);

    void setRuns(std::vector<api::RunSummary> runs);
    const std::vector<api::RunSummary>& runs() const { return runs_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<api::RunSummary> runs_;
    std::vector<QIcon> sparklines_;
};

}  // namespace hy3::ui
