// The Train and Checkpoints pages, offscreen, on real runs: the bundled default project started
// from the Train page fills the loss chart and the router heatmap from its events, stops with a
// checkpoint that appears on the Checkpoints page, resumes from it and continues from the saved
// step; a run written by a headless `hy3 train` opened from its folder shows every point its store
// holds; the heatmap of the released model's size (79 x 192) over 5,000 steps of synthetic load
// shows every layer and step; one expert's history is read while the page follows a growing run; a
// damaged run store is named in the Runs tab and on the page while the window goes on.
// Timings of these pages are a benchmark (tests/ui/bench_train_page.cpp), not asserted here.
#include "checkpoint/checkpoint_dir.h"
#include "main_window.h"
#include "pages/checkpoints_page.h"
#include "pages/train_page.h"
#include "project_session.h"
#include "run_monitor.h"
#include "synthetic_run.h"
#include "widgets/run_log_view.h"
#include "widgets/try_it_view.h"
#include "widgets/train_charts.h"
#include "test_support.h"
#include "ui_support.h"

#include <QComboBox>
#include <QDateTime>
#include <QDialog>
#include <QDir>
#include <QElapsedTimer>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QMenuBar>
#include <QListWidget>
#include <QScrollBar>
#include <QProcess>
#include <QPushButton>
#include <QFile>
#include <QImage>
#include <QSlider>
#include <QStatusBar>
#include <QTabWidget>
#include <QTextDocument>
#include <QTextDocumentFragment>
#include <QTableView>
#include <QTableWidget>

#include <qcustomplot.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

using hy3::ui::CheckpointsPage;
using hy3::ui::MainWindow;
using hy3::ui::RunMonitor;
using hy3::ui::TrainPage;

namespace {

// A copy of the bundled default project (project file and data) in `dir`, with `overrides`.
QString copyDefaultProject(const QTemporaryDir& dir, const std::vector<std::pair<std::string, nlohmann::json>>& overrides) {
    const QString source = hy3::test::sourceDir() + "/resources/projects/default";
    QDir().mkpath(dir.path() + "/data");
    QFile::copy(source + "/data/train.jsonl", dir.path() + "/data/train.jsonl");
    QFile::copy(source + "/data/heldout.jsonl", dir.path() + "/data/heldout.jsonl");
    // The file as it is, beside its copied data: its relative paths (data/, runs) now name the
    // copy's. (Save as would rebase them onto the source tree, where the runs then went.)
    hy3::ProjectFile p = hy3::ProjectFile::fromJson(hy3::ProjectFile::load((source + "/default.hy3proj").toStdString()).document(),
                                                    (dir.path() + "/default.hy3proj").toStdString());
    for (const auto& [key, value] : overrides) p.set(key, value);
    p.save();
    return dir.path() + "/default.hy3proj";
}

// Processes events until `done` holds or `ms` pass.
template <typename F>
bool waitFor(F done, int ms) {
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > ms) return false;
        QTest::qWait(50);
    }
    return true;
}

// Waits until `done` holds for the run `m` follows; gives up at once when the run fails meanwhile
// (the failure message then shows its log).
template <typename F>
bool waitForRun(RunMonitor* m, F done, int ms) {
    return waitFor([&] { return done() || m->state() == "failed"; }, ms) && m->state() != "failed";
}

// With HY3_SCREENSHOT_DIR set (scripts/screenshots.sh runs this test under Xvfb), the window is
// shown and grabbed into that folder at the moments the README shows.
bool screenshots() { return !qEnvironmentVariableIsEmpty("HY3_SCREENSHOT_DIR"); }

void grab(MainWindow& window, const QString& page, const QString& file) {
    if (!screenshots()) return;
    window.showPage(page);
    QTest::qWait(800);
    window.grab().save(QDir(qEnvironmentVariable("HY3_SCREENSHOT_DIR")).filePath(file));
}

QString logText(RunMonitor* m) {
    QString text;
    for (const auto& line : m->log()) text += QString::fromStdString(line.text) + "\n";
    return text.right(3000);
}

// Opens a run folder on the Train page and waits until its store has been read (on the monitor's
// poller thread) and drawn.
void openAndRead(TrainPage* page, const QString& runDir) {
    QSignalSpy read(page->monitor(), &RunMonitor::storeRead);
    QString error;
    if (!page->openRun(runDir, &error)) qFatal("cannot open %s: %s", qPrintable(runDir), qPrintable(error));
    if (!read.wait(120000)) qFatal("the store of %s was not read", qPrintable(runDir));
    page->refreshNow();
}

// The workbench on a scratch project in `dir`, showing the Train page with `runDir` opened.
std::unique_ptr<MainWindow> windowOnRun(const QTemporaryDir& dir, const QString& runDir) {
    auto window = std::make_unique<MainWindow>();
    window->resize(1400, 1000);
    window->openProject(hy3::test::scratchProject(dir));
    window->showPage("Train");
    openAndRead(window->trainPage(), runDir);
    return window;
}

// A synthetic run in `runDir` with complete checkpoint records (and folders) at `steps`; returns
// the checkpoints' folders.
std::vector<std::filesystem::path> runWithCheckpoints(const std::filesystem::path& runDir, const std::vector<int64_t>& steps) {
    hy3::test::writeSyntheticRun(QString::fromStdString(runDir.string()), 6, 1, 4, "stopped");
    hy3::RunStore store = hy3::RunStore::open(runDir / "run.sqlite", hy3::RunStore::Mode::ReadWrite);
    std::vector<std::filesystem::path> out;
    for (int64_t step : steps) {
        out.push_back(runDir / "checkpoints" / hy3::CheckpointDirectory::stepName(step));
        std::filesystem::create_directories(out.back());
        std::ofstream(out.back() / "meta.json") << "{\"step\": " << step << "}";
        store.setCheckpointStatus(store.addCheckpoint(store.runs().back().id, step, out.back().string(), 0), "complete", 11, "{}");
    }
    return out;
}

}  // namespace

