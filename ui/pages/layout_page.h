#pragma once
// The Layout page: the devices of this machine, the cluster to plan for (nodes, devices per node,
// memory per device), the project's pipeline / data / expert parallel sizes with the reason when
// they cannot run, the planner's answer (widgets/layout_plan_view.h), and the commands that start
// the run on one node (hy3 launch) or on a Slurm cluster (srun). The model's config is read on a
// worker when the model changes; every edit then plans from it without touching a file.
#include "api/plan_tools.h"
#include "api/system_report.h"
#include "latest_job.h"

#include <QWidget>

#include <optional>

class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QPlainTextEdit;
class QSpinBox;
class QTableView;

namespace hy3::ui {

class LayoutPlanView;
class ProjectSession;

class LayoutPage : public QWidget {
    Q_OBJECT
public:
    explicit LayoutPage(ProjectSession* session, QWidget* parent = nullptr);

    const std::optional<LayoutPlanResult>& plan() const { return plan_; }
    bool modelKnown() const { return config_.has_value(); }  // the model's config has been read
    QString layoutProblem() const { return problem_; }        // the reason shown for the spin boxes' layout, or empty
    QString layoutStateText() const;                          // the line shown under the spin boxes
    QString launchCommand() const;                            // hy3 launch and srun lines
    QTableView* table() const;
    bool devicesKnown() const { return devicesKnown_; }

    // The planner's inputs that are not project settings.
    void setCluster(int nodes, int devicesPerNode, double memoryGiB, const QString& deviceKind);
    void setLayout(int pp, int dp, int ep);  // as if typed into the spin boxes

signals:
    void planned();
    void devicesListed();

private slots:
    void reloadFromProject();
    void onLayoutEdited();
    void onDevicesDone(const SystemInfo& info);
    void copyCommand();

private:
    QGroupBox* buildCluster();
    QGroupBox* buildLayout();
    QGroupBox* buildCommands();
    void readModelConfig(const QString& source);
    Layout spinLayout() const;
    void checkLayout();  // sets problem_ and its label for the spin boxes' layout
    void showLayoutState();
    void planAndShow();  // plans from the model's config and shows the answer and the commands
    int64_t devices() const;
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
    LayoutPlanView* planView_;
    QPlainTextEdit* commandEdit_;
    LatestJob<SystemInfo> devicesJob_{this};
    LatestJob<std::pair<std::optional<ModelConfig>, QString>> configJob_{this};  // the config, or why not
    QString configSource_;                 // the model source config_ (or configError_) belongs to
    std::optional<ModelConfig> config_;
    QString configError_;
    std::optional<LayoutPlanResult> plan_;
    QString problem_;
    bool devicesKnown_ = false;
    bool loading_ = false;
};

}  // namespace hy3::ui
