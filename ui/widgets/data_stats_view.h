#pragma once
// The statistics of the prepared token cache: Prepare and Cancel with a progress bar, the counts per
// split, a histogram of document lengths against the sequence length, and the skipped lines (a
// click asks the page to show that line in the preview). The page runs the preparing worker.
#include "api/data_tools.h"

#include <QWidget>

#include <optional>

class QLabel;
class QListWidget;
class QListWidgetItem;
class QProgressBar;
class QPushButton;
class QCustomPlot;

namespace hy3::ui {

class DataStatsView : public QWidget {
    Q_OBJECT
public:
    explicit DataStatsView(QWidget* parent = nullptr);

    const std::optional<PrepareResult>& stats() const { return stats_; }

    // While preparing, Prepare is off, Cancel on, and the bar follows setProgress().
    void setPreparing(bool preparing);
    void setProgress(double fraction, int64_t records);
    // A cancel was asked for: Cancel goes off until preparing ends.
    void setCancelling();
    // Preparing failed or was cancelled: `message` says so; the statistics shown before stay.
    void showFailure(const QString& message, bool isError);
    void showStats(const PrepareResult& result);
    // No statistics: `message` says why (`isError` colours it).
    void clear(const QString& message, bool isError = false);

signals:
    void prepareRequested();
    void cancelRequested();
    void skippedLineClicked(const std::string& file, int64_t line);
    void statsShown();

private:
    void plotLengths(const DataStats& stats);
    void showSkipped(const PrepareResult& result);
    void onSkippedClicked(QListWidgetItem* item);

    QPushButton* prepareButton_;
    QPushButton* cancelButton_;
    QProgressBar* progress_;
    QLabel* status_;
    QLabel* statsLabel_;
    QCustomPlot* lengthPlot_;
    QListWidget* skippedList_;
    std::optional<PrepareResult> stats_;
};

}  // namespace hy3::ui
