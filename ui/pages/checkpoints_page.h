#pragma once
// The Checkpoints page: the checkpoint records of the run on the Train page (step, time, losses,
// size, status, parent) with their actions: resume from here (first saying whether the resume is
// exact or weights-only, and why), export as an HF model directory, verify, compare with the source
// model (`hy3 checkpoint compare`'s figures), open the folder, delete (confirmed; never the one
// LATEST names while the run is going). Records and resume checks are read on workers; export,
// verify, compare and delete run on a joined thread. Try it below (widgets/try_it_view.h).
#include "api/checkpoint_tools.h"
#include "api/run_tools.h"
#include "joined_job.h"
#include "latest_job.h"

#include <QWidget>

#include <functional>
#include <utility>
#include <vector>

class QLabel;
class QProgressBar;
class QPushButton;
class QTableView;

namespace hy3::ui {

class CheckpointTableModel;
class ProjectSession;
class TrainPage;
class TryItView;

class CheckpointsPage : public QWidget {
    Q_OBJECT
public:
    CheckpointsPage(ProjectSession* session, TrainPage* train, QWidget* parent = nullptr);
    ~CheckpointsPage() override;

    QTableView* table() const { return table_; }
    const std::vector<CheckpointRecord>& records() const;
    void selectStep(int64_t step);
    // The selected checkpoint's resume check, as shown above the actions (read on a worker).
    QString resumeText() const;
    // A LoRA checkpoint's adapter: rank, alpha, parameters and which modules of which layers (empty otherwise).
    QString adapterText() const;
    bool resumeCheckPending() const { return resumeJob_.isPending(); }
    bool resumeSelected(QString* error = nullptr);
    // Deletes the selected checkpoint on the action thread (actionFinished() follows).
    bool deleteSelected(bool confirmed, QString* error = nullptr);
    void verifySelected();
    void exportSelected(const QString& destination);
    // Runs the probe through the project's source model and the selected checkpoint; false (with
    // the reason) when there is nothing to compare with.
    bool compareSelectedWithSource(QString* error = nullptr);
    // Try it: `checkpointB` may be empty.
    void tryPrompt(const QString& prompt, const QString& checkpointA, const QString& checkpointB);
    bool isBusy() const { return busy_; }
    QString replyText(int side) const;
    TryItView* tryIt() const { return tryIt_; }
    QString actionResult() const;

signals:
    void refreshed();
    void actionFinished();
    void replyReady();
    void resumeChecked();

public slots:
    void refresh();

private slots:
    void onSelectionChanged();

private:
    void offerHeldOutQuestions();
    QWidget* buildActions();
    QString selectedPath() const;
    // True when the selected checkpoint lies in the run's folder, or the user agrees to `action`
    // on one outside it.
    bool confirmOutsideRun(const QString& action);
    void showRecords(std::vector<CheckpointRecord> records, const QString& error);
    void checkResume(const QString& path, int64_t step);
    void runAction(const QString& title, std::function<QString()> work);
    void updateButtons();
    QString compareSourceProblem() const;

    ProjectSession* session_;
    TrainPage* train_;
    QString runDir_;
    CheckpointTableModel* model_;
    QTableView* table_;
    QLabel* resumeInfo_;
    QLabel* adapterInfo_;
    QLabel* actionLabel_;
    QProgressBar* busyBar_;
    QPushButton* resumeButton_;
    QPushButton* exportButton_;
    QPushButton* verifyButton_;
    QPushButton* compareButton_;
    QPushButton* openButton_;
    QPushButton* deleteButton_;
    TryItView* tryIt_;
    LatestJob<std::pair<std::vector<CheckpointRecord>, QString>> recordsJob_{this};  // the records, or why not
    // What the selected checkpoint's worker read: the resume check (or why it failed) and, for a
    // LoRA checkpoint, its adapter's coverage.
    struct Details {
        api::ResumeCheck check;
        QString error;
        QString adapter;
    };
    LatestJob<Details> resumeJob_{this};
    JoinedJob<QString> actionJob_{this};  // export (LibTorch), verify and delete
    bool busy_ = false;
    bool resumeExact_ = false;
};

}  // namespace hy3::ui
