// The Data page, offscreen: adding the bundled dataset indexes its records and previews them; the
// loss colouring of a record is what `hy3 render --mask` says; search, jump, the reasoning mode,
// preparing (with its statistics, reuse of the cache and cancelling) and skipped lines.
#include "dataset_editor.h"
#include "main_window.h"
#include "pages/data_page.h"
#include "project_session.h"
#include "test_support.h"
#include "token_view.h"
#include "ui_support.h"

#include <QComboBox>
#include <QProgressBar>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>

#include <qcustomplot.h>

#include <fstream>

using hy3::test::child;
using hy3::ui::DataPage;
using hy3::ui::MainWindow;
using hy3::ui::TokenView;

namespace {

QString bundledDataset() { return hy3::test::sourceDir() + "/resources/projects/default/data/train.jsonl"; }

bool waitForRecords(DataPage* page) {
    QSignalSpy spy(page, &DataPage::browserReady);
    return page->isIndexing() ? spy.wait(30000) : true;
}

bool waitForPrepare(DataPage* page) {
    QSignalSpy spy(page, &DataPage::prepareFinished);
    return page->isPreparing() ? spy.wait(120000) : true;
}

// A window on a scratch project (tiny preset) with `dataset` added on the Data page.
struct Fixture {
    QTemporaryDir dir;
    MainWindow window;
    DataPage* page = nullptr;
    explicit Fixture(const QString& dataset) {
        window.openProject(hy3::test::scratchProject(dir));
        page = window.dataPage();
        page->datasets()->addPaths({dataset});
    }
};

}  // namespace

