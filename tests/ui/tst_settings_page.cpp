// The Training page, offscreen: fields come from the settings table, are checked as typed, go into
// the project when valid, and survive a save and a reopen.
#include "main_window.h"
#include "pages/settings_page.h"
#include "pages/train_page.h"
#include "project_session.h"
#include "ui_support.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QStatusBar>

using hy3::ui::MainWindow;
using hy3::ui::SettingsPage;

namespace {

QLineEdit* lineEdit(SettingsPage* page, const char* key) { return qobject_cast<QLineEdit*>(page->editor(key)); }

void typeInto(QLineEdit* edit, const QString& text) {
    edit->setFocus();
    edit->selectAll();
    QTest::keyClick(edit, Qt::Key_Backspace);
    QTest::keyClicks(edit, text);
}

}  // namespace

class TestSettingsPage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { hy3::test::isolateSettings(); }

    void everySettingHasAnEditor() {
        QTemporaryDir dir;
        MainWindow window;
        window.openProject(hy3::test::scratchProject(dir));
        SettingsPage* page = window.settingsPage();
        for (const hy3::SettingSpec& spec : hy3::settingSpecs()) {
            const bool elsewhere = spec.group == "layout" || spec.group == "freeze";  // the Layout and Model pages
            QCOMPARE(page->editor(spec.key) != nullptr, !elsewhere);
        }
        QCOMPARE(lineEdit(page, "training.seq_len")->text(), QString("4096"));  // the default shows
    }

    // A project file's own wrong values show at their fields (they were listed only in the Project
    // page's "Other problems", the fields blank of any reason).
    void wrongValuesInTheFileShowAtTheirFields() {
        QTemporaryDir dir;
        const QString path = hy3::test::scratchProject(dir);
        hy3::ProjectFile p = hy3::ProjectFile::load(path.toStdString());
        p.set("training.learning_rate", "fast");
        p.set("training.max_steps", -5);
        p.save();
        MainWindow window;
        QVERIFY(window.openProject(path));
        SettingsPage* page = window.settingsPage();
        QVERIFY2(page->errorText("training.learning_rate").contains("expected a number"), qPrintable(page->errorText("training.learning_rate")));
        QVERIFY2(!page->errorText("training.max_steps").isEmpty(), "max_steps -5 shows no reason");
        QCOMPARE(lineEdit(page, "training.learning_rate")->text(), QString("fast"));
        QVERIFY(page->errorText("training.seq_len").isEmpty());
    }

    void settingsRoundTripThroughTheProjectFile() {
        QTemporaryDir dir;
        const QString path = hy3::test::scratchProject(dir);
        {
            MainWindow window;
            window.openProject(path);
            SettingsPage* page = window.settingsPage();
            typeInto(lineEdit(page, "training.learning_rate"), "0.0005");
            QCOMPARE(window.session()->project().get("training.learning_rate").get<double>(), 0.0005);
            QVERIFY(page->errorText("training.learning_rate").isEmpty());

            // Invalid as typed: the reason shows, the project keeps the last valid value.
            typeInto(lineEdit(page, "training.learning_rate"), "-1");
            QVERIFY2(!page->errorText("training.learning_rate").isEmpty(), "no error shown");
            QCOMPARE(window.session()->project().get("training.learning_rate").get<double>(), 0.0005);
            typeInto(lineEdit(page, "training.global_batch"), "2.5");
            QVERIFY(page->errorText("training.global_batch").contains("whole number"));
            typeInto(lineEdit(page, "training.global_batch"), "64");
            QVERIFY(page->errorText("training.global_batch").isEmpty());
            typeInto(lineEdit(page, "training.warmup_steps"), "1e3");
            qobject_cast<QComboBox*>(page->editor("training.lr_schedule"))->setCurrentText("linear");
            qobject_cast<QCheckBox*>(page->editor("training.packing"))->setChecked(false);
            qobject_cast<QComboBox*>(page->editor("data.loss_mask"))->setCurrentText("last_assistant");
            typeInto(lineEdit(page, "distributed.heartbeat_s"), "12");
            QVERIFY(window.session()->isDirty());
            QString error;
            QVERIFY2(window.session()->save(&error), qPrintable(error));
        }
        const hy3::ProjectFile saved = hy3::ProjectFile::load(path.toStdString());
        QCOMPARE(saved.get("training.learning_rate").get<double>(), 0.0005);
        QCOMPARE(saved.get("training.global_batch").get<int64_t>(), int64_t(64));
        QCOMPARE(saved.get("training.warmup_steps").get<int64_t>(), int64_t(1000));
        QCOMPARE(saved.get("training.lr_schedule").get<std::string>(), std::string("linear"));
        QCOMPARE(saved.get("training.packing").get<bool>(), false);
        QCOMPARE(saved.get("data.loss_mask").get<std::string>(), std::string("last_assistant"));
        QCOMPARE(saved.get("distributed.heartbeat_s").get<int64_t>(), int64_t(12));
        QVERIFY(saved.validate().empty());

        MainWindow reopened;
        reopened.openProject(path);
        SettingsPage* page = reopened.settingsPage();
        QCOMPARE(lineEdit(page, "training.learning_rate")->text(), QString("0.0005"));
        QCOMPARE(lineEdit(page, "training.global_batch")->text(), QString("64"));
        QCOMPARE(qobject_cast<QComboBox*>(page->editor("training.lr_schedule"))->currentText(), QString("linear"));
        QVERIFY(!qobject_cast<QCheckBox*>(page->editor("training.packing"))->isChecked());
    }

    // A refused value ("abc" for the learning rate) is a problem until corrected: the status bar
    // no longer says the project is valid, and Start refuses naming the field, instead of
    // training with the old value without a word.
    void aRefusedValueStopsStartNamingTheField() {
        QTemporaryDir dir;
        MainWindow window;
        QVERIFY(window.openProject(hy3::test::scratchProject(dir)));
        SettingsPage* page = window.settingsPage();
        QCOMPARE(window.statusBar()->currentMessage(), QString("Project is valid"));
        const double kept = window.session()->project().get("training.learning_rate").get<double>();
        typeInto(lineEdit(page, "training.learning_rate"), "abc");
        QVERIFY(page->errorText("training.learning_rate").contains("expected a number"));
        QCOMPARE(window.session()->project().get("training.learning_rate").get<double>(), kept);
        QVERIFY2(window.statusBar()->currentMessage().contains("1 problem"), qPrintable(window.statusBar()->currentMessage()));
        QVERIFY2(window.session()->allProblems().join("\n").contains("training.learning_rate: expected a number"),
                 qPrintable(window.session()->allProblems().join("\n")));
        QString error;
        QVERIFY(!window.trainPage()->start({}, false, &error));
        QVERIFY2(error.contains("training.learning_rate") && error.contains("not applied"), qPrintable(error));

        typeInto(lineEdit(page, "training.learning_rate"), "0.002");
        QCOMPARE(window.session()->project().get("training.learning_rate").get<double>(), 0.002);
        QVERIFY(window.session()->allProblems().isEmpty());
        QCOMPARE(window.statusBar()->currentMessage(), QString("Project is valid"));
    }
};

QTEST_MAIN(TestSettingsPage)
#include "tst_settings_page.moc"
