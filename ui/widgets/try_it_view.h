#pragma once
// Try it: a prompt, sent as one user turn with the project's chat template, answered by one
// checkpoint or by two side by side (greedy, or with temperature and top-p), with token counts and
// time; and a question file ({"question", "answer"} lines, as `hy3 generate --questions` reads)
// scored on both checkpoints, each reply marked right or wrong. Generation runs LibTorch, so on a
// joined thread.
#include "api/train_tools.h"
#include "joined_job.h"

#include <QGroupBox>

#include <functional>
#include <utility>
#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QTableWidget;
class QDoubleSpinBox;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTextBrowser;

namespace hy3::ui {

struct TryResult {
    std::vector<api::GenerateResult> replies;  // one per checkpoint asked
    QString error;
};

struct ScoreResult {
    std::vector<api::QuestionScore> scores;  // one per checkpoint scored
    QStringList labels;                      // their names
    QString error;
};

class TryItView : public QGroupBox {
    Q_OBJECT
public:
    // `baseRequest` gives the project's chat settings (template, reasoning effort) at each ask.
    explicit TryItView(std::function<api::GenerateRequest()> baseRequest, QWidget* parent = nullptr);
    ~TryItView() override;

    // The complete checkpoints to choose from: (label, folder), oldest first.
    void setCheckpoints(const std::vector<std::pair<QString, QString>>& checkpoints);
    // `checkpointB` may be empty.
    void ask(const QString& prompt, const QString& checkpointA, const QString& checkpointB);
    QString replyText(int side) const;
    // Answers every question of `file` with `checkpointA` (and `checkpointB`, may be empty) and
    // scores the replies; scored() follows.
    void score(const QString& file, const QString& checkpointA, const QString& checkpointB);
    void setQuestionsFile(const QString& file);
    QString scoreSummary() const;
    QTableWidget* scoreTable() const { return scoreTable_; }

signals:
    void replyReady();
    void scored();

private:
    void show(const TryResult& result);
    void dropStaleReplies();
    void showScores(const ScoreResult& result);
    api::GenerateRequest decodingRequest() const;
    QWidget* buildScoring();

    std::function<api::GenerateRequest()> baseRequest_;
    QPlainTextEdit* prompt_;
    QComboBox* checkpointA_;
    QComboBox* checkpointB_;
    QDoubleSpinBox* temperature_;
    QDoubleSpinBox* topP_;
    QSpinBox* maxTokens_;
    QPushButton* tryButton_;
    QTextBrowser* replyA_;
    QTextBrowser* replyB_;
    QString askedA_, askedB_;  // the checkpoints of the replies shown
    QLineEdit* questions_;
    QPushButton* scoreButton_;
    QLabel* scoreSummary_;
    QTableWidget* scoreTable_;
    JoinedJob<TryResult> job_{this};
    JoinedJob<ScoreResult> scoreJob_{this};
};

}  // namespace hy3::ui
