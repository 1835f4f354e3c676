#pragma once
// The Train page's charts of a run: training loss (raw and smoothed) with the eval loss and a
// log-scale switch, learning rate, gradient norm, tokens/s and peak memory. Every point is kept;
// QCustomPlot's adaptive sampling draws a decimated view of long series.
#include "api/run_follower.h"

#include <QWidget>

#include <map>
#include <string>
#include <vector>

class QCheckBox;
class QLabel;
class QSlider;
class QCustomPlot;

namespace hy3::ui {

class TrainCharts : public QWidget {
    Q_OBJECT
public:
    explicit TrainCharts(QWidget* parent = nullptr);

    // Redraws from the run's series (kept by reference: the log-scale switch redraws them).
    void show(const std::map<std::string, api::Series>& metrics);
    int lossPoints() const;
    // The smoothed loss's EMA weight (TensorBoard's slider: 0 none, 0.99 heavy; default 0.6).
    double smoothing() const;
    void setSmoothing(double weight);
    // The smoothed loss as drawn (for tests).
    std::vector<double> smoothedLoss() const;
    // The charts as one PNG picture; every series as CSV (a step column, one column per metric,
    // empty where a metric has no point at that step). Both written atomically; false with
    // `error` set when the file cannot be written.
    bool savePng(const QString& path, QString* error);
    bool saveCsv(const QString& path, QString* error) const;

private:
    QCustomPlot* makePlot(const QString& name, const QString& title, const QString& yLabel);
    void askAndSave(bool png);

    QCustomPlot* loss_;
    QCustomPlot* lr_;
    QCustomPlot* grad_;
    QCustomPlot* speed_;
    QCustomPlot* memory_;
    QCheckBox* logScale_;
    QSlider* smoothing_;  // weight x 100
    QLabel* smoothingValue_;
    const std::map<std::string, api::Series>* shown_ = nullptr;
};

// The colours of the pages' plots, in order.
QColor plotColor(size_t i);

}  // namespace hy3::ui
