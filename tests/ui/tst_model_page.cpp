// The Model page, offscreen: choosing a preset or a model directory updates the project and shows
// the same figures as `hy3 model-info`, computed off the GUI thread; bad directories show the error.
#include "main_window.h"
#include "pages/model_page.h"
#include "project_session.h"
#include "test_support.h"
#include "ui_support.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>

using hy3::ui::MainWindow;
using hy3::ui::ModelPage;

namespace {

// Waits until the page has shown the result of its latest request.
bool waitForReport(ModelPage* page) {
    QSignalSpy spy(page, &ModelPage::describeFinished);
    return page->isBusy() ? spy.wait(20000) : true;
}

}  // namespace

class TestModelPage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { hy3::test::isolateSettings(); }

    void showsTheProjectsPreset() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        ModelPage* page = window.modelPage();
        QVERIFY(waitForReport(page));
        QVERIFY(page->report().has_value());
        QCOMPARE(page->findChild<QComboBox*>("presetCombo")->currentText(), QString("hy3-tiny"));
        QVERIFY(page->findChild<QLabel*>("totalsLabel")->text().contains("active per token"));
    }

    // At 1200x800 the page is no wider than the window: the "What trains" row added a
    // horizontal scrollbar.
    void noSidewaysScrollingAt1200x800() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        window.session()->setModelPreset("hy3-preview");
        window.resize(1200, 800);
        window.showPage("Model");
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(waitForReport(window.modelPage()));
        QTest::qWait(100);
        QScrollArea* area = hy3::test::scrollAreaOf(window.modelPage());
        QVERIFY(area);
        QCOMPARE(area->horizontalScrollBar()->maximum(), 0);
    }

    // FLOPs per token are given at the project's sequence length (the field said 4096 whatever
    // the project trained at).
    void flopsAtTheProjectsSequenceLength() {
        QTemporaryDir dir;
        const QString path = hy3::test::scratchProject(dir);
        hy3::ProjectFile p = hy3::ProjectFile::load(path.toStdString());
        p.set("training.seq_len", 512);
        p.save();
        MainWindow window;
        window.openProject(path);
        ModelPage* page = window.modelPage();
        QVERIFY(waitForReport(page));
        QCOMPARE(page->findChild<QSpinBox*>("seqLenSpin")->value(), 512);
        QCOMPARE(page->report()->seq_len, int64_t(512));
    }

    void choosingTheReleasedPresetUpdatesSummaryAndProject() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        ModelPage* page = window.modelPage();
        QVERIFY(waitForReport(page));
        page->findChild<QComboBox*>("presetCombo")->setCurrentText("hy3-preview");
        QVERIFY(waitForReport(page));
        const QString totals = page->findChild<QLabel*>("totalsLabel")->text();
        QVERIFY2(totals.contains("295,033,528,320"), qPrintable(totals));
        QVERIFY2(totals.contains("20,675,715,072"), qPrintable(totals));
        QVERIFY(page->findChild<QLabel*>("flopsLabel")->text().contains("136.8 GFLOP"));
        auto* table = page->findChild<QTableView*>("parameterTable");
        QCOMPARE(table->model()->rowCount(), 9);  // 8 components + total
        QCOMPARE(table->model()->index(8, 1).data().toString(), QString("295,033,528,320"));
        QCOMPARE(window.session()->project().get("model").value("preset", ""), std::string("hy3-preview"));
        QVERIFY(window.session()->isDirty());
    }

    void choosingTheTinyPresetUpdatesSummaryAndFiles() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        window.session()->setModelPreset("hy3-preview");
        ModelPage* page = window.modelPage();
        QVERIFY(waitForReport(page));
        page->findChild<QComboBox*>("presetCombo")->setCurrentText("hy3-tiny");
        QVERIFY(waitForReport(page));
        QVERIFY(page->findChild<QLabel*>("totalsLabel")->text().contains("1,425,792"));
        QCOMPARE(window.session()->project().get("model").value("preset", ""), std::string("hy3-tiny"));
        // The bundled tokenizer and the chat format training will use.
        const QString files = page->findChild<QLabel*>("filesLabel")->text();
        QVERIFY2(files.contains("tokenizers/hy3-byte") && files.contains("Chat template"), qPrintable(files));
    }

    void trainableCountFollowsTheCheckboxes() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        ModelPage* page = window.modelPage();
        QVERIFY(waitForReport(page));
        QCOMPARE(page->trainableCount(), int64_t(1425792));
        page->trainsBox("experts")->setChecked(false);
        QCOMPARE(page->trainableCount(), int64_t(1425792 - 884736));
        QVERIFY(page->findChild<QLabel*>("trainableLabel")->text().contains("541,056"));
        QCOMPARE(window.session()->project().get("training.freeze.experts").get<bool>(), true);
        page->trainsBox("embeddings")->setChecked(false);
        QCOMPARE(page->trainableCount(), int64_t(1425792 - 884736 - 40960));
        page->trainsBox("experts")->setChecked(true);
        QCOMPARE(window.session()->project().get("training.freeze.experts").get<bool>(), false);
        QCOMPARE(page->trainableCount(), int64_t(1425792 - 40960));
    }

    // LoRA: the base is frozen whatever the boxes say; the page names the adapters' modules and
    // groups and counts the adapter parameters (the trainer's formula: 372,224 at rank 16 on hy3-tiny).
    void loraShowsItsAdapters() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        ModelPage* page = window.modelPage();
        QVERIFY(waitForReport(page));
        window.session()->setValue("training.method", "lora");
        QCOMPARE(page->trainableCount(), int64_t(372224));
        QLabel* lora = page->findChild<QLabel*>("loraLabel");
        QVERIFY2(lora->text().contains("rank 16") && lora->text().contains("all 8 routed experts"), qPrintable(lora->text()));
        QVERIFY(!page->trainsBox("experts")->isVisibleTo(page));
        window.session()->setValue("lora.routed_experts", false);
        QVERIFY(page->trainableCount() < 372224);
        window.session()->setValue("training.method", "full");
        QCOMPARE(page->trainableCount(), int64_t(1425792));
        QVERIFY(page->trainsBox("experts")->isVisibleTo(page));
    }

    void sequenceLengthChangesFlops() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        ModelPage* page = window.modelPage();
        QVERIFY(waitForReport(page));
        page->findChild<QSpinBox*>("seqLenSpin")->setValue(128);
        QVERIFY(waitForReport(page));
        QCOMPARE(page->report()->seq_len, 128);
        QVERIFY(page->findChild<QLabel*>("flopsLabel")->text().contains("at 128 tokens"));
    }

    void modelDirectoryAndItsTokenizer() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        ModelPage* page = window.modelPage();
        QVERIFY(waitForReport(page));
        page->chooseDirectory(hy3::test::fixtureCheckpoint());
        QVERIFY(waitForReport(page));
        QVERIFY(page->findChild<QRadioButton*>("directoryRadio")->isChecked());
        QVERIFY(page->findChild<QLabel*>("totalsLabel")->text().contains("156,336"));
        // The fixture has weights but no tokenizer: verify passes, the missing tokenizer is named.
        const QString files = page->findChild<QLabel*>("filesLabel")->text();
        QVERIFY2(files.contains("no tokenizer.json"), qPrintable(files));
        const auto model = window.session()->project().get("model");
        QVERIFY(model.contains("path"));
        QCOMPARE(QString::fromStdString(window.session()->project().absolutePath(model["path"]).string()),
                 QDir::cleanPath(hy3::test::fixtureCheckpoint()));
        QVERIFY(window.session()->problems().empty());

        // The page sets model.tokenizer: choosing the bundled byte tokenizer clears the problem
        // and stores the folder relative to the project; "Use the model's" removes the key and the
        // problem is back.
        const QString byte = hy3::test::sourceDir() + "/resources/tokenizers/hy3-byte";
        page->chooseTokenizer(byte);
        QVERIFY(waitForReport(page));
        const QString withTokenizer = page->findChild<QLabel*>("filesLabel")->text();
        QVERIFY2(withTokenizer.contains("tokenizers/hy3-byte") && withTokenizer.contains("no problems"), qPrintable(withTokenizer));
        const auto stored = window.session()->project().get("model.tokenizer");
        QVERIFY2(stored.is_string() && !QDir::isAbsolutePath(QString::fromStdString(stored.get<std::string>())), stored.dump().c_str());
        QCOMPARE(window.session()->tokenizerDirectory(), QDir::cleanPath(byte));
        QVERIFY(window.session()->modelProblems().isEmpty());
        QCOMPARE(page->findChild<QLineEdit*>("tokenizerEdit")->text(), QDir::cleanPath(byte));
        QTest::mouseClick(page->findChild<QPushButton*>("ownTokenizerButton"), Qt::LeftButton);
        QVERIFY(waitForReport(page));
        QVERIFY(!window.session()->project().document()["model"].contains("tokenizer"));
        QVERIFY(page->findChild<QLabel*>("filesLabel")->text().contains("no tokenizer.json"));
        QVERIFY(!window.session()->modelProblems().isEmpty());
    }

    void badDirectoryShowsTheError() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        ModelPage* page = window.modelPage();
        QVERIFY(waitForReport(page));
        page->chooseDirectory(dir.path() + "/no-model-here");
        QVERIFY(waitForReport(page));
        QVERIFY(!page->report().has_value());
        QVERIFY(page->findChild<QLabel*>("statusLabel")->text().contains("no-model-here"));
        QVERIFY(page->findChild<QLabel*>("totalsLabel")->text().isEmpty());
        // The project page shows the same problem next to the model field.
        QVERIFY(window.session()->problemsFor("model").join(" ").contains("directory not found"));
    }
};

QTEST_MAIN(TestModelPage)
#include "tst_model_page.moc"
