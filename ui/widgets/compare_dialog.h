#pragma once
// Two or more runs side by side: their smoothed training loss curves overlaid, and the settings
// that differ from the first run's. The stores are read on a worker.
#include "api/run_tools.h"
#include "latest_job.h"

#include <QDialog>

class QCustomPlot;
class QListWidget;

namespace hy3::ui {

class CompareDialog : public QDialog {
    Q_OBJECT
public:
    CompareDialog(const QStringList& runDirs, QWidget* parent = nullptr);

signals:
    void filled();  // the curves and differences are shown

private:
    void fill(const std::vector<api::RunCurve>& curves);

    QCustomPlot* plot_;
    QListWidget* diff_;
    LatestJob<std::vector<api::RunCurve>> readJob_{this};
};

}  // namespace hy3::ui
