#include "pages/checkpoints_page.h"

#include "page_heading.h"
#include "pages/train_page.h"
#include "project_session.h"
#include "run_monitor.h"

#include <QComboBox>
#include <QDateTime>
#include <QDesktopServices>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QTextBrowser>
#include <QUrl>
#include <QVBoxLayout>

namespace hy3::ui {
namespace {

enum Column { StepColumn, TimeColumn, LossColumn, EvalColumn, SizeColumn, StatusColumn, ParentColumn, ColumnCount };

QString sizeText(int64_t bytes) {
    if (bytes <= 0) return "-";
    const double mib = static_cast<double>(bytes) / 1048576.0;
    return mib >= 1024 ? QString("%1 GiB").arg(mib / 1024, 0, 'f', 2) : QString("%1 MiB").arg(mib, 0, 'f', 1);
}

QString metricText(const std::string& metricsJson, const char* key) {
    const auto j = nlohmann::json::parse(metricsJson.empty() ? "{}" : metricsJson, nullptr, false);
    return j.is_object() && j.contains(key) && j[key].is_number() ? QString::number(j[key].get<double>(), 'f', 4) : QString("-");
}

}  // namespace

CheckpointsPage::CheckpointsPage(ProjectSession* session, TrainPage* train, QWidget* parent)
    : QWidget(parent), session_(session), train_(train) {
    table_ = new QTableWidget(0, ColumnCount);
    table_->setObjectName("checkpointTable");
    table_->setHorizontalHeaderLabels({tr("step"), tr("saved"), tr("train loss"), tr("eval loss"), tr("size"), tr("status"), tr("parent")});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->verticalHeader()->hide();
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setMinimumHeight(180);
    resumeInfo_ = new QLabel;
    resumeInfo_->setObjectName("resumeInfo");
    resumeInfo_->setWordWrap(true);
    auto button = [](const QString& text, const char* name) {
        auto* b = new QPushButton(text);
        b->setObjectName(name);
        return b;
    };
    resumeButton_ = button(tr("Resume from here"), "resumeButton");
    exportButton_ = button(tr("Export as HF model…"), "exportButton");
    verifyButton_ = button(tr("Verify"), "verifyButton");
    openButton_ = button(tr("Open folder"), "openFolderButton");
    deleteButton_ = button(tr("Delete…"), "deleteButton");
    auto* refreshButton = button(tr("Refresh"), "refreshCheckpointsButton");
    busyBar_ = new QProgressBar;
    busyBar_->setRange(0, 0);  // export and verify report no fraction: a busy indicator
    busyBar_->setVisible(false);
    busyBar_->setMaximumWidth(160);
    actionLabel_ = new QLabel;
    actionLabel_->setObjectName("actionResult");
    actionLabel_->setWordWrap(true);
    actionLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* actions = new QHBoxLayout;
    for (QPushButton* b : {resumeButton_, exportButton_, verifyButton_, openButton_, deleteButton_, refreshButton}) actions->addWidget(b);
    actions->addWidget(busyBar_);
    actions->addStretch();

    auto* box = new QGroupBox(tr("Checkpoints of the run"));
    auto* v = new QVBoxLayout(box);
    v->addWidget(table_, 1);
    v->addWidget(resumeInfo_);
    v->addLayout(actions);
    v->addWidget(actionLabel_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(pageHeading(tr("<h2>Checkpoints</h2><p>What the run on the Train page saved. Resume continues the run "
                                 "exactly when nothing that matters changed; otherwise it starts a new run from the weights.</p>")));
    layout->addWidget(box, 1);
    layout->addWidget(buildTry(), 1);

    connect(table_, &QTableWidget::itemSelectionChanged, this, &CheckpointsPage::onSelectionChanged);
    connect(resumeButton_, &QPushButton::clicked, this, [this] {
        QString error;
        if (!resumeSelected(&error)) QMessageBox::warning(this, tr("Cannot resume"), error);
    });
    connect(exportButton_, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Export into (an empty or new folder)"));
        if (!dir.isEmpty()) exportSelected(QDir(dir).filePath(QFileInfo(selectedPath()).fileName() + "-hf"));
    });
    connect(verifyButton_, &QPushButton::clicked, this, &CheckpointsPage::verifySelected);
    connect(openButton_, &QPushButton::clicked, this, [this] {
        if (!selectedPath().isEmpty()) QDesktopServices::openUrl(QUrl::fromLocalFile(selectedPath()));
    });
    connect(deleteButton_, &QPushButton::clicked, this, [this] {
        const QString path = selectedPath();
        if (path.isEmpty()) return;
        const auto answer = QMessageBox::question(this, tr("Delete checkpoint"), tr("Delete %1 from disk?").arg(path));
        QString error;
        if (answer == QMessageBox::Yes && !deleteSelected(true, &error)) QMessageBox::warning(this, tr("Cannot delete"), error);
    });
    connect(refreshButton, &QPushButton::clicked, this, &CheckpointsPage::refresh);
    connect(train_, &TrainPage::runDirChanged, this, [this](const QString& dir) {
        runDir_ = dir;
        refresh();
    });
    connect(train_, &TrainPage::checkpointSaved, this, &CheckpointsPage::refresh);
    connect(train_->monitor(), &RunMonitor::stateChanged, this, &CheckpointsPage::refresh);
    onSelectionChanged();
}

// The jobs hold copies of what they need; none outlives the window.
CheckpointsPage::~CheckpointsPage() {
    actionJob_.join();
    tryJob_.join();
}

QWidget* CheckpointsPage::buildTry() {
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
    auto* box = new QGroupBox(tr("Try it"));
    auto* v = new QVBoxLayout(box);
    v->addWidget(prompt_);
    v->addLayout(options);
    v->addLayout(replies, 1);
    connect(tryButton_, &QPushButton::clicked, this,
            [this] { tryPrompt(prompt_->toPlainText(), checkpointA_->currentData().toString(), checkpointB_->currentData().toString()); });
    return box;
}

void CheckpointsPage::refresh() {
    const QString keep = selectedPath();
    records_.clear();
    if (!runDir_.isEmpty()) {
        try {
            records_ = api::runCheckpoints(runDir_.toStdString());
        } catch (const std::exception& e) {
            actionLabel_->setText(QString::fromStdString(e.what()));
        }
    }
    const QString keepA = checkpointA_->currentData().toString(), keepB = checkpointB_->currentData().toString();
    table_->setRowCount(0);
    checkpointA_->clear();
    checkpointB_->clear();
    checkpointB_->addItem(tr("(none)"), QString());
    std::map<int64_t, int64_t> stepOfId;
    for (const CheckpointRecord& r : records_) stepOfId[r.id] = r.step;
    for (const CheckpointRecord& r : records_) {
        const int row = table_->rowCount();
        table_->insertRow(row);
        auto* step = new QTableWidgetItem(QString::number(r.step));
        step->setData(Qt::UserRole, QString::fromStdString(r.path));
        step->setToolTip(QString::fromStdString(r.path));
        table_->setItem(row, StepColumn, step);
        table_->setItem(row, TimeColumn, new QTableWidgetItem(QDateTime::fromSecsSinceEpoch(static_cast<qint64>(r.created_at)).toString("yyyy-MM-dd hh:mm:ss")));
        table_->setItem(row, LossColumn, new QTableWidgetItem(metricText(r.metrics_json, "loss")));
        table_->setItem(row, EvalColumn, new QTableWidgetItem(metricText(r.metrics_json, "eval_loss")));
        table_->setItem(row, SizeColumn, new QTableWidgetItem(sizeText(r.size_bytes)));
        table_->setItem(row, StatusColumn, new QTableWidgetItem(QString::fromStdString(r.status)));
        table_->setItem(row, ParentColumn, new QTableWidgetItem(r.parent_id && stepOfId.count(r.parent_id) ? tr("step %1").arg(stepOfId[r.parent_id]) : "-"));
        if (r.status == "complete") {
            const QString label = tr("step %1").arg(r.step);
            checkpointA_->addItem(label, QString::fromStdString(r.path));
            checkpointB_->addItem(label, QString::fromStdString(r.path));
        }
    }
    if (checkpointA_->count() > 0) checkpointA_->setCurrentIndex(std::max(0, checkpointA_->findData(keepA) >= 0 ? checkpointA_->findData(keepA) : checkpointA_->count() - 1));
    if (checkpointB_->findData(keepB) >= 0) checkpointB_->setCurrentIndex(checkpointB_->findData(keepB));
    for (int row = 0; row < table_->rowCount(); ++row)
        if (table_->item(row, StepColumn)->data(Qt::UserRole).toString() == keep) table_->selectRow(row);
    onSelectionChanged();
    emit refreshed();
}

void CheckpointsPage::selectStep(int64_t step) {
    for (int row = 0; row < table_->rowCount(); ++row)
        if (table_->item(row, StepColumn)->text().toLongLong() == step) table_->selectRow(row);
}

QString CheckpointsPage::selectedPath() const {
    const auto rows = table_->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : table_->item(rows.front().row(), StepColumn)->data(Qt::UserRole).toString();
}

void CheckpointsPage::onSelectionChanged() {
    const QString path = selectedPath();
    const auto rows = table_->selectionModel()->selectedRows();
    const bool complete = !rows.isEmpty() && table_->item(rows.front().row(), StatusColumn)->text() == "complete";
    const bool going = train_->monitor()->isRunning();
    for (QPushButton* b : {resumeButton_, exportButton_, verifyButton_, openButton_, deleteButton_}) b->setEnabled(complete && !busy_);
    resumeButton_->setEnabled(complete && !busy_ && !going);
    if (!complete || !session_->hasProject()) {
        resumeInfo_->setText(path.isEmpty() ? tr("Select a checkpoint.") : tr("This checkpoint is not on disk (%1).").arg(table_->item(rows.front().row(), StatusColumn)->text()));
        return;
    }
    try {
        const api::ResumeCheck check = api::checkResume(session_->project(), path.toStdString());
        resumeExact_ = check.exact;
        resumeInfo_->setText(check.exact ? tr("<b>Resume is exact</b>: the run continues from step %1 as if it had never stopped.")
                                               .arg(table_->item(rows.front().row(), StepColumn)->text())
                                         : tr("<b>Resume is weights-only</b> (a new run from these weights, fresh optimizer): %1")
                                               .arg(QString::fromStdString(check.reason).toHtmlEscaped()));
    } catch (const std::exception& e) {
        resumeExact_ = false;
        resumeInfo_->setText(tr("Cannot check the resume: %1").arg(QString::fromStdString(e.what()).toHtmlEscaped()));
    }
    if (going) resumeInfo_->setText(resumeInfo_->text() + tr("<br>The run is going: stop it before resuming."));
}

QString CheckpointsPage::resumeText() const { return resumeInfo_->text(); }

bool CheckpointsPage::resumeSelected(QString* error) {
    const QString path = selectedPath();
    if (path.isEmpty()) {
        if (error) *error = tr("select a checkpoint");
        return false;
    }
    onSelectionChanged();  // the project may have changed since the selection
    return train_->start(path, !resumeExact_, error);
}

bool CheckpointsPage::deleteSelected(bool confirmed, QString* error) {
    const QString path = selectedPath();
    if (!confirmed || path.isEmpty()) return false;
    try {
        api::deleteCheckpoint(runDir_.toStdString(), path.toStdString(), train_->monitor()->isRunning());
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    actionLabel_->setText(tr("Deleted %1").arg(path));
    refresh();
    return true;
}

void CheckpointsPage::runAction(const QString& title, std::function<QString()> work) {
    busy_ = true;
    busyBar_->setVisible(true);
    actionLabel_->setText(title);
    onSelectionChanged();
    actionJob_.start(
        [work] {
            try {
                return work();
            } catch (const std::exception& e) {
                return QObject::tr("Failed: %1").arg(e.what());
            }
        },
        [this](const QString& result) {
            busy_ = false;
            busyBar_->setVisible(false);
            actionLabel_->setText(result);
            refresh();
            emit actionFinished();
        });
}

void CheckpointsPage::verifySelected() {
    const QString path = selectedPath();
    if (path.isEmpty() || busy_) return;
    runAction(tr("Verifying %1…").arg(path), [path] {
        const auto problems = verifyCheckpoint(path.toStdString());
        if (problems.empty()) return QObject::tr("Verified %1: no problems (every hash, shape and index entry checks out)").arg(path);
        QString text = QObject::tr("%1: %n problem(s)", nullptr, static_cast<int>(problems.size())).arg(path);
        for (const std::string& p : problems) text += "\n" + QString::fromStdString(p);
        return text;
    });
}

void CheckpointsPage::exportSelected(const QString& destination) {
    const QString path = selectedPath();
    if (path.isEmpty() || busy_) return;
    runAction(tr("Exporting %1 to %2…").arg(path, destination), [path, destination] {
        api::ExportRequest request;
        request.source = path.toStdString();
        request.destination = destination.toStdString();
        const api::ExportSummary s = api::exportCheckpoint(request);
        return QObject::tr("Exported %1 tensors in %2 shard(s) to %3").arg(s.tensors).arg(s.shards).arg(QString::fromStdString(s.destination));
    });
}

QString CheckpointsPage::actionResult() const { return actionLabel_->text(); }

void CheckpointsPage::tryPrompt(const QString& prompt, const QString& checkpointA, const QString& checkpointB) {
    if (prompt.trimmed().isEmpty() || checkpointA.isEmpty() || tryJob_.isRunning()) return;
    // The form shows what is being asked, also when the request came from elsewhere.
    if (prompt_->toPlainText() != prompt) prompt_->setPlainText(prompt);
    if (checkpointA_->findData(checkpointA) >= 0) checkpointA_->setCurrentIndex(checkpointA_->findData(checkpointA));
    checkpointB_->setCurrentIndex(std::max(0, checkpointB_->findData(checkpointB)));
    tryButton_->setEnabled(false);
    replyA_->setPlainText(tr("Generating…"));
    replyB_->setPlainText(checkpointB.isEmpty() ? QString() : tr("Generating…"));
    api::GenerateRequest request;
    request.prompts = {prompt.toStdString()};
    request.maxNewTokens = maxTokens_->value();
    request.temperature = temperature_->value();
    request.topP = topP_->value();
    if (session_->hasProject()) {
        request.reasoningEffort = session_->project().get("data.reasoning_effort").get<std::string>();
        request.chatTemplate = session_->project().get("chat_template").is_string() ? session_->project().get("chat_template").get<std::string>() : "auto";
        if (request.chatTemplate != "auto" && request.chatTemplate != "hy3")
            request.chatTemplate = session_->project().absolutePath(request.chatTemplate).string();
    }
    QStringList models{checkpointA};
    if (!checkpointB.isEmpty()) models << checkpointB;
    tryJob_.start(
        [request, models] {
            TryResult out;
            try {
                for (const QString& model : models) {
                    api::GenerateRequest r = request;
                    r.model = model.toStdString();
                    out.replies.push_back(api::generate(r).front());
                }
            } catch (const std::exception& e) {
                out.error = QString::fromStdString(e.what());
            }
            return out;
        },
        [this](const TryResult& result) { onTryDone(result); });
}

void CheckpointsPage::onTryDone(const TryResult& r) {
    tryButton_->setEnabled(true);
    QTextBrowser* views[] = {replyA_, replyB_};
    for (int i = 0; i < 2; ++i) {
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

QString CheckpointsPage::replyText(int side) const { return (side == 0 ? replyA_ : replyB_)->toPlainText(); }

}  // namespace hy3::ui
