#pragma once
// The Data page: the project's dataset files (format detected or overridden, split), a preview of
// one record at a time exactly as training sees it (widgets/record_preview.h), and the statistics of
// the prepared token cache (widgets/data_stats_view.h). The page owns the project's data settings and
// the two workers: indexing the records and preparing the cache (with progress, cancellable).
#include "api/data_tools.h"

#include <QFutureWatcher>
#include <QWidget>

#include <atomic>
#include <memory>
#include <optional>

class QComboBox;
class QDoubleSpinBox;
class QTimer;

namespace hy3::ui {

class DataStatsView;
class DatasetEditor;
class ProjectSession;
class RecordPreview;
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
    int currentRecord() const;  // 0-based, -1 when none
    const std::optional<BrowsedRecord>& shownRecord() const;
    const std::optional<PrepareResult>& stats() const;
    TokenView* tokenView() const;
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
    void onPrepareProgress(double fraction, qint64 records);  // queued from the worker

private:
    QWidget* buildFiles();
    void scheduleReopen();
    void reopenBrowser();
    void onBrowserReady();
    void onPrepareDone();
    void reloadFields();

    ProjectSession* session_;
    DatasetEditor* datasets_;
    QDoubleSpinBox* validationSpin_;
    QComboBox* effortCombo_;
    RecordPreview* preview_;
    DataStatsView* statsView_;
    QTimer* reopenTimer_;

    std::shared_ptr<std::atomic<bool>> browserCancel_;
    QFutureWatcher<IndexResult> browserWatcher_;
    QFutureWatcher<PrepareOutcome> prepareWatcher_;
    std::shared_ptr<std::atomic<bool>> prepareCancel_;
    bool reopenPending_ = false;
    bool indexing_ = false;
    bool preparing_ = false;
    std::string dataFingerprint_;  // the settings the browser was opened with
    bool loading_ = false;         // fields follow the project without writing it back
};

}  // namespace hy3::ui
