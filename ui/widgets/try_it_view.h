#pragma once
// Try it: a prompt, sent as one user turn with the project's chat template, answered by one
// checkpoint or by two side by side (greedy, or with temperature and top-p), with token counts and
// time. Generation runs LibTorch, so on a joined thread.
#include "api/train_tools.h"
#include "joined_job.h"

#include <QGroupBox>

#include <functional>
#include <utility>
#include <vector>

class QComboBox;
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

signals:
    void replyReady();

private:
    void show(const TryResult& result);
    void dropStaleReplies();

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
    JoinedJob<TryResult> job_{this};
};

}  // namespace hy3::ui
