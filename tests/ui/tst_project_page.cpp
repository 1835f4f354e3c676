// The Project page and the window's File menu, offscreen: fields show and edit the project file,
// validation problems appear next to their field, save/save-as/recent files, and the prompt before
// unsaved changes are lost.
#include "main_window.h"
#include "models/dataset_table_model.h"
#include "pages/project_page.h"
#include "project_session.h"
#include "recent_files.h"
#include "user_project.h"
#include "ui_support.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QTableView>

#include <fstream>

using hy3::ui::MainWindow;

namespace {

using hy3::test::child;

nlohmann::json readJson(const QString& path) {
    std::ifstream in(path.toStdString());
    return nlohmann::json::parse(in);
}

}  // namespace

class TestProjectPage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { hy3::test::isolateSettings(); }
    void init() { hy3::ui::RecentFiles::clear(); }

    void onlyWorkingPagesAreListed() {
        MainWindow window;
        QCOMPARE(window.pageNames(), (QStringList{"Project", "Model", "Data", "Layout", "Training", "Train", "Checkpoints"}));
    }

    void fieldsShowTheOpenProject() {
        QTemporaryDir dir;
        const QString path = hy3::test::scratchProject(dir);
        MainWindow window;
        QVERIFY(window.openProject(path));
        auto* page = window.projectPage();
        QCOMPARE(child<QLineEdit>(page, "nameEdit")->text(), QString("scratch"));
        QCOMPARE(child<QLineEdit>(page, "outputDirEdit")->text(), QString("runs"));
        QCOMPARE(child<QLabel>(page, "modelLabel")->text(), QString("preset hy3-tiny"));
        QVERIFY(!window.isWindowModified());
        QCOMPARE(hy3::ui::RecentFiles::list(), QStringList{path});
    }

    void editingMarksModifiedAndSaves() {
        QTemporaryDir dir;
        const QString path = hy3::test::scratchProject(dir);
        MainWindow window;
        window.openProject(path);
        auto* name = child<QLineEdit>(window.projectPage(), "nameEdit");
        name->clear();
        QTest::keyClicks(name, "renamed run");
        QVERIFY(window.session()->isDirty());
        QVERIFY(window.isWindowModified());
        QVERIFY(window.windowTitle().startsWith("renamed run"));
        QVERIFY(window.saveProject());
        QVERIFY(!window.isWindowModified());
        QCOMPARE(readJson(path)["name"].get<std::string>(), std::string("renamed run"));
    }

    void problemsShowNextToTheirField() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        auto* page = window.projectPage();
        auto* outputError = child<QLabel>(page, "error:output_dir");
        QVERIFY(outputError->isHidden());
        auto* output = child<QLineEdit>(page, "outputDirEdit");
        output->selectAll();
        QTest::keyClick(output, Qt::Key_Delete);
        QVERIFY(!outputError->isHidden());
        QVERIFY(outputError->text().contains("required"));
        QTest::keyClicks(output, "elsewhere");
        QVERIFY(outputError->isHidden());

        // Choosing a Jinja file without naming one is an error on the template field.
        auto* combo = child<QComboBox>(page, "templateCombo");
        combo->setCurrentIndex(combo->findData("file"));
        auto* templateError = child<QLabel>(page, "error:chat_template");
        QVERIFY(!templateError->isHidden());
        QVERIFY(templateError->text().contains("template file not found"));
        QTest::keyClicks(child<QLineEdit>(page, "templatePathEdit"), "missing.jinja");
        QCOMPARE(window.session()->project().get("chat_template").get<std::string>(), std::string("missing.jinja"));
        QVERIFY(templateError->text().contains("missing.jinja"));
    }

    void problemsWithoutAFieldAreListed() {
        QTemporaryDir dir;
        const QString path = dir.path() + "/bad.hy3proj";
        std::ofstream(path.toStdString()) << R"({"schema_version": 1, "name": "bad", "model": {"preset": "hy3-tiny"},
            "output_dir": "runs", "training": {"learning_rate": -3}, "layout": {"dp": 2, "ep": 4}})";
        MainWindow window;
        QVERIFY(window.openProject(path));
        const QString other = child<QLabel>(window.projectPage(), "otherProblems")->text();
        QVERIFY2(other.contains("training.learning_rate: must be > 0"), qPrintable(other));
        QVERIFY2(other.contains("layout.ep: 4 does not divide dp (2)"), qPrintable(other));
    }

    // Many problems without a field, in the window at 1200x800: the list gets the height its
    // lines need (it was squeezed into one form row and cut).
    void otherProblemsAreNotCut() {
        QTemporaryDir dir;
        const QString path = dir.path() + "/bad.hy3proj";
        std::ofstream(path.toStdString()) << R"({"schema_version": 1, "name": "bad", "model": {"preset": "hy3-tiny"},
            "output_dir": "runs", "training": {"learning_rate": "fast", "max_steps": -5, "warmup_steps": -1, "weight_decay": "lots",
            "micro_batch": 0, "seq_len": "long"}, "layout": {"dp": 2, "ep": 4}})";
        MainWindow window;
        QVERIFY(window.openProject(path));
        window.resize(1200, 800);
        window.showPage("Project");
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* other = child<QLabel>(window.projectPage(), "otherProblems");
        QVERIFY2(other->text().count('\n') >= 5, qPrintable(other->text()));
        QTRY_VERIFY2(other->height() >= other->heightForWidth(other->width()),
                     qPrintable(QString("%1 < %2").arg(other->height()).arg(other->heightForWidth(other->width()))));
    }

    // The first start copies the bundled default project (file and data, no runs) to the user's
    // folder and works there; later starts open that copy as the user left it.
    void theDefaultProjectIsCopiedToTheUsersFolder() {
        QTemporaryDir home;
        qputenv("HY3_WORKBENCH_HOME", (home.path() + "/wb").toUtf8());
        const hy3::ui::UserProject first = hy3::ui::userDefaultProject();
        QVERIFY2(first.error.isEmpty(), qPrintable(first.error));
        QVERIFY(first.copied);
        QCOMPARE(first.file, home.path() + "/wb/default/default.hy3proj");
        QVERIFY(QFileInfo(home.path() + "/wb/default/data/train.jsonl").isFile());
        QVERIFY(!QFileInfo::exists(home.path() + "/wb/default/runs"));
        QCOMPARE(QDir(home.path() + "/wb").entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList{"default"});

        MainWindow window;
        QVERIFY(window.openProject(first.file));
        QVERIFY(window.session()->problems().empty());
        QCOMPARE(QString::fromStdString(window.session()->project().absolutePath("runs").string()), home.path() + "/wb/default/runs");
        window.session()->setValue("name", "mine");
        QVERIFY(window.session()->save(nullptr));

        const hy3::ui::UserProject again = hy3::ui::userDefaultProject();
        QVERIFY(!again.copied && again.error.isEmpty());
        QCOMPARE(again.file, first.file);
        QCOMPARE(hy3::ProjectFile::load(again.file.toStdString()).get("name"), nlohmann::json("mine"));

        // A folder of that name without the project is named, not overwritten.
        qputenv("HY3_WORKBENCH_HOME", (home.path() + "/other").toUtf8());
        QDir().mkpath(home.path() + "/other/default");
        const hy3::ui::UserProject blocked = hy3::ui::userDefaultProject();
        QVERIFY(blocked.file.isEmpty());
        QVERIFY2(blocked.error.contains("holds no default.hy3proj"), qPrintable(blocked.error));
        qunsetenv("HY3_WORKBENCH_HOME");
    }

    // Help > About names the versions; Ctrl+1 ... Ctrl+7 show the pages, F5 / Shift+F5 start and
    // stop, and Help > Keyboard shortcuts lists them.
    void aboutAndShortcuts() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        const QString about = window.aboutText();
        QVERIFY2(about.contains("LibTorch") && about.contains(QString(qVersion())) && about.contains("engine"), qPrintable(about));
        const QString keys = window.shortcutsText();
        QVERIFY2(keys.contains("Ctrl+1\tProject") && keys.contains("Ctrl+7\tCheckpoints") && keys.contains("F5\tStart training") &&
                     keys.contains("Shift+F5\tStop training"),
                 qPrintable(keys));
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QTest::keyClick(&window, Qt::Key_3, Qt::ControlModifier);
        QCOMPARE(window.findChild<QListWidget*>("pageList")->currentItem()->text(), QString("Data"));
        QTest::keyClick(&window, Qt::Key_6, Qt::ControlModifier);
        QCOMPARE(window.findChild<QListWidget*>("pageList")->currentItem()->text(), QString("Train"));
    }

    // Opening a project and visiting every page changes nothing in it: saving writes back what
    // the user set and no default they never set.
    void savingWritesOnlyWhatWasSet() {
        QTemporaryDir home;
        qputenv("HY3_WORKBENCH_HOME", home.path().toUtf8());
        const QString file = hy3::ui::userDefaultProject().file;
        qunsetenv("HY3_WORKBENCH_HOME");
        auto text = [&] {
            QFile f(file);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        };
        const QByteArray before = text();
        MainWindow window;
        QVERIFY(window.openProject(file));
        window.resize(1200, 800);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        for (const QString& page : window.pageNames()) {
            window.showPage(page);
            QTest::qWait(300);
        }
        QTest::qWait(1500);  // the pages' workers (model, records, devices) report back
        QVERIFY2(!window.session()->isDirty(), window.session()->project().document().dump().c_str());
        QString error;
        QVERIFY(window.session()->save(&error));
        QCOMPARE(text(), before);  // byte for byte: the same keys, in the user's order
    }

    void datasetsAreAddedRelativeAndEditable() {
        QTemporaryDir dir;
        const QString data = dir.path() + "/data/chat.jsonl";
        QDir().mkpath(dir.path() + "/data");
        std::ofstream(data.toStdString()) << "{}\n";
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        window.projectPage()->addDatasetPaths({data});
        auto* table = child<QTableView>(window.projectPage(), "datasetTable");
        QCOMPARE(table->model()->rowCount(), 1);
        QCOMPARE(table->model()->index(0, 0).data().toString(), QString("data/chat.jsonl"));
        QVERIFY(table->model()->setData(table->model()->index(0, 1), "sharegpt", Qt::EditRole));
        QCOMPARE(window.session()->project().get("datasets[0].format").get<std::string>(), std::string("sharegpt"));

        // A dataset that disappears is flagged in its row.
        QFile::remove(data);
        window.session()->setValue("datasets[0].split", "validation");
        QVERIFY(table->model()->index(0, 0).data(Qt::ToolTipRole).toString().contains("not found"));
        table->selectRow(0);
        QTest::mouseClick(child<QPushButton>(window.projectPage(), "removeDatasetButton"), Qt::LeftButton);
        QCOMPARE(table->model()->rowCount(), 0);
    }

    void saveAsRebasesAndRemembers() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        const QString target = dir.path() + "/nested/copy";  // .hy3proj is added
        QDir().mkpath(dir.path() + "/nested");
        QVERIFY(window.saveProjectAs(target));
        QCOMPARE(window.session()->filePath(), target + ".hy3proj");
        QCOMPARE(readJson(target + ".hy3proj")["output_dir"].get<std::string>(), std::string("../runs"));
        QCOMPARE(hy3::ui::RecentFiles::list().first(), target + ".hy3proj");
    }

    void unsavedChangesPrompt() {
        QTemporaryDir dir;
        const QString path = hy3::test::scratchProject(dir);
        MainWindow window;
        window.show();
        window.openProject(path);
        window.session()->setValue("name", "changed");

        QString prompt;
        hy3::test::answerNextMessageBox(QMessageBox::Cancel, &prompt);
        QVERIFY(!window.close());  // cancelled: the window stays with its changes
        QVERIFY(prompt.contains("unsaved changes"));
        QVERIFY(window.isVisible());
        QVERIFY(window.session()->isDirty());

        hy3::test::answerNextMessageBox(QMessageBox::Save);
        QVERIFY(window.maybeSave());
        QCOMPARE(readJson(path)["name"].get<std::string>(), std::string("changed"));

        window.session()->setValue("name", "thrown away");
        hy3::test::answerNextMessageBox(QMessageBox::Discard);
        QVERIFY(window.close());
        QCOMPARE(readJson(path)["name"].get<std::string>(), std::string("changed"));
    }

    void openingABrokenFileKeepsTheCurrentProject() {
        QTemporaryDir dir;
        const QString good = hy3::test::scratchProject(dir);
        const QString broken = dir.path() + "/broken.hy3proj";
        std::ofstream(broken.toStdString()) << "{ not json";
        MainWindow window;
        window.openProject(good);
        QString error;
        hy3::test::answerNextMessageBox(QMessageBox::Ok, &error);
        QVERIFY(!window.openProject(broken));
        QVERIFY(error.contains("not valid JSON"));
        QCOMPARE(window.session()->filePath(), good);
    }

    void newProjectIsUntitledAndValid() {
        MainWindow window;
        window.newProject();
        QVERIFY(window.session()->isUntitled());
        QVERIFY(window.session()->problems().empty());
        QVERIFY(!window.session()->isDirty());
    }
};

QTEST_MAIN(TestProjectPage)
#include "tst_project_page.moc"
