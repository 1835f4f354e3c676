// The checkpoint folder of a run on real files and a real run store: step names, LATEST, meta.json
// with every file's hash, retention (last K, best by eval loss, never what LATEST names), cleanup
// of what an interrupted save left, and the catalog's record of every save and deletion.
#include "checkpoint/checkpoint_dir.h"
#include "checkpoint/verify.h"
#include "util/atomic_file.h"
#include "util/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

namespace fs = std::filesystem;
using hy3::CheckpointDirectory;

namespace {

// Content for a checkpoint: two small files, one hashed by the writer itself.
CheckpointDirectory::ContentWriter content(int64_t step) {
    return [step](const fs::path& dir) {
        fs::create_directories(dir / "model");
        fs::create_directories(dir / "train_state");
        hy3::writeFileAtomic(dir / "model" / "weights.bin", std::string(1000, static_cast<char>('a' + step % 26)));
        hy3::writeFileAtomic(dir / "train_state" / "state.json", "{\"step\": " + std::to_string(step) + "}");
        return std::map<std::string, std::string>{};
    };
}

nlohmann::json metaWithLoss(double evalLoss) { return {{"metrics", {{"eval_loss", evalLoss}}}}; }

std::vector<int64_t> stepsOnDisk(const CheckpointDirectory& dir) {
    std::vector<int64_t> steps;
    for (const auto& c : dir.list()) steps.push_back(c.step);
    return steps;
}

}  // namespace

class TestCheckpointDir : public QObject {
    Q_OBJECT
private slots:
    void saveWritesMetaAndLatest() {
        QTemporaryDir tmp;
        const fs::path root = tmp.path().toStdString() + "/checkpoints";
        auto store = hy3::RunStore::open(tmp.path().toStdString() + "/run.sqlite", hy3::RunStore::Mode::ReadWrite);
        const int64_t run = store.createRun("r", "{}", 10);
        CheckpointDirectory dir(root, &store, run);
        QCOMPARE(CheckpointDirectory::stepName(1234), std::string("step-00001234"));
        QVERIFY(!dir.latest());
        const fs::path first = dir.save(5, metaWithLoss(2.0), content(5));
        const fs::path second = dir.save(10, metaWithLoss(1.5), content(10));
        QCOMPARE(first.filename().string(), std::string("step-00000005"));
        QCOMPARE(*dir.latest(), second);
        QCOMPARE(hy3::readTextFile(root / "LATEST"), std::string("step-00000010\n"));
        const auto meta = nlohmann::json::parse(hy3::readTextFile(second / "meta.json"));
        QCOMPARE(meta["step"].get<int>(), 10);
        QCOMPARE(meta["parent"].get<std::string>(), std::string("step-00000005"));
        QVERIFY(meta["files"].contains("model/weights.bin"));
        QCOMPARE(meta["files"]["model/weights.bin"]["bytes"].get<int>(), 1000);
        QCOMPARE(meta["files"]["model/weights.bin"]["sha256"].get<std::string>().size(), size_t(64));
        // The catalog: two complete checkpoints, the second's parent the first.
        const auto records = store.checkpoints(run);
        QCOMPARE(records.size(), size_t(2));
        QCOMPARE(QString::fromStdString(records[1].status), QString("complete"));
        QCOMPARE(records[1].parent_id, records[0].id);
        QVERIFY(records[1].size_bytes > 1000);
        QVERIFY(QString::fromStdString(records[1].metrics_json).contains("eval_loss"));
        // The hashes are what verify checks: a changed file is caught.
        std::ofstream(second / "model" / "weights.bin") << std::string(1000, 'z');
        const auto problems = hy3::verifyCheckpoint(second);
        QVERIFY(!problems.empty());
    }

