#include "widgets/try_it_view.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHeaderView>
#include <QLineEdit>
#include <QTableWidget>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace hy3::ui {
namespace {

// `ask` once per model, with the request aimed at it; the first failure ends it, its message in
// `error`.
template <typename Result, typename Ask>
std::vector<Result> askEach(const api::GenerateRequest& request, const QStringList& models, Ask ask, QString* error) {
    std::vector<Result> out;
    try {
        for (const QString& model : models) {
            api::GenerateRequest r = request;
            r.model = model.toStdString();
            out.push_back(ask(r));
        }
    } catch (const std::exception& e) {
        *error = QString::fromStdString(e.what());
    }
    return out;
}

}  // namespace

TryItView::TryItView(std::function<api::GenerateRequest()> baseRequest, QWidget* parent)
    : QGroupBox(tr("Try it"), parent), baseRequest_(std::move(baseRequest)) {
    prompt_ = new QPlainTextEdit;
    prompt_->setObjectName("tryPrompt");
    prompt_->setPlaceholderText(tr("A prompt, sent as one user turn with the model's chat template"));
    prompt_->setMaximumHeight(70);
    checkpointA_ = new QComboBox;
    checkpointA_->setObjectName("tryCheckpointA");
    checkpointB_ = new QComboBox;
    checkpointB_->setObjectName("tryCheckpointB");
    temperature_ = new QDoubleSpinBox;
    temperature_->setObjectName("tryTemperature");
    temperature_->setRange(0, 2);
    temperature_->setSingleStep(0.1);
    temperature_->setToolTip(tr("0 = greedy"));
    topP_ = new QDoubleSpinBox;
    topP_->setObjectName("tryTopP");
    topP_->setRange(0.05, 1);
    topP_->setSingleStep(0.05);
    topP_->setValue(1);
    maxTokens_ = new QSpinBox;
    maxTokens_->setObjectName("tryMaxTokens");
    maxTokens_->setRange(1, 4096);
    maxTokens_->setValue(64);
    tryButton_ = new QPushButton(tr("Generate"));
    tryButton_->setObjectName("tryButton");
    replyA_ = new QTextBrowser;
    replyA_->setObjectName("replyA");
    replyB_ = new QTextBrowser;
    replyB_->setObjectName("replyB");
    auto* options = new QHBoxLayout;
    options->addWidget(new QLabel(tr("A")));
    options->addWidget(checkpointA_, 1);
    options->addWidget(new QLabel(tr("B")));
    options->addWidget(checkpointB_, 1);
    options->addWidget(new QLabel(tr("temperature")));
    options->addWidget(temperature_);
    options->addWidget(new QLabel(tr("top-p")));
    options->addWidget(topP_);
    options->addWidget(new QLabel(tr("max tokens")));
    options->addWidget(maxTokens_);
    options->addWidget(tryButton_);
    auto* replies = new QHBoxLayout;
    replies->addWidget(replyA_);
    replies->addWidget(replyB_);
    auto* v = new QVBoxLayout(this);
    v->addWidget(prompt_);
    v->addLayout(options);
    v->addLayout(replies, 1);
    v->addWidget(buildScoring(), 1);
    connect(tryButton_, &QPushButton::clicked, this,
            [this] { ask(prompt_->toPlainText(), checkpointA_->currentData().toString(), checkpointB_->currentData().toString()); });
    connect(checkpointA_, QOverload<int>::of(&QComboBox::currentIndexChanged), this, &TryItView::dropStaleReplies);
    connect(checkpointB_, QOverload<int>::of(&QComboBox::currentIndexChanged), this, &TryItView::dropStaleReplies);
}

// A reply stays only beside the checkpoint it came from: choosing another one clears it.
void TryItView::dropStaleReplies() {
    if (checkpointA_->currentData().toString() != askedA_) replyA_->clear();
    if (checkpointB_->currentData().toString() != askedB_) replyB_->clear();
}

TryItView::~TryItView() {  // no generation outlives the window
    job_.join();
    scoreJob_.join();
}

