#pragma once
// The runs of the project's output folder (name, state, start, steps, final and best eval loss, a
// sparkline), listed on a worker (every run.sqlite is opened); open one or compare several.
#include "api/run_tools.h"
#include "latest_job.h"

#include <QWidget>

class QTableView;

namespace hy3::ui {

class RunListModel;

class RunsView : public QWidget {
    Q_OBJECT
public:
    explicit RunsView(QWidget* parent = nullptr);

    // Lists the runs under `outputDir` (runsListed() follows).
    void refresh(const QString& outputDir);
    const std::vector<api::RunSummary>& runs() const;
    QTableView* table() const { return table_; }

signals:
    void runsListed();
    void openRequested(const QString& runDir);
    void compareRequested(const QStringList& runDirs);

private:
    QStringList selectedDirs() const;

    QTableView* table_;
    RunListModel* model_;
    QString outputDir_;
    LatestJob<std::vector<api::RunSummary>> listJob_{this};
};

}  // namespace hy3::ui
