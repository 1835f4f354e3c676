#pragma once
// The Project page: name, model source, datasets, chat template and output folder of the open
// project, each with its validation problems right under it.
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace hy3::ui {

class DatasetEditor;
class ProjectSession;

class ProjectPage : public QWidget {
    Q_OBJECT
public:
    explicit ProjectPage(ProjectSession* session, QWidget* parent = nullptr);

    // What the Add buttons do after their file dialogs; public so tests can drive them.
    void addDatasetPaths(const QStringList& paths);

signals:
    void showModelPageRequested();

private slots:
    void reloadFields();
    void refreshDerived();
    void onNameEdited(const QString& text);
    void onOutputDirEdited(const QString& text);
    void onTemplateChoiceChanged(int index);
    void onTemplatePathEdited(const QString& text);
    void onBrowseOutputClicked();
    void onBrowseTemplateClicked();

private:
    QString otherProblemsText() const;

    ProjectSession* session_;
    DatasetEditor* datasets_;
    QLineEdit* nameEdit_;
    QLabel* fileLabel_;
    QLabel* modelLabel_;
    QComboBox* templateCombo_;
    QLineEdit* templatePathEdit_;
    QPushButton* templateBrowseButton_;
    QLineEdit* outputDirEdit_;
    QLabel* otherProblems_;
    bool loading_ = false;
};

}  // namespace hy3::ui
