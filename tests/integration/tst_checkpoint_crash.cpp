// Crash safety of checkpoint saves with real processes: a saver writes checkpoints in a loop and is
// killed with SIGKILL at random moments, 25 times. After every kill LATEST must name a checkpoint
// that `hy3 checkpoint verify` accepts and that `hy3 forward` loads; the next start cleans up.
#include "store/run_store.h"
#include "test_support.h"

#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest>

#include <signal.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

class TestCheckpointCrash : public QObject {
    Q_OBJECT
private slots:
    void killDuringSaves() {
        QTemporaryDir dir;
        const QString output = dir.path() + "/run";
        const fs::path checkpoints = output.toStdString() + "/checkpoints";
        QRandomGenerator random(20261129);
        int killedMidSave = 0;
        const int trials = 25;
        for (int trial = 0; trial < trials; ++trial) {
            QProcess saver;
            saver.start(QStringLiteral(HY3_SAVER), {output, "hy3-tiny"});
            QVERIFY(saver.waitForStarted());
            // Wait for one save of this start, then kill at a random moment of the following ones.
            QString text;
            while (!text.contains("saved ")) {
                QVERIFY2(saver.waitForReadyRead(60000), "the saver printed nothing");
                text += saver.readAllStandardOutput();
            }
            QTest::qWait(static_cast<int>(random.bounded(400)));
            bool tempPresent = false;
            ::kill(static_cast<pid_t>(saver.processId()), SIGKILL);
            saver.waitForFinished();
            for (const auto& entry : fs::directory_iterator(checkpoints))
                tempPresent = tempPresent || entry.path().filename().string().rfind(".tmp-", 0) == 0;
            killedMidSave += tempPresent ? 1 : 0;

            // LATEST names a complete, sound, loadable checkpoint.
            std::ifstream latestFile(checkpoints / "LATEST");
            std::string latest;
            latestFile >> latest;
            QVERIFY2(!latest.empty(), "LATEST is missing");
            const QString ckpt = QString::fromStdString((checkpoints / latest).string());
            const auto verify = hy3::test::runHy3({"checkpoint", "verify", ckpt});
            QVERIFY2(verify.exitCode == 0, qPrintable(QString("trial %1: %2").arg(trial).arg(QString(verify.out))));
            const auto load = hy3::test::runHy3({"forward", "--model", ckpt + "/model", "--input",
                                                 hy3::test::sharedDir() + "/fixtures/hy3-tiny/case_packed.safetensors",
                                                 "--output", dir.path() + "/out.safetensors"});
            QVERIFY2(load.exitCode == 0, load.err.constData());
        }
        qInfo("%d of %d kills landed in the middle of a save", killedMidSave, trials);
        QVERIFY2(killedMidSave >= 5, "too few kills hit a save to show anything");

        // A last clean start removes the leftovers and settles the catalog.
        QProcess saver;
        saver.start(QStringLiteral(HY3_SAVER), {output, "hy3-tiny", "1"});
        QVERIFY(saver.waitForFinished(120000));
        QCOMPARE(saver.exitCode(), 0);
        for (const auto& entry : fs::directory_iterator(checkpoints))
            QVERIFY2(entry.path().filename().string()[0] != '.', entry.path().c_str());
        auto store = hy3::RunStore::open(output.toStdString() + "/run.sqlite", hy3::RunStore::Mode::ReadOnly);
        int complete = 0;
        for (const auto& r : store.checkpoints(store.runs().front().id)) {
            QVERIFY2(r.status != "in_progress", r.path.c_str());
            if (r.status == "complete") {
                QVERIFY2(fs::exists(fs::path(r.path) / "meta.json"), r.path.c_str());
                ++complete;
            }
        }
        QVERIFY(complete >= 1);
    }
};

QTEST_GUILESS_MAIN(TestCheckpointCrash)
#include "tst_checkpoint_crash.moc"
