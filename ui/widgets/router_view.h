#pragma once
// The router load of every MoE layer: a layer x expert heatmap (each cell the expert's share of the
// layer's token slots, at the latest step or over the last steps), every layer's imbalance over
// time, and one expert's load share and bias over the whole run, read from run.sqlite on a worker
// when its cell is clicked.
#include "api/run_tools.h"
#include "latest_job.h"

#include <QWidget>

class QComboBox;
class QCustomPlot;
class QCPColorMap;
class QLabel;
class QMouseEvent;

namespace hy3::ui {

class RunMonitor;

class RouterView : public QWidget {
    Q_OBJECT
public:
    explicit RouterView(const RunMonitor* monitor, QWidget* parent = nullptr);

    void refresh();  // redraws from the monitor's router load
    // Reads one expert's history from the run's store (layerPosition: its row in the heatmap).
    void showExpert(int layerPosition, int expert);
    QCPColorMap* heatmap() const { return heatmap_; }
    QCustomPlot* expertPlot() const { return expertPlot_; }
    double lastRefreshMs() const { return lastRefreshMs_; }

signals:
    void expertShown();

private:
    void refreshImbalance();
    void onHeatmapClicked(QMouseEvent* event);
    void onExpertHistory(const api::ExpertHistory& h, const QString& error);

    const RunMonitor* monitor_;
    QComboBox* mode_;
    QCustomPlot* heatmapPlot_;
    QCPColorMap* heatmap_;
    QComboBox* imbalanceMetric_;
    QCustomPlot* imbalancePlot_;
    QLabel* imbalanceNote_;
    static constexpr size_t kLegendLayers = 12;
    QLabel* expertLabel_;
    QCustomPlot* expertPlot_;
    int imbalanceShown_ = -1;  // the metric the imbalance lines hold
    double lastRefreshMs_ = 0;
    LatestJob<std::pair<api::ExpertHistory, QString>> historyJob_{this};  // the history, or why not
};

}  // namespace hy3::ui
