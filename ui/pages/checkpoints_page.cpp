#include "pages/checkpoints_page.h"

#include "api/lora_tools.h"
#include "models/checkpoint_table_model.h"
#include "number_text.h"
#include "page_heading.h"
#include "pages/train_page.h"
#include "project_session.h"
#include "record_table.h"
#include "run_monitor.h"
#include "widgets/try_it_view.h"

#include <QDesktopServices>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QTableView>
#include <QUrl>
#include <QVBoxLayout>

namespace hy3::ui {

namespace {

// A LoRA checkpoint's adapter as `hy3 lora inspect` reports it, for the page (empty when `dir` is
// no adapter). Runs on a worker: it reads the adapter's files.
QString describeAdapter(const QString& dir) {
    if (!QFileInfo(QDir(dir).filePath("adapter_config.json")).isFile()) return QString();
    try {
        const api::AdapterReport r = api::inspectAdapter(dir.toStdString());
        QString text = QObject::tr("<b>LoRA adapter</b>: rank %1, alpha %2 (scale %3), %4 parameters (%5)")
                           .arg(r.rank)
                           .arg(r.alpha)
                           .arg(r.scale)
                           .arg(groupedNumber(r.parameters), QString::fromStdString(shortBytes(static_cast<double>(r.bytes))));
        for (const std::string& line : r.coverageSummary) text += "<br>" + QString::fromStdString(line).toHtmlEscaped();
        return text;
    } catch (const std::exception& e) {
        return QObject::tr("LoRA adapter unreadable: %1").arg(QString::fromStdString(e.what()).toHtmlEscaped());
    }
}

}  // namespace

CheckpointsPage::CheckpointsPage(ProjectSession* session, TrainPage* train, QWidget* parent)
    : QWidget(parent), session_(session), train_(train) {
    model_ = new CheckpointTableModel(this);
    table_ = newRecordTable("checkpointTable", model_);
    table_->setMinimumHeight(180);
    resumeInfo_ = new QLabel;
    // These two are HTML with their messages escaped: rich text always, so an error without a tag
    // does not show its quotes as &quot;.
    resumeInfo_->setTextFormat(Qt::RichText);
    resumeInfo_->setObjectName("resumeInfo");
    resumeInfo_->setWordWrap(true);
    adapterInfo_ = new QLabel;
    adapterInfo_->setObjectName("adapterInfo");
    adapterInfo_->setTextFormat(Qt::RichText);
    adapterInfo_->setWordWrap(true);
    adapterInfo_->setVisible(false);
    actionLabel_ = new QLabel;
    actionLabel_->setObjectName("actionResult");
    actionLabel_->setWordWrap(true);
    actionLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    actionLabel_->setTextFormat(Qt::PlainText);
    actionLabel_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));  // compare's aligned columns

    auto* box = new QGroupBox(tr("Checkpoints of the run"));
    auto* v = new QVBoxLayout(box);
    v->addWidget(table_, 1);
    v->addWidget(resumeInfo_);
    v->addWidget(adapterInfo_);
    v->addWidget(buildActions());
    v->addWidget(actionLabel_);

    tryIt_ = new TryItView([this] {
        api::GenerateRequest request;
        if (!session_->hasProject()) return request;
        const ProjectFile& p = session_->project();
        request.reasoningEffort = session_->settingValue("data.reasoning_effort").get<std::string>();
        request.chatTemplate = p.chatTemplate();
        return request;
    });
    connect(tryIt_, &TryItView::replyReady, this, &CheckpointsPage::replyReady);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(pageHeading(tr("<h2>Checkpoints</h2><p>What the run on the Train page saved. Resume continues the run "
                                 "exactly when nothing that matters changed; otherwise it starts a new run from the weights.</p>")));
    layout->addWidget(box, 1);
    layout->addWidget(tryIt_, 1);

    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &CheckpointsPage::onSelectionChanged);
    connect(train_, &TrainPage::runDirChanged, this, [this](const QString& dir) {
        runDir_ = dir;
        refresh();
    });
    connect(train_, &TrainPage::checkpointSaved, this, &CheckpointsPage::refresh);
    // Another project: the page shows the run the Train page kept (none, unless the project's newest
    // run is opened next), never the previous project's.
    connect(session_, &ProjectSession::projectReplaced, this, [this] {
        runDir_ = train_->monitor()->runDir();
        refresh();
        offerHeldOutQuestions();
    });
    offerHeldOutQuestions();
    connect(train_->monitor(), &RunMonitor::stateChanged, this, &CheckpointsPage::refresh);
    // A change of the project can change whether a resume is exact.
    connect(session_, &ProjectSession::changed, this, &CheckpointsPage::onSelectionChanged);
    onSelectionChanged();
}

