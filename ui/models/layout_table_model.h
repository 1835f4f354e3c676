#pragma once
// Every layout the planner tried as a table: pp, dp, ep, memory per device without and with
// activation checkpointing, whether it fits (and whether only with checkpointing), relative step
// time, and for a layout that cannot run on these devices, why (greyed). Each cell's Qt::UserRole
// is its sort key (numbers sort as numbers; "fits" sorts what fits first, fastest first, layouts
// that cannot run last); the recommended layout's row is tinted.
#include "api/plan_tools.h"

#include <QAbstractTableModel>

#include <vector>

namespace hy3::ui {

class LayoutTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { PpColumn, DpColumn, EpColumn, MemoryColumn, CheckpointedColumn, FitsColumn, TimeColumn, WhyNotColumn, ColumnCount };

    explicit LayoutTableModel(QObject* parent = nullptr);

    // The layouts of `plan` (nothing when it is empty).
    void setPlan(const LayoutPlanResult* plan);
    const LayoutEstimate& layoutAt(int row) const { return rows_[static_cast<size_t>(row)]; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<LayoutEstimate> rows_;
    int recommendedRow_ = -1;
};

}  // namespace hy3::ui
