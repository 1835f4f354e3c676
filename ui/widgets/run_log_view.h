#pragma once
// A run's log, filterable by text and by level; a failed run's error can be pinned on top.
#include "api/run_follower.h"

#include <QWidget>

class QComboBox;
class QLineEdit;
class QListView;

namespace hy3::ui {

class LogFilter;
class LogModel;

class RunLogView : public QWidget {
    Q_OBJECT
public:
    explicit RunLogView(QWidget* parent = nullptr);

    void append(const api::LogLine& line);
    void setLines(const std::vector<api::LogLine>& lines);
    void clear();
    void pinError(const QString& error);
    int shownRows() const;  // after the filter
    QListView* list() const { return list_; }

private:
    QLineEdit* filter_;
    QComboBox* level_;
    QListView* list_;
    LogModel* model_;
    LogFilter* filtered_;
};

}  // namespace hy3::ui