    void retentionKeepsLastBestAndLatest() {
        QTemporaryDir tmp;
        auto store = hy3::RunStore::open(tmp.path().toStdString() + "/run.sqlite", hy3::RunStore::Mode::ReadWrite);
        const int64_t run = store.createRun("r", "{}", 10);
        CheckpointDirectory dir(tmp.path().toStdString() + "/checkpoints", &store, run);
        const double losses[] = {3.0, 1.0, 2.5, 2.0, 1.8, 2.2};  // step 2 is the best
        for (int i = 0; i < 6; ++i) dir.save(i + 1, metaWithLoss(losses[i]), content(i + 1));
        const auto deleted = dir.applyRetention(2, 1);
        QCOMPARE(deleted.size(), size_t(3));
        QCOMPARE(stepsOnDisk(dir), (std::vector<int64_t>{2, 5, 6}));
        int deletedRecords = 0;
        for (const auto& r : store.checkpoints(run)) deletedRecords += r.status == "deleted";
        QCOMPARE(deletedRecords, 3);

        // A resumed run can point LATEST at an older checkpoint: retention never deletes it.
        hy3::writeFileAtomic(tmp.path().toStdString() + "/checkpoints/LATEST", "step-00000005\n");
        dir.applyRetention(1, 0);
        QCOMPARE(stepsOnDisk(dir), (std::vector<int64_t>{5, 6}));
        QCOMPARE(dir.latest()->filename().string(), std::string("step-00000005"));
    }

    void resavingAStepReplacesIt() {
        QTemporaryDir tmp;
        CheckpointDirectory dir(tmp.path().toStdString() + "/checkpoints");
        dir.save(3, metaWithLoss(1.0), content(3));
        dir.save(3, metaWithLoss(0.5), content(29));  // same step, new content
        QCOMPARE(stepsOnDisk(dir), (std::vector<int64_t>{3}));
        QCOMPARE(dir.list().front().evalLoss().value(), 0.5);
        QCOMPARE(hy3::readTextFile(dir.list().front().path / "train_state" / "state.json"), std::string("{\"step\": 29}"));
    }

    void failedSaveLeavesPreviousIntact() {
        QTemporaryDir tmp;
        auto store = hy3::RunStore::open(tmp.path().toStdString() + "/run.sqlite", hy3::RunStore::Mode::ReadWrite);
        const int64_t run = store.createRun("r", "{}", 10);
        CheckpointDirectory dir(tmp.path().toStdString() + "/checkpoints", &store, run);
        dir.save(1, metaWithLoss(1.0), content(1));
        QVERIFY_THROWS_EXCEPTION(hy3::Error, dir.save(2, metaWithLoss(1.0), [](const fs::path& d) -> std::map<std::string, std::string> {
            fs::create_directories(d / "model");
            throw hy3::Error("disk full (simulated by the content writer)");
        }));
        QCOMPARE(dir.latest()->filename().string(), std::string("step-00000001"));
        QCOMPARE(stepsOnDisk(dir), (std::vector<int64_t>{1}));
        QCOMPARE(QString::fromStdString(store.checkpoints(run).back().status), QString("failed"));
        int entries = 0;
        for (const auto& e : fs::directory_iterator(dir.root())) entries += e.path().filename().string()[0] == '.';
        QCOMPARE(entries, 0);  // no temporary folder left behind
    }

    void cleanupAfterACrash() {
        QTemporaryDir tmp;
        const fs::path root = tmp.path().toStdString() + "/checkpoints";
        auto store = hy3::RunStore::open(tmp.path().toStdString() + "/run.sqlite", hy3::RunStore::Mode::ReadWrite);
        const int64_t run = store.createRun("r", "{}", 10);
        CheckpointDirectory dir(root, &store, run);
        dir.save(1, metaWithLoss(1.0), content(1));
        // What a save killed half-way leaves: a temporary folder and an in-progress record.
        fs::create_directories(root / ".tmp-step-00000002-999" / "model");
        store.addCheckpoint(run, 2, (root / "step-00000002").string(), 0);
        fs::create_directories(root / ".deleting-step-00000000");
        const auto removed = dir.cleanLeftovers();
        QCOMPARE(removed.size(), size_t(2));
        QVERIFY(!fs::exists(root / ".tmp-step-00000002-999"));
        QCOMPARE(QString::fromStdString(store.checkpoints(run).back().status), QString("failed"));
        QCOMPARE(dir.latest()->filename().string(), std::string("step-00000001"));
    }

    void badLatest() {
        QTemporaryDir tmp;
        const fs::path root = tmp.path().toStdString();
        hy3::writeFileAtomic(root / "LATEST", "step-00000007\n");
        CheckpointDirectory dir(root);
        try {
            dir.latest();
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY(QString(e.what()).contains("names step-00000007, which is not a complete checkpoint"));
        }
    }
};

QTEST_GUILESS_MAIN(TestCheckpointDir)
#include "tst_checkpoint_dir.moc"