CheckpointsPage::~CheckpointsPage() { actionJob_.join(); }  // no export outlives the window

// A project with data/heldout.jsonl beside it (the bundled one has 100 questions training never
// saw) offers it for scoring.
void CheckpointsPage::offerHeldOutQuestions() {
    if (!session_->hasProject()) return;
    const QString file = QDir(QFileInfo(session_->filePath()).absolutePath()).filePath("data/heldout.jsonl");
    tryIt_->setQuestionsFile(QFileInfo(file).isFile() ? file : QString());
}

QWidget* CheckpointsPage::buildActions() {
    auto button = [](const QString& text, const char* name) {
        auto* b = new QPushButton(text);
        b->setObjectName(name);
        return b;
    };
    resumeButton_ = button(tr("Resume from here"), "resumeButton");
    exportButton_ = button(tr("Export as HF model…"), "exportButton");
    verifyButton_ = button(tr("Verify"), "verifyButton");
    compareButton_ = button(tr("Compare with source"), "compareButton");
    openButton_ = button(tr("Open folder"), "openFolderButton");
    deleteButton_ = button(tr("Delete…"), "deleteButton");
    auto* refreshButton = button(tr("Refresh"), "refreshCheckpointsButton");
    busyBar_ = new QProgressBar;
    busyBar_->setRange(0, 0);  // export and verify report no fraction: a busy indicator
    busyBar_->setVisible(false);
    busyBar_->setMaximumWidth(160);
    connect(resumeButton_, &QPushButton::clicked, this, [this] {
        QString error;
        if (confirmOutsideRun(tr("Resume from it")) && !resumeSelected(&error)) QMessageBox::warning(this, tr("Cannot resume"), error);
    });
    connect(exportButton_, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Export into (an empty or new folder)"));
        if (!dir.isEmpty()) exportSelected(QDir(dir).filePath(QFileInfo(selectedPath()).fileName() + "-hf"));
    });
    connect(verifyButton_, &QPushButton::clicked, this, &CheckpointsPage::verifySelected);
    connect(compareButton_, &QPushButton::clicked, this, [this] {
        QString error;
        if (!compareSelectedWithSource(&error)) QMessageBox::information(this, tr("Cannot compare"), error);
    });
    connect(openButton_, &QPushButton::clicked, this, [this] {
        if (!selectedPath().isEmpty() && confirmOutsideRun(tr("Open it"))) QDesktopServices::openUrl(QUrl::fromLocalFile(selectedPath()));
    });
    connect(deleteButton_, &QPushButton::clicked, this, [this] {
        const QString path = selectedPath();
        if (path.isEmpty()) return;
        const auto answer = QMessageBox::question(this, tr("Delete checkpoint"), tr("Delete %1 from disk?").arg(path));
        QString error;
        if (answer == QMessageBox::Yes && !deleteSelected(true, &error)) QMessageBox::warning(this, tr("Cannot delete"), error);
    });
    connect(refreshButton, &QPushButton::clicked, this, &CheckpointsPage::refresh);
    auto* w = new QWidget;
    auto* row = new QHBoxLayout(w);
    row->setContentsMargins(0, 0, 0, 0);
    for (QPushButton* b : {resumeButton_, exportButton_, verifyButton_, compareButton_, openButton_, deleteButton_, refreshButton})
        row->addWidget(b);
    row->addWidget(busyBar_);
    row->addStretch();
    return w;
}

const std::vector<CheckpointRecord>& CheckpointsPage::records() const { return model_->records(); }

void CheckpointsPage::refresh() {
    if (runDir_.isEmpty()) {
        showRecords({}, QString());
        return;
    }
    recordsJob_.start(
        [dir = runDir_.toStdString()] {
            try {
                return std::pair<std::vector<CheckpointRecord>, QString>{api::runCheckpoints(dir), QString()};
            } catch (const std::exception& e) {
                return std::pair<std::vector<CheckpointRecord>, QString>{{}, QString::fromStdString(e.what())};
            }
        },
        [this](const std::pair<std::vector<CheckpointRecord>, QString>& read) { showRecords(read.first, read.second); });
}

void CheckpointsPage::showRecords(std::vector<CheckpointRecord> records, const QString& error) {
    const QString keep = selectedPath();
    if (!error.isEmpty()) actionLabel_->setText(error);
    model_->setRecords(std::move(records));
    std::vector<std::pair<QString, QString>> complete;
    for (const CheckpointRecord& r : model_->records())
        if (r.status == "complete") complete.emplace_back(tr("step %1").arg(r.step), QString::fromStdString(r.path));
    tryIt_->setCheckpoints(complete);
    // The selection stays on its checkpoint; with none yet, the newest one on disk is shown.
    int select = -1;
    for (int row = 0; row < model_->rowCount(); ++row) {
        const bool onDisk = model_->records()[static_cast<size_t>(row)].status == "complete";
        if (model_->index(row, 0).data(Qt::UserRole).toString() == keep || (keep.isEmpty() && onDisk)) select = row;
        if (!keep.isEmpty() && select >= 0) break;
    }
    if (select >= 0) table_->selectRow(select);
    onSelectionChanged();
    emit refreshed();
}

