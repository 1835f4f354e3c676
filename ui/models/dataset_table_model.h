#pragma once
// The project's dataset list as a table: path (relative to the project), format, split. Format and
// split are editable; edits go straight into the project document.
#include <QAbstractTableModel>

namespace hy3::ui {

class ProjectSession;

class DatasetTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { PathColumn, FormatColumn, SplitColumn, ColumnCount };

    explicit DatasetTableModel(ProjectSession* session, QObject* parent = nullptr);

    static QStringList formats();
    static QStringList splits();

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role) override;

private slots:
    void reload();

private:
    QString field(int row, const char* name, const QString& fallback) const;
    ProjectSession* session_;
    int rows_ = 0;
};

}  // namespace hy3::ui