class TestTrainPage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        hy3::test::isolateSettings();
        qputenv("HY3_CLI", hy3::test::hy3Binary().toUtf8());
    }

    void startWatchStopResume() {
        QTemporaryDir dir;
        std::vector<std::pair<std::string, nlohmann::json>> settings{{"training.max_steps", 300}, {"training.eval_every", 4}, {"training.checkpoint_every", 0}};
        if (screenshots()) settings.push_back({"training.method", "lora"});  // the README shows a LoRA run
        const QString project = copyDefaultProject(dir, settings);
        MainWindow window;
        QVERIFY(window.openProject(project));
        if (screenshots()) {
            window.resize(1400, 1100);
            window.show();
            window.showPage("Train");
        }
        TrainPage* page = window.trainPage();
        RunMonitor* m = page->monitor();
        QString error;
        QVERIFY2(page->start({}, false, &error), qPrintable(error));
        const int64_t watchSteps = screenshots() ? 150 : 6;  // a curve worth a picture
        // For the picture also the router collapse banner (the LoRA run of the default project
        // raises one near step 40).
        QVERIFY2(waitForRun(m, [&] { return m->step() >= watchSteps && m->routerSteps() >= 4 && (!screenshots() || !m->alerts().empty()); }, 600000),
                 qPrintable(logText(m)));
        grab(window, "Train", "train-page.png");
        if (screenshots()) {
            window.trainPage()->findChild<QTabWidget*>("trainTabs")->setCurrentIndex(1);
            page->showExpert(1, 2);
            QTest::qWait(1500);
            grab(window, "Train", "router-load.png");
            window.trainPage()->findChild<QTabWidget*>("trainTabs")->setCurrentIndex(0);
        }
        page->refreshNow();
        QVERIFY(page->lossPoints() >= 6);
        QVERIFY(m->metrics().count("eval_loss") == 1);
        // The heatmap: the tiny model's 3 MoE layers x 8 experts; each row is a share of token slots.
        QCPColorMapData* cells = page->heatmap()->data();
        QCOMPARE(cells->keySize(), 8);
        QCOMPARE(cells->valueSize(), 3);
        for (int layer = 0; layer < 3; ++layer) {
            double sum = 0;
            for (int e = 0; e < 8; ++e) sum += cells->cell(e, layer);
            QVERIFY2(std::abs(sum - 1.0) < 1e-6, qPrintable(QString::number(sum)));
        }
        QVERIFY(page->statusText().contains("running"));

        page->stop();
        QVERIFY2(waitForRun(m, [&] { return m->state() == "stopped"; }, 120000), qPrintable(logText(m)));
        const int64_t saved = m->step();
        CheckpointsPage* checkpoints = window.checkpointsPage();
        QVERIFY(waitFor([&] { return !checkpoints->records().empty(); }, 10000));
        QCOMPARE(checkpoints->records().back().step, saved);
        QCOMPARE(QString::fromStdString(checkpoints->records().back().status), QString("complete"));
        checkpoints->selectStep(saved);
        QVERIFY(waitFor([&] { return !checkpoints->resumeCheckPending(); }, 30000));
        QVERIFY2(checkpoints->resumeText().contains("exact"), qPrintable(checkpoints->resumeText()));

        // Resume: steps continue from the saved one, and the charts keep the whole run (they started
        // at the resumed step, the eval point gone, and the Runs tab said "stopped" meanwhile).
        QVERIFY2(checkpoints->resumeSelected(&error), qPrintable(error));
        QVERIFY2(waitForRun(m, [&] { return m->state() == "running" && m->step() >= saved + 2; }, 180000), qPrintable(logText(m)));
        const auto& loss = m->metrics().at("loss");
        QCOMPARE(static_cast<int64_t>(loss.steps.front()), int64_t(1));
        QVERIFY(std::count(loss.steps.begin(), loss.steps.end(), static_cast<double>(saved + 1)) == 1);  // once, from the stream
        QVERIFY(std::count(loss.steps.begin(), loss.steps.end(), static_cast<double>(saved)) == 1);
        QCOMPARE(m->metrics().at("eval_loss").steps.front(), 4.0);
        auto* runsList = page->findChild<QTableView*>("runsTable");
        QVERIFY(runsList);
        QVERIFY2(waitFor([&] { return runsList->model()->index(0, 1).data().toString().contains("running"); }, 20000),
                 qPrintable(runsList->model()->index(0, 1).data().toString()));
        page->stop();
        QVERIFY2(waitForRun(m, [&] { return m->state() == "stopped"; }, 120000), qPrintable(logText(m)));
        QVERIFY(waitFor([&] { return checkpoints->records().size() >= 2; }, 10000));
        QVERIFY(checkpoints->records().back().step > saved);
        if (screenshots()) {
            QSignalSpy ready(checkpoints, &CheckpointsPage::replyReady);
            checkpoints->tryPrompt("Write 'qubit' in capitals.", QString::fromStdString(checkpoints->records().front().path),
                                   QString::fromStdString(checkpoints->records().back().path));
            QVERIFY(ready.wait(120000));
            // And the held-out questions scored on both.
            QSignalSpy scored(checkpoints->tryIt(), &hy3::ui::TryItView::scored);
            checkpoints->tryIt()->score(dir.path() + "/data/heldout.jsonl", QString::fromStdString(checkpoints->records().front().path),
                                        QString::fromStdString(checkpoints->records().back().path));
            QVERIFY(scored.wait(300000));
            checkpoints->selectStep(saved);
            grab(window, "Checkpoints", "checkpoints-page.png");
        }

        // Compare with source: refused with its reason for a preset-initialised run; with a model
        // directory as the source it runs on the worker and shows compare's figures.
        checkpoints->selectStep(saved);
        QVERIFY(!checkpoints->compareSelectedWithSource(&error));
        QVERIFY2(error.contains("preset"), qPrintable(error));
        window.session()->setModelDirectory(hy3::test::fixtureCheckpoint());
        QVERIFY2(checkpoints->compareSelectedWithSource(&error), qPrintable(error));
        QVERIFY(waitFor([&] { return !checkpoints->isBusy(); }, 60000));
        QVERIFY2(checkpoints->actionResult().contains("max |logit difference|") && checkpoints->actionResult().contains("the models differ"),
                 qPrintable(checkpoints->actionResult()));
        window.session()->setModelPreset("hy3-tiny");

        // Verify runs on a worker and reports; the LATEST checkpoint can be deleted once the run is over.
        checkpoints->selectStep(saved);
        checkpoints->verifySelected();
        QVERIFY(waitFor([&] { return !checkpoints->isBusy(); }, 60000));
        QVERIFY2(checkpoints->actionResult().contains("no problems"), qPrintable(checkpoints->actionResult()));
        QVERIFY(checkpoints->deleteSelected(true, &error));
        QVERIFY2(waitFor([&] { return !checkpoints->isBusy() && checkpoints->records().front().status == "deleted"; }, 30000),
                 qPrintable(checkpoints->actionResult()));
    }

    // Start, Stop and the Run menu follow the run's real state: before, during and after a run
    // that finishes, and after one that is stopped (Start stayed disabled after both, only F5
    // started a run, and the Run menu's items were always enabled).
    void startAndTheRunMenuFollowTheRun() {
        QTemporaryDir dir;
        const QString project = copyDefaultProject(dir, {{"training.max_steps", 3}, {"training.eval_every", 0}, {"training.checkpoint_every", 0}});
        MainWindow window;
        QVERIFY(window.openProject(project));
        TrainPage* page = window.trainPage();
        RunMonitor* m = page->monitor();
        auto* start = page->findChild<QPushButton*>("startButton");
        auto* stop = page->findChild<QPushButton*>("stopButton");
        auto controls = [&] {
            return QString("start %1/%2 stop %3/%4").arg(start->isEnabled()).arg(page->startAction()->isEnabled())
                .arg(stop->isEnabled()).arg(page->stopAction()->isEnabled());
        };
        QMenu* runMenu = nullptr;
        for (QAction* a : window.menuBar()->actions())
            if (a->text() == "&Run") runMenu = a->menu();
        QVERIFY(runMenu && runMenu->actions().contains(page->startAction()) && runMenu->actions().contains(page->stopAction()));
        QCOMPARE(controls(), QString("start 1/1 stop 0/0"));
        page->startAction()->trigger();  // F5, through the Run menu's action
        QCOMPARE(controls(), QString("start 0/0 stop 1/1"));
        QVERIFY2(waitForRun(m, [&] { return m->state() == "finished" && !m->ownsProcess(); }, 300000), qPrintable(logText(m)));
        QVERIFY2(waitFor([&] { return controls() == "start 1/1 stop 0/0"; }, 5000), qPrintable(controls()));

        // A second, longer run, stopped: Start comes back once the process has saved and exited.
        window.session()->setValue("training.max_steps", 300);
        start->click();
        QVERIFY2(waitForRun(m, [&] { return m->state() == "running" && m->step() >= 2; }, 300000), qPrintable(logText(m)));
        QCOMPARE(controls(), QString("start 0/0 stop 1/1"));
        page->stopAction()->trigger();
        QVERIFY2(waitForRun(m, [&] { return m->state() == "stopped" && !m->ownsProcess(); }, 120000), qPrintable(logText(m)));
        QVERIFY2(waitFor([&] { return controls() == "start 1/1 stop 0/0"; }, 5000), qPrintable(controls()));
    }

    // Closing the window during a run stops it as Stop does: the child saves a checkpoint and the run
    // ends "stopped". The child's last events arrive while the window is being destroyed and must
    // reach none of it.
    void closingTheWindowStopsTheRun() {
        QTemporaryDir dir;
        const QString project = copyDefaultProject(dir, {{"training.max_steps", 300}, {"training.eval_every", 0}, {"training.checkpoint_every", 0}});
        QString runDir;
        {
            MainWindow window;
            QVERIFY(window.openProject(project));
            TrainPage* page = window.trainPage();
            QString error;
            QVERIFY2(page->start({}, false, &error), qPrintable(error));
            RunMonitor* m = page->monitor();
            QVERIFY2(waitForRun(m, [&] { return m->step() >= 2; }, 600000), qPrintable(logText(m)));
            runDir = m->runDir();
        }
        const hy3::RunStore store = hy3::RunStore::open((runDir + "/run.sqlite").toStdString(), hy3::RunStore::Mode::ReadOnly);
        const hy3::RunRecord run = store.runs().back();
        QCOMPARE(QString::fromStdString(run.state), QString("stopped"));
        const auto checkpoints = store.checkpoints(run.id);
        QVERIFY(!checkpoints.empty());
        QCOMPARE(QString::fromStdString(checkpoints.back().status), QString("complete"));
    }

    void tryItAnswersFromACheckpoint() {
        QTemporaryDir dir;
        const QString project = copyDefaultProject(dir, {{"training.max_steps", 3}, {"training.eval_every", 0}});
        const auto cli = hy3::test::runHy3({"train", project}, 300000);
        QVERIFY2(cli.exitCode == 0, cli.err.right(2000).constData());
        MainWindow window;
        QVERIFY(window.openProject(project));  // shows the newest run, and its checkpoints
        CheckpointsPage* checkpoints = window.checkpointsPage();
        QVERIFY(waitFor([&] { return !checkpoints->records().empty(); }, 10000));
        const QString path = QString::fromStdString(checkpoints->records().back().path);
        QSignalSpy ready(checkpoints, &CheckpointsPage::replyReady);
        checkpoints->tryPrompt("What is 2 + 3?", path, path);
        QVERIFY(ready.wait(120000));
        QVERIFY2(checkpoints->replyText(0).contains("new tokens"), qPrintable(checkpoints->replyText(0)));
        // Greedy: the same checkpoint gives the same reply (the timing line below it may differ).
        QCOMPARE(checkpoints->replyText(0).section('\n', 0, 0), checkpoints->replyText(1).section('\n', 0, 0));

        // Held-out questions scored on the checkpoint: the same replies and score as
        // `hy3 generate --questions` for the project's chat settings.
        const QString questions = dir.path() + "/questions.jsonl";
        std::ofstream(questions.toStdString()) << R"({"question": "What is 'gvij' in upper case?", "answer": "GVIJ"})" "\n"
                                               << R"({"question": "How many cm are in 324 m?", "answer": "32400 cm"})" "\n"
                                               << R"({"question": "Say hello."})" "\n";
        hy3::ui::TryItView* tryIt = checkpoints->tryIt();
        QSignalSpy scored(tryIt, &hy3::ui::TryItView::scored);
        tryIt->score(questions, path, QString());
        QVERIFY(scored.wait(120000));
        const auto reference = hy3::test::runHy3({"generate", path, "--questions", questions, "--json", "--max-new-tokens", "64",
                                                  "--reasoning-effort", "no_think"});
        QVERIFY2(reference.exitCode == 0, reference.err.constData());
        int right = 0, row = 0;
        for (const QByteArray& line : reference.out.split('\n')) {
            if (line.trimmed().isEmpty()) continue;
            const auto j = nlohmann::json::parse(line.toStdString());
            QCOMPARE(tryIt->scoreTable()->item(row, 2)->text().toStdString(), j["reply"].get<std::string>());
            right += j.value("correct", false);
            ++row;
        }
        QCOMPARE(row, 3);
        QCOMPARE(tryIt->scoreTable()->rowCount(), 3);
        const QString summary = QTextDocumentFragment::fromHtml(tryIt->scoreSummary()).toPlainText();
        QVERIFY2(summary.contains(QString("%1 of 2 correct").arg(right)), qPrintable(summary));
    }

    // The device picker shows the project's training.device and edits it; a GPU asked for on a
    // machine without one is refused by the run with its one line, named on the page.
    void deviceChoiceEditsTheProject() {
        QTemporaryDir dir;
        const QString project = copyDefaultProject(dir, {{"training.max_steps", 2}, {"training.device", "cpu"}});
        MainWindow window;
        QVERIFY(window.openProject(project));
        TrainPage* page = window.trainPage();
        QCOMPARE(page->deviceChoice(), QString("cpu"));
        auto* combo = page->findChild<QComboBox*>("deviceChoice");
        QVERIFY(combo);
        combo->setCurrentIndex(combo->findData("cuda"));
        emit combo->activated(combo->currentIndex());
        QCOMPARE(QString::fromStdString(window.session()->settingValue("training.device").get<std::string>()), QString("cuda"));
        QString error;
        if (page->start({}, false, &error)) {
            // The run fails at once; the page opens its log on the reason (the child's error line).
            QVERIFY(waitFor([&] { return page->monitor()->state() == "failed"; }, 120000));
            QVERIFY2(page->monitor()->lastError().contains("training.device") && page->monitor()->lastError().contains("no GPU is visible"),
                     qPrintable(page->monitor()->lastError()));
        } else {
            QVERIFY2(error.contains("no GPU"), qPrintable(error));
        }
    }

    // A LoRA run: the Train page says before Start what trains; its checkpoint shows the adapter's
    // coverage, and Try it runs the adapter unmerged on the base.
    void loraCheckpointShowsItsAdapterAndAnswers() {
        QTemporaryDir dir;
        const QString project = copyDefaultProject(dir, {{"training.max_steps", 3}, {"training.eval_every", 0}, {"training.method", "lora"}});
        MainWindow before;
        QVERIFY(before.openProject(project));
        QVERIFY2(before.trainPage()->methodText().contains("LoRA") && before.trainPage()->methodText().contains("routed experts"),
                 qPrintable(before.trainPage()->methodText()));
        const auto cli = hy3::test::runHy3({"train", project}, 300000);
        QVERIFY2(cli.exitCode == 0, cli.err.right(2000).constData());
        MainWindow window;
        QVERIFY(window.openProject(project));
        CheckpointsPage* checkpoints = window.checkpointsPage();
        QVERIFY(waitFor([&] { return !checkpoints->records().empty(); }, 10000));
        const auto last = checkpoints->records().back();
        checkpoints->selectStep(last.step);
        QVERIFY(waitFor([&] { return !checkpoints->resumeCheckPending() && !checkpoints->adapterText().isEmpty(); }, 30000));
        QVERIFY2(checkpoints->adapterText().contains("rank 16") && checkpoints->adapterText().contains("8 experts x gate/up/down"),
                 qPrintable(checkpoints->adapterText()));
        QVERIFY2(checkpoints->resumeText().contains("exact"), qPrintable(checkpoints->resumeText()));
        QSignalSpy ready(checkpoints, &CheckpointsPage::replyReady);
        const QString path = QString::fromStdString(last.path);
        checkpoints->tryPrompt("What is 2 + 3?", path, QString());
        QVERIFY(ready.wait(120000));
        QVERIFY2(checkpoints->replyText(0).contains("new tokens"), qPrintable(checkpoints->replyText(0)));
        // Export of a LoRA checkpoint merges its adapter into the base its meta.json names.
        const QString merged = dir.path() + "/merged";
        checkpoints->exportSelected(merged);
        QVERIFY(waitFor([&] { return !checkpoints->isBusy(); }, 60000));
        QVERIFY2(checkpoints->actionResult().contains("Merged the adapter"), qPrintable(checkpoints->actionResult()));
        QVERIFY(QFileInfo::exists(merged + "/config.json"));
    }

    void attachesToAHeadlessRun() {
        QTemporaryDir dir;
        const QString project = copyDefaultProject(dir, {{"training.max_steps", 12}, {"training.eval_every", 6}});
        const auto cli = hy3::test::runHy3({"train", project, "--output", dir.path() + "/headless", "--run-name", "elsewhere"}, 300000);
        QVERIFY2(cli.exitCode == 0, cli.err.right(2000).constData());
        const QString runDir = dir.path() + "/headless/elsewhere";

        QTemporaryDir other;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(other));
        TrainPage* page = window.trainPage();
        openAndRead(page, runDir);
        // A local run written on this host is followed through its store.
        QVERIFY(QFileInfo(runDir + "/events.jsonl").size() > 0);
        QVERIFY2(!page->monitor()->followSource().eventsFile, page->monitor()->followSource().why.c_str());
        const hy3::RunStore store = hy3::RunStore::open((runDir + "/run.sqlite").toStdString(), hy3::RunStore::Mode::ReadOnly);
        const int64_t run = store.runs().back().id;
        QCOMPARE(page->lossPoints(), static_cast<int>(store.metric(run, "loss").size()));
        QCOMPARE(page->lossPoints(), 12);
        QCOMPARE(page->monitor()->metrics().at("eval_loss").size(), store.metric(run, "eval_loss").size());
        QCOMPARE(page->monitor()->routerSteps(), int64_t(12));
        QCOMPARE(page->heatmap()->data()->valueSize(), 3);
        QCOMPARE(page->monitor()->state(), QString("finished"));
        QVERIFY(page->statusText().contains("step 12 / 12"));
        // The runs list of that output folder, and its sparkline data.
        const auto runs = hy3::api::listRuns((dir.path() + "/headless").toStdString());
        QCOMPARE(runs.size(), size_t(1));
        QCOMPARE(runs[0].steps, int64_t(12));
        // A second run with another learning rate, compared with the first: both curves and the difference.
        const auto second = hy3::test::runHy3({"train", project, "--output", dir.path() + "/headless", "--run-name", "faster", "--set",
                                               "training.learning_rate=0.001"},
                                              300000);
        QVERIFY2(second.exitCode == 0, second.err.right(2000).constData());
        page->compareRuns({runDir, dir.path() + "/headless/faster"});
        auto* dialog = page->findChild<QDialog*>("compareDialog");
        QVERIFY(dialog);
        QVERIFY(waitFor([&] { return hy3::test::child<QCustomPlot>(dialog, "comparePlot")->graphCount() == 2; }, 60000));  // read on a worker
        QCOMPARE(hy3::test::child<QCustomPlot>(dialog, "comparePlot")->graphCount(), 2);
        auto* diff = hy3::test::child<QListWidget>(dialog, "settingsDiff");
        QVERIFY(!diff->findItems("learning_rate", Qt::MatchContains).isEmpty());
        dialog->close();
        // One expert's history comes from the store.
        QSignalSpy shown(page, &TrainPage::expertShown);
        page->showExpert(0, 3);
        QVERIFY(shown.wait(20000));
        QCOMPARE(page->expertPlot()->graph(0)->dataCount(), 12);
    }

    // A run started elsewhere, followed as from another machine: through its events.jsonl
    // (HY3_FOLLOW=events stands in for NFS or another host), with the same live charts; Stop
    // writes the run's stop-request file, and the run saves a checkpoint and ends as on SIGTERM.
    void followsARunThroughItsEventsFileAndStopsIt() {
        QTemporaryDir dir;
        const QString project = copyDefaultProject(dir, {{"training.max_steps", 3000}, {"training.eval_every", 0}, {"training.checkpoint_every", 0}});
        QProcess headless;
        headless.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        headless.setStandardOutputFile(QProcess::nullDevice());
        headless.start(hy3::test::hy3Binary(), {"train", project, "--output", dir.path() + "/cluster", "--run-name", "node17"});
        const QString runDir = dir.path() + "/cluster/node17";
        QVERIFY(waitFor([&] { return QFileInfo(runDir + "/events.jsonl").size() > 0; }, 60000));

        qputenv("HY3_FOLLOW", "events");
        QTemporaryDir other;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(other));
        TrainPage* page = window.trainPage();
        QString error;
        QVERIFY2(page->openRun(runDir, &error), qPrintable(error));
        QVERIFY(waitFor([&] { page->refreshNow(); return page->lossPoints() >= 3 && page->monitor()->routerSteps() >= 3; }, 120000));
        qunsetenv("HY3_FOLLOW");  // the poller chose on its thread before its first read
        QVERIFY(page->monitor()->followSource().eventsFile);
        QCOMPARE(page->monitor()->state(), QString("running"));
        QVERIFY(page->heatmap()->data()->valueSize() == 3);
        auto* stopButton = page->findChild<QPushButton*>("stopButton");
        QVERIFY(stopButton->isEnabled());  // a run started elsewhere can be stopped from here now
        QTest::mouseClick(stopButton, Qt::LeftButton);
        QVERIFY(QFileInfo::exists(runDir + "/stop-request"));
        QVERIFY(headless.waitForFinished(120000));
        QCOMPARE(headless.exitCode(), 0);
        QVERIFY(waitFor([&] { return page->monitor()->state() == "stopped"; }, 10000));
        // It stopped with a checkpoint at the step it reached, which the page followed to the end.
        const auto checkpoints = QDir(runDir + "/checkpoints").entryList({"step-*"});
        QCOMPARE(checkpoints.size(), 1);
        page->refreshNow();
        QVERIFY2(page->statusText().contains(QString("step %1 /").arg(checkpoints.front().mid(5).toInt())), qPrintable(page->statusText()));
        // The events file holds what the store holds.
        const hy3::RunStore store = hy3::RunStore::open((runDir + "/run.sqlite").toStdString(), hy3::RunStore::Mode::ReadOnly);
        QCOMPARE(static_cast<size_t>(page->lossPoints()), store.metric(store.runs().back().id, "loss").size());
    }

    // A damaged run store beside a good run: the Runs tab lists it as damaged with the reason naming
    // the file, opening it says why on the page, and the window goes on (the good run opens after).
    // A project copied with its runs acts on its own checkpoints: the Checkpoints page of the copy
    // lists the copy's folders (it listed the original's, with Resume, Open folder and Delete), and
    // deleting one there leaves the original's in place.
    void aCopiedRunActsOnItsOwnCheckpoints() {
        QTemporaryDir dir;
        const std::filesystem::path original = (dir.path() + "/original/runs/r1").toStdString();
        const std::filesystem::path copy = (dir.path() + "/copy/runs/r1").toStdString();
        const std::filesystem::path saved = runWithCheckpoints(original, {3}).front();
        std::filesystem::create_directories(copy.parent_path());
        std::filesystem::copy(original, copy, std::filesystem::copy_options::recursive);

        auto window = windowOnRun(dir, QString::fromStdString(copy.string()));
        CheckpointsPage* page = window->checkpointsPage();
        page->refresh();
        QVERIFY(waitFor([&] { return !page->records().empty(); }, 10000));
        const std::filesystem::path mine = copy / "checkpoints" / "step-00000003";
        QCOMPARE(QString::fromStdString(page->records().front().path), QString::fromStdString(mine.string()));
        page->selectStep(3);
        QSignalSpy finished(page, &CheckpointsPage::actionFinished);
        QString error;
        QVERIFY2(page->deleteSelected(true, &error), qPrintable(error));
        QVERIFY(finished.wait(30000));
        QVERIFY2(!std::filesystem::exists(mine), qPrintable(page->actionResult()));
        QVERIFY(std::filesystem::exists(saved / "meta.json"));
    }

    // After File > Open of another project no page shows the previous project's run: the
    // Checkpoints page kept listing the old run's checkpoints with Resume and Delete enabled.
    void openingAnotherProjectLeavesThePreviousRun() {
        QTemporaryDir first, second;
        const std::filesystem::path run = (first.path() + "/runs/r1").toStdString();
        runWithCheckpoints(run, {3});
        auto window = windowOnRun(first, QString::fromStdString(run.string()));
        CheckpointsPage* page = window->checkpointsPage();
        page->refresh();
        QVERIFY(waitFor([&] { return !page->records().empty(); }, 10000));
        QVERIFY(window->openProject(hy3::test::scratchProject(second)));
        QVERIFY(waitFor([&] { return page->records().empty(); }, 10000));
        for (const char* name : {"resumeButton", "deleteButton", "openFolderButton"})
            QVERIFY2(!page->findChild<QPushButton*>(name)->isEnabled(), name);
        QVERIFY(window->trainPage()->monitor()->runDir().isEmpty());
    }

    // Try it shows a reply only beside the checkpoint it came from: choosing another checkpoint
    // left the previous one's answer standing under the new choice.
    void tryItDropsTheAnswerOfAnotherCheckpoint() {
        QTemporaryDir dir;
        const std::filesystem::path run = (dir.path() + "/runs/r1").toStdString();
        const auto saved = runWithCheckpoints(run, {3, 6});
        auto window = windowOnRun(dir, QString::fromStdString(run.string()));
        CheckpointsPage* page = window->checkpointsPage();
        page->refresh();
        QVERIFY(waitFor([&] { return page->records().size() == 2; }, 10000));
        // These folders hold no model, so the answer is the error saying so: a reply all the same.
        QSignalSpy ready(page, &CheckpointsPage::replyReady);
        page->tryPrompt("hello", QString::fromStdString(saved[0].string()), QString());
        QVERIFY(ready.wait(30000));
        QVERIFY(!page->replyText(0).isEmpty());
        auto* a = page->findChild<QComboBox*>("tryCheckpointA");
        a->setCurrentIndex(a->findData(QString::fromStdString(saved[1].string())));
        QVERIFY2(page->replyText(0).isEmpty(), qPrintable(page->replyText(0)));
        a->setCurrentIndex(a->findData(QString::fromStdString(saved[0].string())));
        QVERIFY(page->replyText(0).isEmpty());  // cleared, not remembered: ask again to see it
    }

    // The status bar, the Model page and Start go by one list of problems: with a truncated shard
    // and no tokenizer the status said "Project is valid" and Start launched a run that died.
    void startRefusesWhatTheModelPageFinds() {
        QTemporaryDir dir;
        const std::filesystem::path model = (dir.path() + "/model").toStdString();
        std::filesystem::copy((hy3::test::sharedDir() + "/fixtures/hy3-tiny/checkpoint").toStdString(), model);
        const std::filesystem::path shard = model / "model-00002-of-00002.safetensors";
        std::filesystem::resize_file(shard, std::filesystem::file_size(shard) / 2);
        const QString path = hy3::test::scratchProject(dir);
        hy3::ProjectFile p = hy3::ProjectFile::load(path.toStdString());
        p.set("model", nlohmann::json{{"path", model.string()}});
        p.save();

        MainWindow window;
        QVERIFY(window.openProject(path));
        QVERIFY2(waitFor([&] { return window.statusBar()->currentMessage().contains("problem"); }, 30000),
                 qPrintable(window.statusBar()->currentMessage()));
        QString error;
        QVERIFY(!window.trainPage()->start({}, false, &error));
        QVERIFY2(error.contains("the model has") && error.contains("tokenizer"), qPrintable(error));
        QVERIFY2(error.contains("model-00002-of-00002.safetensors"), qPrintable(error));
        QVERIFY(!window.trainPage()->monitor()->ownsProcess());
    }

    // The smoothed loss is TensorBoard's debiased EMA with its slider (a fixed 0.95 lagged far
    // behind: raw 1.8 against smoothed 3.0 at step 25).
    // The Log tab on a real child process whose stderr arrives in pieces: "err" and "or: ..." are
    // one line, the failed run's banner says why it ended, and a long line scrolls sideways.
    // A run whose store holds router collapse warnings (as the trainer writes them): the Train
    // page raises a banner naming the step, the layer and the expert of the latest, and its link
    // shows that expert's history on the Router load tab.
    void routerCollapseRaisesAnAlert() {
        QTemporaryDir dir;
        const QString runDir = dir.path() + "/runs/collapsed";
        hy3::test::writeSyntheticRun(runDir, 40, 2, 8, "stopped");
        {
            hy3::RunStore store = hy3::RunStore::open((runDir + "/run.sqlite").toStdString(), hy3::RunStore::Mode::ReadWrite);
            const int64_t run = store.runs().back().id;
            const hy3::RouterAlert idle{20, 1, 3, "idle", 20}, overloaded{31, 2, 6, "overloaded", 3.4};
            for (const auto& a : {idle, overloaded}) store.addEvent(run, a.step, "log", "warning", a.text(), "{}");
        }
        auto window = windowOnRun(dir, runDir);
        TrainPage* page = window->trainPage();
        QVERIFY(waitFor([&] { return !page->alertText().isEmpty(); }, 10000));
        const QString text = QTextDocumentFragment::fromHtml(page->alertText()).toPlainText();
        QVERIFY2(text.contains("step 31 in MoE layer 2: expert 6 took 3.4x the mean load"), qPrintable(text));
        QVERIFY2(text.contains("2 warnings"), qPrintable(text));
        QSignalSpy shown(page, &TrainPage::expertShown);
        emit window->findChild<QLabel*>("routerAlert")->linkActivated("expert");
        QCOMPARE(window->findChild<QTabWidget*>("trainTabs")->currentIndex(), 1);
        QVERIFY(shown.wait(20000));
        QCOMPARE(page->expertPlot()->graph(0)->dataCount(), 40);
        QVERIFY2(window->findChild<QLabel*>("expertLabel")->text().contains("Layer 2, expert 6"),
                 qPrintable(window->findChild<QLabel*>("expertLabel")->text()));

        // Another run without warnings: the banner goes.
        const QString quiet = dir.path() + "/runs/quiet";
        hy3::test::writeSyntheticRun(quiet, 5, 1, 4, "stopped");
        openAndRead(page, quiet);
        QVERIFY(page->alertText().isEmpty());
    }

    // At 1200x800 the Runs tab's buttons show without scrolling (they sat below the fold).
    void runsButtonsShowAt1200x800() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        window.resize(1200, 800);
        window.showPage("Train");
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.trainPage()->findChild<QTabWidget*>("trainTabs")->setCurrentIndex(3);
        QTest::qWait(100);
        for (const char* name : {"openSelectedRunButton", "compareButton"})
            QVERIFY2(hy3::test::visibleWithoutScrolling(window.trainPage()->findChild<QPushButton*>(name), window.trainPage()), name);
    }

    void theLogKeepsWholeLinesAndTheReason() {
        RunMonitor monitor;
        const QString script =
            "printf 'reading the project\\nerr' >&2; sleep 0.3; "
            "printf 'or: p.hy3proj: training.learning_rate: expected a number\\n' >&2; "
            "printf '%0300d\\n' 7 >&2; exit 2";
        monitor.startProcess("/bin/sh", {"-c", script}, QDir::tempPath());
        QVERIFY(waitFor([&] { return monitor.state() == "failed"; }, 20000));
        QStringList lines;
        for (const auto& line : monitor.log()) lines << QString::fromStdString(line.level + " " + line.text);
        QVERIFY2(lines.contains("error error: p.hy3proj: training.learning_rate: expected a number"), qPrintable(lines.join("\n")));
        QVERIFY2(!lines.contains("info err"), qPrintable(lines.join("\n")));
        QVERIFY2(lines.contains("info reading the project"), qPrintable(lines.join("\n")));
        QCOMPARE(monitor.lastError(), QString("hy3 exited with status 2: error: p.hy3proj: training.learning_rate: expected a number"));

        hy3::ui::RunLogView view;
        view.setLines(monitor.log());
        view.resize(500, 300);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QVERIFY(waitFor([&] { return view.list()->horizontalScrollBar()->maximum() > 0; }, 5000));
    }

    void lossSmoothingFollowsTheSlider() {
        hy3::ui::TrainCharts charts;
        std::map<std::string, hy3::api::Series> metrics;
        for (int step = 1; step <= 25; ++step) metrics["loss"].add(step, step < 5 ? 5.0 : 1.8);
        charts.show(metrics);
        QVERIFY(charts.findChild<QSlider*>("smoothingSlider"));
        QCOMPARE(charts.smoothing(), 0.6);
        QCOMPARE(charts.smoothedLoss(), hy3::api::smoothed(metrics["loss"].values, 0.6));
        QCOMPARE(charts.smoothedLoss().front(), 5.0);        // debiased: the first point is the first value
        QVERIFY(std::abs(charts.smoothedLoss().back() - 1.8) < 0.01);  // caught up by step 25
        charts.setSmoothing(0);
        QCOMPARE(charts.smoothedLoss(), metrics["loss"].values);
        // Step ticks are whole numbers also when few steps are shown (they fell at 2.5 and 7.5).
        QCustomPlot* plot = charts.findChild<QCustomPlot*>("lossPlot");
        QVector<double> ticks;
        plot->xAxis->ticker()->generate(QCPRange(1, 3), QLocale(), 'g', 6, ticks, nullptr, nullptr);
        QVERIFY(!ticks.isEmpty());
        for (double t : ticks) QVERIFY2(t == std::round(t), qPrintable(QString::number(t)));
    }

    // The charts export: every series as CSV (a row per step, empty where a metric has no point)
    // and the charts as a PNG; with no run shown the axes are empty, not the last run's.
    void chartsExportAndEmptyAxes() {
        hy3::ui::TrainCharts charts;
        charts.resize(900, 700);
        std::map<std::string, hy3::api::Series> metrics;
        for (int step = 1; step <= 50; ++step) metrics["loss"].add(step, 3.0 - step * 0.01), metrics["lr"].add(step, 1e-3);
        metrics["eval_loss"].add(50, 2.25);
        charts.show(metrics);
        QTemporaryDir dir;
        QString error;
        QVERIFY2(charts.saveCsv(dir.path() + "/m.csv", &error), qPrintable(error));
        QFile csv(dir.path() + "/m.csv");
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 51);
        QCOMPARE(lines[0], QString("step,eval_loss,loss,lr"));
        QCOMPARE(lines[1], QString("1,,2.99,0.001"));
        QCOMPARE(lines[50], QString("50,2.25,2.5,0.001"));
        QVERIFY2(charts.savePng(dir.path() + "/c.png", &error), qPrintable(error));
        QImage png(dir.path() + "/c.png");
        QCOMPARE(png.size(), charts.size() * charts.devicePixelRatio());
        QVERIFY(!charts.saveCsv(dir.path() + "/no/such/folder/m.csv", &error));
        QVERIFY2(error.contains("no/such/folder"), qPrintable(error));

        QCustomPlot* loss = charts.findChild<QCustomPlot*>("lossPlot");
        QVERIFY(loss->xAxis->range().upper >= 50);
        const std::map<std::string, hy3::api::Series> none;
        charts.show(none);
        QCOMPARE(loss->xAxis->range().upper, 1.0);  // it kept 1..50 from the run shown before
    }

    // The router view: the busiest cells are coloured (the thermal gradient drew them white, like
    // cells without data), and the per-layer imbalance lines have a legend naming each layer.
    void routerColoursAndLegend() {
        QTemporaryDir dir;
        const QString runDir = dir.path() + "/runs/r";
        hy3::test::writeSyntheticRun(runDir, 30, 3, 8, "stopped");
        auto window = windowOnRun(dir, runDir);
        TrainPage* page = window->trainPage();
        const QColor top = page->heatmap()->gradient().color(1.0, QCPRange(0, 1));
        QVERIFY2(top.lightness() < 240, qPrintable(top.name()));
        auto* imbalance = page->findChild<QCustomPlot*>("imbalancePlot");
        QVERIFY(imbalance->legend->visible());
        QCOMPARE(imbalance->legend->itemCount(), 3);
        QCOMPARE(imbalance->graph(0)->name(), QString("layer 1"));
        // The status line names the step the chart shows.
        QVERIFY2(page->statusText().contains("step 30 / 30"), qPrintable(page->statusText()));
    }

    // A message with quotes in it reads as written: the status line is HTML with the message
    // escaped, and was shown as plain text when no tag was in it ("&quot;" on screen).
    void statusMessagesShowTheirQuotes() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        TrainPage* page = window.trainPage();
        const QString missing = dir.path() + "/no \"such\" run";
        QSignalSpy failed(page->monitor(), &RunMonitor::attachFailed);
        QString error;
        QVERIFY(page->openRun(missing, &error));
        QVERIFY(failed.wait(30000));
        page->refreshNow();
        auto* status = page->findChild<QLabel*>("trainStatus");
        QTextDocument shown;
        if (status->textFormat() == Qt::RichText || (status->textFormat() == Qt::AutoText && Qt::mightBeRichText(status->text())))
            shown.setHtml(status->text());
        else
            shown.setPlainText(status->text());
        QVERIFY2(shown.toPlainText().contains("no \"such\" run") && !shown.toPlainText().contains("&quot;"), qPrintable(shown.toPlainText()));
    }

    void aDamagedRunStoreIsNamedAndTheWindowGoesOn() {
        QTemporaryDir dir;
        const QString output = dir.path() + "/runs";
        const QString project = copyDefaultProject(dir, {{"training.max_steps", 2}, {"output_dir", output.toStdString()}});
        const auto cli = hy3::test::runHy3({"train", project, "--run-name", "good"}, 300000);
        QVERIFY2(cli.exitCode == 0, cli.err.right(2000).constData());
        QVERIFY(QDir().mkpath(output + "/damaged"));
        QFile good(output + "/good/run.sqlite");
        QVERIFY(good.open(QIODevice::ReadOnly));
        QByteArray bytes = good.readAll();
        for (int i = 100; i < bytes.size(); ++i) bytes[i] = static_cast<char>(0xA5 ^ (i * 7));  // SQLite's header kept, the pages garbage
        QFile damaged(output + "/damaged/run.sqlite");
        QVERIFY(damaged.open(QIODevice::WriteOnly));
        damaged.write(bytes);
        // Written a minute ago: a store written in the last seconds may be a run being created.
        QVERIFY(damaged.setFileTime(QDateTime::currentDateTime().addSecs(-60), QFileDevice::FileModificationTime));
        damaged.close();

        MainWindow window;
        window.resize(1400, 1000);
        TrainPage* page = window.trainPage();
        QSignalSpy opened(page->monitor(), &RunMonitor::storeRead);
        window.openProject(project);
        window.showPage("Train");
        QVERIFY(opened.wait(60000));  // the newest readable run is shown, as on every reopening
        auto* runs = hy3::test::child<QTableView>(&window, "runsTable");
        QVERIFY(waitFor([&] { return runs->model()->rowCount() == 2; }, 20000));
        const QModelIndex state = runs->model()->index(1, 1);
        QCOMPARE(state.data().toString(), QString("damaged"));
        QVERIFY2(state.data(Qt::ToolTipRole).toString().contains("damaged/run.sqlite"), qPrintable(state.data(Qt::ToolTipRole).toString()));

        QSignalSpy failed(page->monitor(), &RunMonitor::attachFailed);
        QVERIFY(page->openRun(output + "/damaged"));
        QVERIFY(failed.wait(20000));
        page->refreshNow();
        QVERIFY2(page->statusText().contains("Cannot open the run") && page->statusText().contains("run.sqlite"), qPrintable(page->statusText()));
        window.showPage("Checkpoints");
        window.showPage("Train");
        openAndRead(page, output + "/good");
        QCOMPARE(page->lossPoints(), 2);
    }

    // The released model's router: 79 MoE layers x 192 experts, 5,000 steps in a run store, opened,
    // fed five more steps, and one expert's whole history read from the store.
    void heatmapAtTheReleasedSize() {
        QTemporaryDir dir;
        const QString runDir = dir.path() + "/synthetic";
        hy3::test::writeSyntheticRun(runDir, 5000, 79, 192, "finished");
        const auto window = windowOnRun(dir, runDir);
        TrainPage* page = window->trainPage();
        QCOMPARE(page->heatmap()->data()->keySize(), 192);
        QCOMPARE(page->heatmap()->data()->valueSize(), 79);
        QCOMPARE(page->monitor()->routerSteps(), int64_t(5000));
        QCOMPARE(page->lossPoints(), 5000);

        // Five more steps of 79 layers arrive; the heatmap shows the newest and every layer's
        // imbalance line gains the points.
        std::mt19937 rng(9);
        for (int i = 0; i < 5; ++i) {
            for (int layer = 1; layer <= 79; ++layer) {
                std::vector<double> counts(192);
                for (double& c : counts) c = static_cast<double>(rng() % 4096);
                counts[static_cast<size_t>(layer)] = 1e8;  // one expert takes nearly everything
                page->monitor()->addRouterLoad(5001 + i, layer, counts);
            }
            page->refreshNow();
        }
        QCOMPARE(page->monitor()->routerSteps(), int64_t(5005));
        for (int layer = 0; layer < 79; ++layer) QVERIFY(page->heatmap()->data()->cell(layer + 1, layer) > 0.9);
        auto* imbalance = hy3::test::child<QCustomPlot>(page, "imbalancePlot");
        QCOMPARE(imbalance->graphCount(), 79);
        QCOMPARE(imbalance->graph(78)->dataCount(), 5005);

        // Clicking a cell reads that expert's 5,000-step history from the store.
        QSignalSpy shown(page, &TrainPage::expertShown);
        page->showExpert(40, 100);
        QVERIFY(shown.wait(120000));
        const hy3::RunStore store = hy3::RunStore::open((runDir + "/run.sqlite").toStdString(), hy3::RunStore::Mode::ReadOnly);
        QCOMPARE(store.routerHistory(store.runs().back().id, 41).size(), size_t(5000));
        QCOMPARE(page->expertPlot()->graph(0)->dataCount(), 5000);
    }

    // The page follows a run that is still growing (its poller reads the store every second) while
    // expert histories are read on workers: each read must go through a connection of its own.
    // When the worker borrowed the monitor's connection, this crashed inside sqlite3_step (the
    // connection is opened without SQLite's mutex).
    void expertHistoryWhileFollowingAGrowingRun() {
        QTemporaryDir dir;
        const QString runDir = dir.path() + "/growing";
        hy3::test::writeSyntheticRun(runDir, 3000, 8, 192, "running");
        const auto window = windowOnRun(dir, runDir);
        TrainPage* page = window->trainPage();
        QCOMPARE(page->monitor()->state(), QString("running"));

        hy3::RunStore writer = hy3::RunStore::open((runDir + "/run.sqlite").toStdString(), hy3::RunStore::Mode::ReadWrite);
        const int64_t run = writer.runs().back().id;
        std::vector<uint32_t> counts(192, 100);
        int64_t steps = 3000;
        for (int i = 0; i < 12; ++i) {
            // The run grows by one step, which the monitor's next poll reads.
            ++steps;
            writer.transaction([&] {
                for (int64_t layer = 1; layer <= 8; ++layer) writer.addRouterLoad(run, steps, layer, counts, {});
                writer.addMetrics(run, steps, {{"loss", 1.5}});
            });
            QSignalSpy shown(page, &TrainPage::expertShown);
            page->showExpert(i % 8, i % 192);
            // Events are processed while the worker reads, so polls of the store run meanwhile.
            QVERIFY(shown.wait(120000));
            const QString label = hy3::test::child<QLabel>(page, "expertLabel")->text();
            QVERIFY2(label.startsWith("Layer"), qPrintable(label));
            QCOMPARE(page->expertPlot()->graph(0)->dataCount(), static_cast<int>(steps));
        }
        // The polls saw the run grow (its newest step is held back until the run moves past it).
        QVERIFY(waitFor([&] { return page->monitor()->step() == steps; }, 60000));
        writer.setRunState(run, "stopped");
        QVERIFY(waitFor([&] { return page->monitor()->state() == "stopped"; }, 60000));
        QCOMPARE(page->monitor()->routerSteps(), steps);
    }
};

QTEST_MAIN(TestTrainPage)
#include "tst_train_page.moc"