void CheckpointsPage::selectStep(int64_t step) {
    for (int row = 0; row < model_->rowCount(); ++row)
        if (model_->records()[static_cast<size_t>(row)].step == step) table_->selectRow(row);
}

QString CheckpointsPage::selectedPath() const {
    const auto rows = table_->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : rows.front().data(Qt::UserRole).toString();
}

void CheckpointsPage::updateButtons() {
    const auto rows = table_->selectionModel()->selectedRows();
    const bool complete = !rows.isEmpty() && model_->records()[static_cast<size_t>(rows.front().row())].status == "complete";
    for (QPushButton* b : {exportButton_, verifyButton_, openButton_, deleteButton_}) b->setEnabled(complete && !busy_);
    const bool lora = complete && QFileInfo(QDir(selectedPath()).filePath("adapter")).isDir();
    exportButton_->setText(lora ? tr("Merge into base and export…") : tr("Export as HF model…"));
    exportButton_->setToolTip(lora ? tr("Fold the adapter into the base it was trained on (hy3 lora merge) and write a model directory")
                                   : tr("Write the checkpoint as an HF model directory in the released layout (hy3 checkpoint export)"));
    resumeButton_->setEnabled(complete && !busy_ && !train_->monitor()->isRunning() && !resumeJob_.isPending());
    const QString noSource = compareSourceProblem();
    compareButton_->setEnabled(complete && !busy_ && noSource.isEmpty());
    compareButton_->setToolTip(noSource.isEmpty() ? tr("Run one probe batch through the source model and this checkpoint and compare "
                                                       "their logits (hy3 checkpoint compare)")
                                                  : noSource);
}

// Why there is no source model to compare a checkpoint with, or empty when there is one.
QString CheckpointsPage::compareSourceProblem() const {
    if (!session_->hasProject()) return tr("Open a project first.");
    if (session_->project().modelDirectory().empty())
        return tr("The project's model is a preset: it starts from random weights, so there is no source model to compare with.");
    return QString();
}

void CheckpointsPage::onSelectionChanged() {
    updateButtons();
    const auto rows = table_->selectionModel()->selectedRows();
    adapterInfo_->clear();
    adapterInfo_->setVisible(false);
    if (rows.isEmpty()) {
        resumeJob_.cancel();
        resumeInfo_->setText(tr("Select a checkpoint."));
        return;
    }
    const CheckpointRecord& r = model_->records()[static_cast<size_t>(rows.front().row())];
    if (r.status != "complete" || !session_->hasProject()) {
        resumeJob_.cancel();
        resumeInfo_->setText(tr("This checkpoint is not on disk (%1).").arg(QString::fromStdString(r.status)));
        return;
    }
    checkResume(QString::fromStdString(r.path), r.step);
}

// Whether a resume is exact reads the checkpoint's train state and hashes the tokenizer files: a
// worker's job.
void CheckpointsPage::checkResume(const QString& path, int64_t step) {
    resumeInfo_->setText(tr("Checking whether a resume from here is exact…"));
    resumeJob_.start(
        [project = session_->project(), checkpoint = path.toStdString()] {
            Details out;
            try {
                out.check = api::checkResume(project, checkpoint);
            } catch (const std::exception& e) {
                out.error = QString::fromStdString(e.what());
            }
            out.adapter = describeAdapter(QDir(QString::fromStdString(checkpoint)).filePath("adapter"));
            return out;
        },
        [this, step](const Details& result) {
            const api::ResumeCheck& check = result.check;
            adapterInfo_->setText(result.adapter);
            adapterInfo_->setVisible(!result.adapter.isEmpty());
            resumeExact_ = result.error.isEmpty() && check.exact;
            if (!result.error.isEmpty())
                resumeInfo_->setText(tr("Cannot check the resume: %1").arg(result.error.toHtmlEscaped()));
            else
                resumeInfo_->setText(check.exact ? tr("<b>Resume is exact</b>: the run continues from step %1 as if it had never stopped.").arg(step)
                                                 : tr("<b>Resume is weights-only</b> (a new run from these weights, fresh optimizer): %1")
                                                       .arg(QString::fromStdString(check.reason).toHtmlEscaped()));
            if (train_->monitor()->isRunning()) resumeInfo_->setText(resumeInfo_->text() + tr("<br>The run is going: stop it before resuming."));
            updateButtons();
            emit resumeChecked();
        });
}

