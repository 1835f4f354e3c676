#pragma once
// The planner's answer for one cluster: a one-line summary, the per-device memory of the project's
// layout and of the best fitting ones as stacked bars against the device memory, and every valid
// layout in a table sortable by any column, with "Use this layout".
#include "api/plan_tools.h"

#include <QWidget>

#include <optional>

class QCustomPlot;
class QLabel;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

namespace hy3::ui {

class LayoutTableModel;

class LayoutPlanView : public QWidget {
    Q_OBJECT
public:
    explicit LayoutPlanView(QWidget* parent = nullptr);

    // Shows `plan` (or `error` when there is none). `project` is the project's layout (its bar is
    // drawn with `projectCheckpointing`), `deviceGiB` the memory line.
    void showPlan(const std::optional<LayoutPlanResult>& plan, const QString& error, const Layout& project, bool projectCheckpointing,
                  double deviceGiB);
    QTableView* table() const { return table_; }

signals:
    void layoutChosen(int pp, int dp, int ep);

private:
    void plotMemory(const LayoutPlanResult& plan, const Layout& project, bool projectCheckpointing, double deviceGiB);
    void onUseClicked();

    QLabel* summary_;
    QCustomPlot* plot_;
    QTableView* table_;
    LayoutTableModel* model_;
    QSortFilterProxyModel* sorted_;
    QPushButton* useButton_;
};

}  // namespace hy3::ui