QWidget* TryItView::buildScoring() {
    questions_ = new QLineEdit;
    questions_->setObjectName("tryQuestionsFile");
    questions_->setPlaceholderText(tr("a JSONL file of {\"question\": ..., \"answer\": ...} held out from training"));
    auto* browse = new QPushButton(tr("Browse…"));
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Question file"), questions_->text(), tr("JSONL (*.jsonl);;All files (*)"));
        if (!file.isEmpty()) questions_->setText(file);
    });
    scoreButton_ = new QPushButton(tr("Score A and B"));
    scoreButton_->setObjectName("scoreButton");
    scoreButton_->setToolTip(tr("Ask every question (greedy unless a temperature is set) and count the replies equal to their answer, "
                                "as hy3 generate --questions does"));
    connect(scoreButton_, &QPushButton::clicked, this,
            [this] { score(questions_->text().trimmed(), checkpointA_->currentData().toString(), checkpointB_->currentData().toString()); });
    scoreSummary_ = new QLabel;
    scoreSummary_->setObjectName("scoreSummary");
    scoreSummary_->setWordWrap(true);
    scoreSummary_->setTextFormat(Qt::RichText);
    scoreTable_ = new QTableWidget;
    scoreTable_->setObjectName("scoreTable");
    scoreTable_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    scoreTable_->verticalHeader()->hide();
    scoreTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    scoreTable_->setMinimumHeight(120);
    scoreTable_->hide();
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Questions")));
    row->addWidget(questions_, 1);
    row->addWidget(browse);
    row->addWidget(scoreButton_);
    auto* box = new QWidget;
    auto* v = new QVBoxLayout(box);
    v->setContentsMargins(0, 0, 0, 0);
    v->addLayout(row);
    v->addWidget(scoreSummary_);
    v->addWidget(scoreTable_, 1);
    return box;
}

// The project's chat settings with the decoding the form sets.
api::GenerateRequest TryItView::decodingRequest() const {
    api::GenerateRequest request = baseRequest_();
    request.maxNewTokens = maxTokens_->value();
    request.temperature = temperature_->value();
    request.topP = topP_->value();
    return request;
}

void TryItView::setQuestionsFile(const QString& file) { questions_->setText(file); }
QString TryItView::scoreSummary() const { return scoreSummary_->text(); }

void TryItView::score(const QString& file, const QString& checkpointA, const QString& checkpointB) {
    if (file.isEmpty() || checkpointA.isEmpty() || scoreJob_.isRunning() || job_.isRunning()) return;
    scoreButton_->setEnabled(false);
    tryButton_->setEnabled(false);
    scoreSummary_->setText(tr("Answering the questions…"));
    const api::GenerateRequest request = decodingRequest();
    QStringList models{checkpointA};
    QStringList labels{checkpointA_->itemText(std::max(0, checkpointA_->findData(checkpointA)))};
    if (!checkpointB.isEmpty()) models << checkpointB, labels << checkpointB_->itemText(std::max(0, checkpointB_->findData(checkpointB)));
    scoreJob_.start(
        [request, models, labels, file] {
            ScoreResult out;
            out.labels = labels;
            try {
                const std::vector<api::Question> questions = api::readQuestions(file.toStdString());
                out.scores = askEach<api::QuestionScore>(request, models, [&](const api::GenerateRequest& r) { return api::scoreQuestions(r, questions); },
                                                         &out.error);
            } catch (const std::exception& e) {
                out.error = QString::fromStdString(e.what());
            }
            return out;
        },
        [this](const ScoreResult& result) { showScores(result); });
}

// One row per question: its answer, then each checkpoint's reply, green when it matches.
void TryItView::showScores(const ScoreResult& r) {
    scoreButton_->setEnabled(true);
    tryButton_->setEnabled(true);
    if (!r.error.isEmpty()) {
        scoreSummary_->setText(r.error);
        scoreTable_->hide();
        emit scored();
        return;
    }
    QStringList summary;
    for (size_t i = 0; i < r.scores.size(); ++i) {
        const api::QuestionScore& s = r.scores[i];
        summary << (s.scored > 0 ? tr("%1: <b>%2 of %3</b> correct (%4%)").arg(r.labels[static_cast<int>(i)].toHtmlEscaped()).arg(s.right).arg(s.scored).arg(
                                       100.0 * static_cast<double>(s.right) / static_cast<double>(s.scored), 0, 'f', 0)
                                 : tr("%1: no question has an answer to score").arg(r.labels[static_cast<int>(i)].toHtmlEscaped()));
    }
    scoreSummary_->setText(summary.join(" · "));
    const auto& questions = r.scores.front().questions;
    scoreTable_->clear();
    scoreTable_->setRowCount(static_cast<int>(questions.size()));
    scoreTable_->setColumnCount(2 + static_cast<int>(r.scores.size()));
    QStringList headers{tr("question"), tr("answer")};
    for (const QString& label : r.labels) headers << label;
    scoreTable_->setHorizontalHeaderLabels(headers);
    for (size_t q = 0; q < questions.size(); ++q) {
        const int row = static_cast<int>(q);
        scoreTable_->setItem(row, 0, new QTableWidgetItem(QString::fromStdString(questions[q].question)));
        scoreTable_->setItem(row, 1, new QTableWidgetItem(QString::fromStdString(questions[q].answer)));
        for (size_t c = 0; c < r.scores.size(); ++c) {
            auto* cell = new QTableWidgetItem(QString::fromStdString(r.scores[c].replies[q].text));
            if (!questions[q].answer.empty()) cell->setBackground(r.scores[c].correct[q] ? QColor(0xd5, 0xf5, 0xe3) : QColor(0xfa, 0xdb, 0xd8));
            scoreTable_->setItem(row, 2 + static_cast<int>(c), cell);
        }
    }
    scoreTable_->show();
    emit scored();
}

