#pragma once
// The Data page: the project's dataset files (format detected or overridden, split), a preview of
// one record at a time exactly as training sees it (rendered with the chat template, every token
// coloured by whether it counts in the loss, its id on hover), and the statistics of the prepared
// token cache with a length histogram and the skipped lines. Indexing, searching and preparing run
// on worker threads; preparing shows progress and can be cancelled.
#include "api/data_tools.h"

#include <QFutureWatcher>
#include <QWidget>

#include <atomic>
#include <memory>
#include <optional>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTimer;
class QCustomPlot;

namespace hy3::ui {

class DatasetEditor;
class ProjectSession;
class TokenView;

// What the workers hand back: the value, or the error that stopped them.
struct IndexResult {
    std::shared_ptr<RecordBrowser> browser;
    std::optional<PrepareResult> cache;  // statistics of a cache prepared before
    QString error;
    bool cancelled = false;
};
struct PrepareOutcome {
    std::optional<PrepareResult> result;
    QString error;
    bool cancelled = false;
};

class DataPage : public QWidget {
    Q_OBJECT
public:
    explicit DataPage(ProjectSession* session, QWidget* parent = nullptr);
    ~DataPage() override;

    // State for tests and the screenshot script.
    // True from a request until its result is on screen (a queued worker is not "running" yet).
    bool isIndexing() const { return indexing_ || reopenPending_; }
    bool isPreparing() const { return preparing_; }
    int64_t recordCount() const;
    int currentRecord() const { return current_; }  // 0-based, -1 when none
    const std::optional<BrowsedRecord>& shownRecord() const { return shown_; }
    const std::optional<PrepareResult>& stats() const { return stats_; }
    TokenView* tokenView() const { return tokenView_; }
    DatasetEditor* datasets() const { return datasets_; }

    void showRecord(int index);
    void findNext(const QString& text);
    void prepare();
    void cancelPrepare();

signals:
    void browserReady();      // the records are indexed (or the error is shown)
    void recordShown();
    void searchFinished(bool found);
    void prepareFinished();   // done, failed or cancelled
    void statsShown();

private slots:
    void scheduleReopen();
    void reopenBrowser();
    void onBrowserReady();
    void onPrepareDone();
    void onSearchDone();
    void onSkippedClicked(QListWidgetItem* item);
    void onEffortChosen(int index);
    void onValidationFractionChanged(double value);
    void reloadFields();
    void onPrepareProgress(double fraction, qint64 records);

private:
    QWidget* buildPreview();
    QWidget* buildStatistics();
    void showStats(const PrepareResult& result);
    void clearStats(const QString& message);
    void plotLengths(const DataStats& stats);

    ProjectSession* session_;
    DatasetEditor* datasets_;
    QDoubleSpinBox* validationSpin_;
    QComboBox* effortCombo_;
    QLabel* browserStatus_;
    QPushButton* prevButton_;
    QPushButton* nextButton_;
    QSpinBox* recordSpin_;
    QLabel* recordCountLabel_;
    QLineEdit* searchEdit_;
    QPushButton* findButton_;
    QLabel* recordInfo_;
    QLabel* recordError_;
    TokenView* tokenView_;
    QPushButton* prepareButton_;
    QPushButton* cancelButton_;
    QProgressBar* progress_;
    QLabel* prepareStatus_;
    QLabel* statsLabel_;
    QCustomPlot* lengthPlot_;
    QListWidget* skippedList_;
    QTimer* reopenTimer_;

    std::shared_ptr<RecordBrowser> browser_;
    std::shared_ptr<std::atomic<bool>> browserCancel_;
    QFutureWatcher<IndexResult> browserWatcher_;
    QFutureWatcher<PrepareOutcome> prepareWatcher_;
    std::shared_ptr<std::atomic<bool>> prepareCancel_;
    QFutureWatcher<std::optional<int64_t>> searchWatcher_;
    std::optional<BrowsedRecord> shown_;
    std::optional<PrepareResult> stats_;
    int current_ = -1;
    bool reopenPending_ = false;
    bool indexing_ = false;
    bool preparing_ = false;
    bool searching_ = false;
    std::string dataFingerprint_;  // the settings the browser was opened with
    bool loading_ = false;
};

}  // namespace hy3::ui
