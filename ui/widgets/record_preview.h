#pragma once
// One dataset record at a time, exactly as training sees it: the record's place (file:line, format,
// split), why training skips, drops or cuts it, and its tokens coloured by whether they count in the
// loss. Previous/next, a record number and a text search (on a worker) move through the records.
#include "api/data_tools.h"

#include <QFutureWatcher>
#include <QWidget>

#include <memory>
#include <optional>

class QHBoxLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace hy3::ui {

class TokenView;

class RecordPreview : public QWidget {
    Q_OBJECT
public:
    explicit RecordPreview(QWidget* parent = nullptr);
    ~RecordPreview() override;

    // Shows the records of `browser` from the first one; a null browser shows `error` instead.
    void setBrowser(std::shared_ptr<RecordBrowser> browser, const QString& error = QString());
    // A line above the record while the page reads the files.
    void setStatus(const QString& text);
    // Puts a control at the end of the navigation row (the page's reasoning-mode choice).
    void addNavigationWidget(QWidget* widget);

    void showRecord(int index);
    // Shows the record at `file`:`line` when the browser has it.
    void showLine(const std::string& file, int64_t line);
    void findNext(const QString& text);

    int64_t recordCount() const;
    int currentRecord() const { return current_; }  // 0-based, -1 when none
    const std::optional<BrowsedRecord>& shownRecord() const { return shown_; }
    TokenView* tokenView() const { return tokenView_; }

signals:
    void recordShown();
    void searchFinished(bool found);

private:
    void onSearchDone();

    QPushButton* prevButton_;
    QPushButton* nextButton_;
    QSpinBox* recordSpin_;
    QLabel* recordCountLabel_;
    QHBoxLayout* nav_;
    QLineEdit* searchEdit_;
    QPushButton* findButton_;
    QLabel* status_;
    QLabel* recordInfo_;
    QLabel* recordError_;
    TokenView* tokenView_;

    std::shared_ptr<RecordBrowser> browser_;
    QFutureWatcher<std::optional<int64_t>> searchWatcher_;
    std::optional<BrowsedRecord> shown_;
    int current_ = -1;
    bool searching_ = false;
    bool settingSpin_ = false;  // the spin box follows showRecord() without calling it back
};

}  // namespace hy3::ui
