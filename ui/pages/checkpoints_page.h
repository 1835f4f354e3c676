#pragma once
// The Checkpoints page: the checkpoint records of the run on the Train page (step, time, losses,
// size, status, parent) with their actions: resume from here (first saying whether the resume is
// exact or weights-only, and why), export as an HF model directory, verify, open the folder, delete
// (confirmed; never the one LATEST names while the run is going). "Try it" below: a prompt answered
// by one checkpoint, or by two side by side, greedy or sampled, on a worker thread.
#include "api/checkpoint_tools.h"
#include "api/run_tools.h"
#include "api/train_tools.h"

#include "joined_job.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QTextBrowser;

namespace hy3::ui {

class ProjectSession;
class TrainPage;

struct TryResult {
    std::vector<api::GenerateResult> replies;  // one per checkpoint asked
    QString error;
};

class CheckpointsPage : public QWidget {
    Q_OBJECT
public:
    CheckpointsPage(ProjectSession* session, TrainPage* train, QWidget* parent = nullptr);
    ~CheckpointsPage() override;

    QTableWidget* table() const { return table_; }
    const std::vector<CheckpointRecord>& records() const { return records_; }
    void selectStep(int64_t step);
    // The selected checkpoint's resume check, as shown above the actions.
    QString resumeText() const;
    bool resumeSelected(QString* error = nullptr);
    bool deleteSelected(bool confirmed, QString* error = nullptr);
    void verifySelected();
    void exportSelected(const QString& destination);
    // Try it: `checkpointB` may be empty.
    void tryPrompt(const QString& prompt, const QString& checkpointA, const QString& checkpointB);
    bool isBusy() const { return busy_; }
    QString replyText(int side) const;
    QString actionResult() const;

signals:
    void refreshed();
    void actionFinished();
    void replyReady();

public slots:
    void refresh();

private slots:
    void onSelectionChanged();

private:
    void onTryDone(const TryResult& result);
    QWidget* buildTry();
    QString selectedPath() const;
    void runAction(const QString& title, std::function<QString()> work);

    ProjectSession* session_;
    TrainPage* train_;
    QString runDir_;
    std::vector<CheckpointRecord> records_;
    QTableWidget* table_;
    QLabel* resumeInfo_;
    QLabel* actionLabel_;
    QProgressBar* busyBar_;
    QPushButton* resumeButton_;
    QPushButton* exportButton_;
    QPushButton* verifyButton_;
    QPushButton* openButton_;
    QPushButton* deleteButton_;
    QPlainTextEdit* prompt_;
    QComboBox* checkpointA_;
    QComboBox* checkpointB_;
    QDoubleSpinBox* temperature_;
    QDoubleSpinBox* topP_;
    QSpinBox* maxTokens_;
    QPushButton* tryButton_;
    QTextBrowser* replyA_;
    QTextBrowser* replyB_;
    // Verify and export, and Try it: export and generation run LibTorch, so joined threads.
    JoinedJob<QString> actionJob_{this};
    JoinedJob<TryResult> tryJob_{this};
    bool busy_ = false;
    bool resumeExact_ = false;
};

}  // namespace hy3::ui
