#pragma once
// The Layout page: the devices of this machine, the cluster to plan for (nodes, devices per node,
// memory per device), the project's pipeline / data / expert parallel sizes with the reason when
// they cannot run, the planner's per-device memory as stacked bars against the device memory,
// every valid layout in a sortable table with "Use this layout", and the commands that start the
// run on one node (hy3 launch) or on a Slurm cluster (srun).
#include "api/plan_tools.h"
#include "api/system_report.h"

#include <QFutureWatcher>
#include <QWidget>

#include <optional>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QCustomPlot;

namespace hy3::ui {

class ProjectSession;

class LayoutPage : public QWidget {
    Q_OBJECT
public:
    enum Column { PpColumn, DpColumn, EpColumn, MemoryColumn, CheckpointedColumn, FitsColumn, TimeColumn, ColumnCount };

    explicit LayoutPage(ProjectSession* session, QWidget* parent = nullptr);
    ~LayoutPage() override;

    const std::optional<LayoutPlanResult>& plan() const { return plan_; }
    QString layoutProblem() const;          // the reason shown for the spin boxes' layout, or empty
    QString launchCommand() const;          // hy3 launch and srun lines
    QTableWidget* table() const { return table_; }
    bool devicesKnown() const { return devicesKnown_; }

    // The planner's inputs that are not project settings.
    void setCluster(int nodes, int devicesPerNode, double memoryGiB, const QString& deviceKind);
    void setLayout(int pp, int dp, int ep);  // as if typed into the spin boxes
    void useSelectedLayout();

signals:
    void planned();
    void devicesListed();

private slots:
    void reloadFromProject();
    void onLayoutEdited();
    void replan();
    void onDevicesDone();
    void copyCommand();

private:
    void checkLayout();  // sets problem_ and its label for the spin boxes' layout
    void planAndShow();  // runs the planner and fills the bars, the table and the commands
    int64_t devices() const;
    void fillTable();
    void plotMemory();
    void updateCommand();

    ProjectSession* session_;
    QLabel* devicesLabel_;
    QSpinBox* nodesSpin_;
    QSpinBox* perNodeSpin_;
    QDoubleSpinBox* memorySpin_;
    QComboBox* deviceKindCombo_;
    QSpinBox* ppSpin_;
    QSpinBox* dpSpin_;
    QSpinBox* epSpin_;
    QLabel* problemLabel_;
    QLabel* summaryLabel_;
    QCustomPlot* memoryPlot_;
    QTableWidget* table_;
    QPushButton* useButton_;
    QPlainTextEdit* commandEdit_;
    QFutureWatcher<SystemInfo> devicesWatcher_;
    std::optional<LayoutPlanResult> plan_;
    QString problem_;
    bool devicesKnown_ = false;
    bool loading_ = false;
};

}  // namespace hy3::ui
