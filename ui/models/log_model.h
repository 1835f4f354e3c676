#pragma once
// A run's log as a list model (step, text, level colour), and a filter over it by level and text.
// A failed run's error can be pinned above everything else.
#include "api/run_follower.h"

#include <QAbstractListModel>
#include <QSortFilterProxyModel>

#include <vector>

namespace hy3::ui {

class LogModel : public QAbstractListModel {
    Q_OBJECT
public:
    explicit LogModel(QObject* parent = nullptr);

    void append(const api::LogLine& line);
    void setLines(const std::vector<api::LogLine>& lines);
    void clear();
    // Shows "ERROR: text" as the first row (empty text removes it).
    void pinError(const QString& text);

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;

    static constexpr int LevelRole = Qt::UserRole;  // 0 info, 1 warning, 2 error

private:
    struct Row {
        QString text;
        int level = 0;
    };
    static Row rowOf(const api::LogLine& line);
    std::vector<Row> rows_;  // rows_[0] is the pinned error when there is one
    bool pinned_ = false;
};

// Rows at or above a level whose text contains a string (case-insensitive).
class LogFilter : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit LogFilter(QObject* parent = nullptr);
    void setMinimumLevel(int level);
    void setText(const QString& text);

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override;

private:
    int minimum_ = 0;
    QString text_;
};

}  // namespace hy3::ui