class TestDataPage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { hy3::test::isolateSettings(); }

    void addingTheBundledDatasetShowsItsRecords() {
        Fixture f(bundledDataset());
        QVERIFY(waitForRecords(f.page));
        QCOMPARE(f.page->recordCount(), int64_t(4000));
        QCOMPARE(child<QLabel>(f.page, "recordCountLabel")->text(), QString("of 4,000"));
        QCOMPARE(f.window.session()->project().get("datasets").size(), size_t(1));
        // The first record: "What is 7 + 9?" -> "16", rendered with the Hy3 format.
        QVERIFY(f.page->shownRecord().has_value());
        QCOMPARE(f.page->shownRecord()->line, int64_t(1));
        QString text;
        for (int i = 0; i < f.page->tokenView()->count(); ++i) text += f.page->tokenView()->token(i).text;
        QVERIFY2(text.contains("What is 7 + 9?") && text.contains("16"), qPrintable(text));
        QVERIFY(child<QLabel>(f.page, "recordInfo")->text().contains("5 in the loss"));

        // Next, and a jump to record 100.
        QTest::mouseClick(child<QPushButton>(f.page, "nextButton"), Qt::LeftButton);
        QCOMPARE(f.page->currentRecord(), 1);
        QCOMPARE(f.page->shownRecord()->line, int64_t(2));
        child<QSpinBox>(f.page, "recordSpin")->setValue(100);
        QCOMPARE(f.page->shownRecord()->line, int64_t(100));
        QTest::mouseClick(child<QPushButton>(f.page, "prevButton"), Qt::LeftButton);
        QCOMPARE(f.page->shownRecord()->line, int64_t(99));
    }

    void lossColouringMatchesRenderMask() {
        Fixture f(bundledDataset());
        QVERIFY(waitForRecords(f.page));
        f.page->showRecord(1);  // has a system prompt
        const auto& record = *f.page->shownRecord();
        QVERIFY(record.error.empty());
        // The same conversation through the CLI.
        const auto messages = nlohmann::json::parse(record.raw)["messages"];
        const QString file = f.dir.path() + "/record.json";
        std::ofstream(file.toStdString()) << messages.dump();
        const auto r = hy3::test::runHy3({"render", "--tokenizer", hy3::test::sourceDir() + "/resources/tokenizers/hy3-byte", "--messages",
                                          file, "--ids", "--mask"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const auto cli = nlohmann::json::parse(r.out.toStdString());
        const TokenView* view = f.page->tokenView();
        QCOMPARE(static_cast<size_t>(view->count()), cli["ids"].size());
        int inLoss = 0;
        for (int i = 0; i < view->count(); ++i) {
            QCOMPARE(view->token(i).id, cli["ids"][static_cast<size_t>(i)].get<int32_t>());
            const bool masked = cli["mask"][static_cast<size_t>(i)].get<int>() == 1;
            QCOMPARE(view->background(i), masked ? TokenView::lossColor() : TokenView::contextColor());
            inLoss += masked;
            QVERIFY(view->toolTipFor(i).contains(QString("id %1").arg(view->token(i).id)));
        }
        QVERIFY(inLoss > 0 && inLoss < view->count());
    }

    void searchFindsTheRecord() {
        Fixture f(bundledDataset());
        QVERIFY(waitForRecords(f.page));
        QSignalSpy found(f.page, &DataPage::searchFinished);
        f.page->findNext("'nflow'");
        QVERIFY(found.wait(20000));
        QCOMPARE(found.takeFirst().at(0).toBool(), true);
        QCOMPARE(f.page->shownRecord()->line, int64_t(4));
        f.page->findNext("no record has this text");
        QVERIFY(found.wait(20000));
        QCOMPARE(found.takeFirst().at(0).toBool(), false);
        QCOMPARE(f.page->shownRecord()->line, int64_t(4));
    }

    void reasoningModeChangesTheRenderAndTheProject() {
        Fixture f(bundledDataset());
        QVERIFY(waitForRecords(f.page));
        auto rendered = [&] {
            QString text;
            for (int i = 0; i < f.page->tokenView()->count(); ++i) text += f.page->tokenView()->token(i).text;
            return text;
        };
        QVERIFY(rendered().contains("no_think"));
        f.page->showRecord(41);
        QCOMPARE(f.page->currentRecord(), 41);
        child<QComboBox>(f.page, "effortCombo")->setCurrentIndex(2);  // high
        QCOMPARE(f.window.session()->project().get("data.reasoning_effort").get<std::string>(), std::string("high"));
        QVERIFY(waitForRecords(f.page));  // the project's data changed: the preview reopens
        QVERIFY2(!rendered().contains("no_think"), qPrintable(rendered()));
        QCOMPARE(f.page->currentRecord(), 41);  // on the record it showed, not back at the first
    }

    // Before anything is prepared there is no progress bar (it stood at 100% beside "not prepared
    // yet") and no empty histogram box; both come with Prepare.
    void nothingPreparedShowsNoBarAndNoBox() {
        Fixture f(bundledDataset());
        QVERIFY(waitForRecords(f.page));
        QVERIFY(child<QLabel>(f.page, "prepareStatus")->text().contains("Not prepared"));
        QVERIFY(child<QProgressBar>(f.page, "prepareProgress")->isHidden());
        QVERIFY(child<QCustomPlot>(f.page, "lengthPlot")->isHidden());
        f.page->prepare();
        QVERIFY(waitForPrepare(f.page));
        QVERIFY(f.page->stats().has_value());
        QVERIFY(!child<QCustomPlot>(f.page, "lengthPlot")->isHidden());
        QVERIFY(child<QProgressBar>(f.page, "prepareProgress")->isHidden());  // done: the status says so
        // Another sequence length is not prepared yet: the bar and the box go again.
        f.window.session()->setValue("training.seq_len", 128);
        QVERIFY(waitForRecords(f.page));
        QVERIFY(child<QLabel>(f.page, "prepareStatus")->text().contains("Not prepared"));
        QVERIFY(child<QProgressBar>(f.page, "prepareProgress")->isHidden());
        QVERIFY(child<QCustomPlot>(f.page, "lengthPlot")->isHidden());
    }

    void prepareShowsStatisticsAndReusesTheCache() {
        Fixture f(bundledDataset());
        QVERIFY(waitForRecords(f.page));
        QVERIFY(!f.page->stats().has_value());
        QTest::mouseClick(child<QPushButton>(f.page, "prepareButton"), Qt::LeftButton);
        QVERIFY(waitForPrepare(f.page));
        QVERIFY2(f.page->stats().has_value(), qPrintable(child<QLabel>(f.page, "prepareStatus")->text()));
        const auto& s = f.page->stats()->stats;
        QCOMPARE(s.recordsRead, int64_t(4000));
        QVERIFY(!f.page->stats()->reused);
        QVERIFY(s.validation.documents > 0);  // 5% held out by default
        QVERIFY(child<QLabel>(f.page, "statsLabel")->text().contains("4,000"));
        QVERIFY(child<QCustomPlot>(f.page, "lengthPlot")->plottableCount() >= 1);
        // The numbers are `hy3 data-stats`'s for the saved project.
        QString error;
        QVERIFY(f.window.session()->save(&error));
        const auto cli = hy3::test::runHy3({"data-stats", f.window.session()->filePath(), "--json"});
        QVERIFY2(cli.exitCode == 0, cli.err.constData());
        const auto j = nlohmann::json::parse(cli.out.toStdString());
        QCOMPARE(j["train"]["documents"].get<int64_t>(), s.train.documents);
        QCOMPARE(j["train"]["loss_tokens"].get<int64_t>(), s.train.lossTokens);
        // Again: the cache is reused.
        const auto firstCache = f.page->stats()->cacheDir;
        f.page->prepare();
        QVERIFY(waitForPrepare(f.page));
        QVERIFY2(f.page->stats()->reused, (firstCache.string() + " then " + f.page->stats()->cacheDir.string() + "; cli: " + j["cache_dir"].dump()).c_str());
        QVERIFY(child<QLabel>(f.page, "prepareStatus")->text().contains("reused"));
    }

    void cancellingPrepareLeavesNothing() {
        Fixture f(bundledDataset());
        QVERIFY(waitForRecords(f.page));
        f.page->prepare();
        f.page->cancelPrepare();
        QVERIFY(waitForPrepare(f.page));
        QVERIFY(!f.page->stats().has_value());
        QVERIFY(child<QLabel>(f.page, "prepareStatus")->text().contains("Cancelled"));
        const QDir cache(f.dir.path() + "/runs/.cache/data");
        QVERIFY2(cache.entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).isEmpty(),
                 qPrintable(cache.entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).join(", ")));
    }

    void skippedLinesOpenInThePreview() {
        QTemporaryDir data;
        const QString file = data.path() + "/mixed.jsonl";
        {
            std::ofstream out(file.toStdString());
            out << R"({"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]})" << "\n";
            out << R"({"messages":[{"role":"user","content":"no reply"}]})" << "\n";
            out << "not json at all\n";
            out << R"({"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}]})" << "\n";
        }
        Fixture f(file);
        QVERIFY(waitForRecords(f.page));
        QCOMPARE(f.page->recordCount(), int64_t(4));
        f.page->prepare();
        QVERIFY(waitForPrepare(f.page));
        QVERIFY(f.page->stats().has_value());
        QCOMPARE(f.page->stats()->stats.recordsSkipped, int64_t(2));
        auto* list = child<QListWidget>(f.page, "skippedList");
        QCOMPARE(list->count(), 2);
        QVERIFY(list->item(1)->text().startsWith("mixed.jsonl:3"));
        emit list->itemClicked(list->item(1));
        QCOMPARE(f.page->shownRecord()->line, int64_t(3));
        // The column of that line, not nlohmann's "line 1" of the one record it was given.
        const QString error = QString::fromStdString(f.page->shownRecord()->error);
        QVERIFY2(error.contains("not valid JSON at column 2 of the line") && !error.contains("line 1,"), qPrintable(error));
        QVERIFY(child<QLabel>(f.page, "recordError")->text().contains("Skipped by training"));
    }
};

QTEST_MAIN(TestDataPage)
#include "tst_data_page.moc"