void TryItView::setCheckpoints(const std::vector<std::pair<QString, QString>>& checkpoints) {
    const QString keepA = checkpointA_->currentData().toString(), keepB = checkpointB_->currentData().toString();
    const QSignalBlocker blockA(checkpointA_), blockB(checkpointB_);  // one check at the end, not one per item
    checkpointA_->clear();
    checkpointB_->clear();
    checkpointB_->addItem(tr("(none)"), QString());
    for (const auto& [label, path] : checkpoints) {
        checkpointA_->addItem(label, path);
        checkpointB_->addItem(label, path);
    }
    // A keeps its choice, else the newest; B keeps its choice, else none.
    if (checkpointA_->count() > 0)
        checkpointA_->setCurrentIndex(checkpointA_->findData(keepA) >= 0 ? checkpointA_->findData(keepA) : checkpointA_->count() - 1);
    if (checkpointB_->findData(keepB) >= 0) checkpointB_->setCurrentIndex(checkpointB_->findData(keepB));
    dropStaleReplies();
}

void TryItView::ask(const QString& prompt, const QString& checkpointA, const QString& checkpointB) {
    if (prompt.trimmed().isEmpty() || checkpointA.isEmpty() || job_.isRunning() || scoreJob_.isRunning()) return;
    askedA_ = checkpointA;
    askedB_ = checkpointB;
    // The form shows what is being asked, also when the request came from elsewhere.
    if (prompt_->toPlainText() != prompt) prompt_->setPlainText(prompt);
    if (checkpointA_->findData(checkpointA) >= 0) checkpointA_->setCurrentIndex(checkpointA_->findData(checkpointA));
    checkpointB_->setCurrentIndex(std::max(0, checkpointB_->findData(checkpointB)));
    tryButton_->setEnabled(false);
    scoreButton_->setEnabled(false);
    replyA_->setPlainText(tr("Generating…"));
    replyB_->setPlainText(checkpointB.isEmpty() ? QString() : tr("Generating…"));
    api::GenerateRequest request = decodingRequest();
    request.prompts = {prompt.toStdString()};
    QStringList models{checkpointA};
    if (!checkpointB.isEmpty()) models << checkpointB;
    job_.start(
        [request, models] {
            TryResult out;
            out.replies = askEach<api::GenerateResult>(request, models, [](const api::GenerateRequest& r) { return api::generate(r).front(); },
                                                       &out.error);
            return out;
        },
        [this](const TryResult& result) { show(result); });
}

void TryItView::show(const TryResult& r) {
    tryButton_->setEnabled(true);
    scoreButton_->setEnabled(true);
    QTextBrowser* views[] = {replyA_, replyB_};
    const bool stillChosen[] = {checkpointA_->currentData().toString() == askedA_, checkpointB_->currentData().toString() == askedB_};
    for (int i = 0; i < 2; ++i) {
        if (!stillChosen[i]) {  // another checkpoint was chosen while this one answered
            views[i]->clear();
            continue;
        }
        if (!r.error.isEmpty()) {
            views[i]->setPlainText(i == 0 ? r.error : QString());
            continue;
        }
        if (static_cast<size_t>(i) >= r.replies.size()) continue;
        const api::GenerateResult& g = r.replies[static_cast<size_t>(i)];
        QString html = "<p>" + QString::fromStdString(g.text).toHtmlEscaped().replace("\n", "<br>") + "</p>";
        if (!g.reasoning.empty()) html = "<p style='color:#777'><i>" + QString::fromStdString(g.reasoning).toHtmlEscaped() + "</i></p>" + html;
        html += tr("<p style='color:#777'>%1 prompt tokens, %2 new tokens in %3 s%4</p>")
                    .arg(g.promptTokens)
                    .arg(g.newTokens)
                    .arg(g.seconds, 0, 'f', 2)
                    .arg(g.stopped ? tr(", ended at the end-of-turn token") : tr(", stopped at max tokens"));
        views[i]->setHtml(html);
    }
    emit replyReady();
}

QString TryItView::replyText(int side) const { return (side == 0 ? replyA_ : replyB_)->toPlainText(); }

}  // namespace hy3::ui
