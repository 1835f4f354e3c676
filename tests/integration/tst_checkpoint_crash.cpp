// Crash safety of checkpoint saves with real processes: a saver writes checkpoints in a loop and is
// killed with SIGKILL 25 times: at random moments, and every other time by itself at a known point
// in the middle of a save (so the mid-save cases do not depend on the machine's speed). After every
// kill LATEST must name a checkpoint that `hy3 checkpoint verify` accepts and that `hy3 forward`
// loads; the next start cleans up.
#include "store/run_store.h"
#include "test_support.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
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
        const char* const killPoints[] = {"before-export", "after-export", "after-state"};
        int killedMidSave = 0, killedAtAPoint = 0;
        const int trials = 25;
        for (int trial = 0; trial < trials; ++trial) {
            const bool atAPoint = trial % 2 == 1;
            QStringList args{output, "hy3-tiny"};
            if (atAPoint) args << "1000000" << killPoints[(trial / 2) % 3];
            QProcess saver;
            saver.start(QStringLiteral(HY3_SAVER), args);
            QVERIFY(saver.waitForStarted());
            // Wait for one save of this start, then kill at a random moment of the following ones
            // (or let it kill itself in the next).
            QString text;
            while (!text.contains("saved ")) {
                QVERIFY2(saver.waitForReadyRead(60000), "the saver printed nothing");
                text += saver.readAllStandardOutput();
            }
            if (atAPoint) {
                QVERIFY(saver.waitForFinished(60000));
                QCOMPARE(saver.exitStatus(), QProcess::CrashExit);
                ++killedAtAPoint;
            } else {
                QTest::qWait(static_cast<int>(random.bounded(400)));
                ::kill(static_cast<pid_t>(saver.processId()), SIGKILL);
                saver.waitForFinished();
            }
            bool tempPresent = false;
            for (const auto& entry : fs::directory_iterator(checkpoints))
                tempPresent = tempPresent || entry.path().filename().string().rfind(".tmp-", 0) == 0;
            killedMidSave += tempPresent ? 1 : 0;
            QVERIFY2(tempPresent || !atAPoint, "a kill inside a save left no temporary folder");

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
        qInfo("%d of %d kills landed in the middle of a save (%d of them at a chosen point)", killedMidSave, trials, killedAtAPoint);

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

    // A save that hits the file-size limit (RLIMIT_FSIZE, standing in for a full disk): the run
    // ends with exit 1 and an error event naming the file, the reason and how to resume; the
    // previous checkpoint and LATEST are intact and the resume finishes the run.
    void fileSizeLimitDuringASaveIsAnError() {
        QTemporaryDir dir;
        const QString source = hy3::test::sourceDir() + "/resources/projects/default";
        QVERIFY(QDir().mkpath(dir.path() + "/data"));
        QVERIFY(QFile::copy(source + "/data/train.jsonl", dir.path() + "/data/train.jsonl"));
        QVERIFY(QFile::copy(source + "/default.hy3proj", dir.path() + "/default.hy3proj"));
        const QStringList train{"train", dir.path() + "/default.hy3proj", "--run-name", "r", "--set", "training.checkpoint_every=2",
                                "--set", "training.eval_every=0", "--events", "jsonl"};
        QCOMPARE(hy3::test::runHy3(train + QStringList{"--max-steps", "2"}, 300000).exitCode, 0);
        const QString checkpoints = dir.path() + "/runs/r/checkpoints";

        QProcess limited;  // the same command with files limited to 1 MiB (a model shard is larger)
        limited.start("/bin/sh", QStringList{"-c", "ulimit -f 2048; exec \"$0\" \"$@\"", hy3::test::hy3Binary()} + train +
                                     QStringList{"--max-steps", "4", "--resume"});
        QVERIFY(limited.waitForFinished(300000));
        QCOMPARE(limited.exitStatus(), QProcess::NormalExit);  // not killed by SIGXFSZ
        QCOMPARE(limited.exitCode(), 1);
        const QString events = QString::fromUtf8(limited.readAllStandardOutput());
        QVERIFY2(events.contains("\"event\":\"error\"") && events.contains("File too large") && events.contains(".safetensors") &&
                     events.contains("the last complete checkpoint is step-00000002, resume with: "),
                 qPrintable(events.right(1500)));
        QFile latest(checkpoints + "/LATEST");
        QVERIFY(latest.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(latest.readAll()).trimmed(), QString("step-00000002"));
        QCOMPARE(hy3::test::runHy3({"checkpoint", "verify", checkpoints + "/step-00000002"}).exitCode, 0);
        for (const QString& entry : QDir(checkpoints).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot))
            QVERIFY2(!entry.startsWith(".tmp"), qPrintable(entry));  // the failed save left nothing

        const auto resumed = hy3::test::runHy3(train + QStringList{"--max-steps", "4", "--resume"}, 300000);
        QVERIFY2(resumed.exitCode == 0, resumed.err.right(1500).constData());
        QVERIFY(QFileInfo::exists(checkpoints + "/step-00000004/meta.json"));
    }
};

QTEST_GUILESS_MAIN(TestCheckpointCrash)
#include "tst_checkpoint_crash.moc"