QString CheckpointsPage::resumeText() const { return resumeInfo_->text(); }

QString CheckpointsPage::adapterText() const { return adapterInfo_->text(); }

bool CheckpointsPage::resumeSelected(QString* error) {
    const QString path = selectedPath();
    auto refuse = [&](const QString& why) {
        if (error) *error = why;
        return false;
    };
    if (path.isEmpty()) return refuse(tr("select a checkpoint"));
    if (resumeJob_.isPending()) return refuse(tr("still checking whether the resume is exact"));
    return train_->start(path, !resumeExact_, error);
}

bool CheckpointsPage::confirmOutsideRun(const QString& action) {
    const QString path = selectedPath();
    if (path.isEmpty() || runDir_.isEmpty() || api::insideRun(runDir_.toStdString(), path.toStdString())) return true;
    const auto answer = QMessageBox::question(
        this, tr("Outside this run"),
        tr("%1 is not in this run's folder (%2): its record names a place outside it. %3 anyway?").arg(path, runDir_, action));
    return answer == QMessageBox::Yes;
}

bool CheckpointsPage::deleteSelected(bool confirmed, QString* error) {
    const QString path = selectedPath();
    if (!confirmed || path.isEmpty()) return false;
    if (busy_) {
        if (error) *error = tr("another action is running");
        return false;
    }
    const bool going = train_->monitor()->isRunning();
    runAction(tr("Deleting %1…").arg(path), [runDir = runDir_.toStdString(), checkpoint = path.toStdString(), going, path] {
        api::deleteCheckpoint(runDir, checkpoint, going);
        return QObject::tr("Deleted %1").arg(path);
    });
    return true;
}

void CheckpointsPage::runAction(const QString& title, std::function<QString()> work) {
    busy_ = true;
    busyBar_->setVisible(true);
    actionLabel_->setText(title);
    updateButtons();
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
        const auto problems = api::verifyCheckpoint(path.toStdString());
        if (problems.empty()) return QObject::tr("Verified %1: no problems (every hash, shape and index entry checks out)").arg(path);
        QString text = QObject::tr("%1: %n problem(s)", nullptr, static_cast<int>(problems.size())).arg(path);
        for (const std::string& p : problems) text += "\n" + QString::fromStdString(p);
        return text;
    });
}

void CheckpointsPage::exportSelected(const QString& destination) {
    const QString path = selectedPath();
    if (path.isEmpty() || busy_) return;
    const QString adapter = QDir(path).filePath("adapter");
    if (QFileInfo(adapter).isDir()) {  // a LoRA checkpoint: its adapter merged into the base it was trained on
        runAction(tr("Merging %1 into its base, to %2…").arg(adapter, destination), [adapter, destination] {
            api::MergeRequest request;
            request.adapter = adapter.toStdString();
            request.destination = destination.toStdString();
            const api::ExportSummary s = api::mergeAdapter(request);
            return QObject::tr("Merged the adapter into its base: %1 tensors in %2 shard(s) at %3")
                .arg(s.tensors)
                .arg(s.shards)
                .arg(QString::fromStdString(s.destination));
        });
        return;
    }
    runAction(tr("Exporting %1 to %2…").arg(path, destination), [path, destination] {
        api::ExportRequest request;
        request.source = path.toStdString();
        request.destination = destination.toStdString();
        const api::ExportSummary s = api::exportCheckpoint(request);
        return QObject::tr("Exported %1 tensors in %2 shard(s) to %3").arg(s.tensors).arg(s.shards).arg(QString::fromStdString(s.destination));
    });
}

bool CheckpointsPage::compareSelectedWithSource(QString* error) {
    const QString path = selectedPath();
    QString why = path.isEmpty() ? tr("select a checkpoint") : busy_ ? tr("another action is running") : compareSourceProblem();
    if (!why.isEmpty()) {
        if (error) *error = why;
        return false;
    }
    const QString source = QString::fromStdString(session_->project().modelDirectory().string());
    runAction(tr("Comparing %1 with %2…").arg(path, source), [path, source] {
        api::CompareRequest request;
        request.a = source.toStdString();
        request.b = path.toStdString();
        return QString::fromStdString(api::formatCompareReport(api::compareCheckpoints(request)));
    });
    return true;
}

QString CheckpointsPage::actionResult() const { return actionLabel_->text(); }

void CheckpointsPage::tryPrompt(const QString& prompt, const QString& checkpointA, const QString& checkpointB) {
    tryIt_->ask(prompt, checkpointA, checkpointB);
}

QString CheckpointsPage::replyText(int side) const { return tryIt_->replyText(side); }

}  // namespace hy3::ui
