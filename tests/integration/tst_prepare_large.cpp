// `hy3 prepare` on a 200 MB JSONL file as a real process: it streams the file (memory does not grow
// with the input: its peak is compared with the peak on a 20 MB file) and reports its throughput.
#include "test_support.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/resource.h>

#include <fstream>
#include <random>

namespace {

void writeDataset(const QString& path, uint64_t bytes) {
    std::ofstream out(path.toStdString());
    std::mt19937 random(7);
    const char* words[] = {"alpha", "beta", "gamma", "delta", "naïve", "café", "数据", "😀", "tokens", "packing"};
    uint64_t written = 0;
    while (written < bytes) {
        std::string question;
        const int n = 20 + static_cast<int>(random() % 60);
        for (int i = 0; i < n; ++i) question += std::string(i ? " " : "") + words[random() % 10];
        const std::string line = nlohmann::json{{"messages", {{{"role", "user"}, {"content", question}},
                                                               {{"role", "assistant"}, {"content", "ok " + std::to_string(random() % 1000)}}}}}
                                     .dump();
        out << line << "\n";
        written += line.size() + 1;
    }
}

QString writeProject(const QTemporaryDir& dir, const QString& name, const QString& data) {
    const QString path = dir.path() + "/" + name + ".hy3proj";
    std::ofstream(path.toStdString()) << nlohmann::json{{"schema_version", 1},
                                                        {"name", name.toStdString()},
                                                        {"model", {{"preset", "hy3-tiny"}}},
                                                        {"datasets", {{{"path", data.toStdString()}}}},
                                                        {"training", {{"seq_len", 256}}},
                                                        {"output_dir", (name + "-out").toStdString()}}
                                             .dump();
    return path;
}

// The largest resident size of any child this process has waited for, in bytes.
double peakChildRss() {
    struct rusage usage {};
    getrusage(RUSAGE_CHILDREN, &usage);
    return static_cast<double>(usage.ru_maxrss) * 1024.0;
}

}  // namespace

class TestPrepareLarge : public QObject {
    Q_OBJECT
private slots:
    void memoryDoesNotGrowWithTheInput() {
        QTemporaryDir dir;
        writeDataset(dir.path() + "/small.jsonl", 20'000'000);
        writeDataset(dir.path() + "/large.jsonl", 200'000'000);
        const auto small = hy3::test::runHy3({"prepare", writeProject(dir, "small", dir.path() + "/small.jsonl")}, 600000);
        QVERIFY2(small.exitCode == 0, small.err.constData());
        const double smallPeak = peakChildRss();  // the first child run: its own peak
        const auto large = hy3::test::runHy3({"prepare", writeProject(dir, "large", dir.path() + "/large.jsonl")}, 600000);
        QVERIFY2(large.exitCode == 0, large.err.constData());
        const double largePeak = peakChildRss();  // now the larger of the two
        qInfo("peak RSS: %.0f MB for 20 MB of input, %.0f MB for 200 MB", smallPeak / 1e6, largePeak / 1e6);
        // Streamed: ten times the input adds only the per-document index and packing plan. (Under
        // AddressSanitizer freed memory waits in its quarantine, so only the looser bound holds.)
#ifndef HY3_SANITIZED
        QVERIFY2(largePeak - smallPeak < 80e6, qPrintable(QString("grew by %1 MB").arg((largePeak - smallPeak) / 1e6)));
#endif
        QVERIFY(largePeak < 200e6 + smallPeak);
        const QString report = QString::fromUtf8(large.out);
        QVERIFY2(report.contains("throughput") && report.contains("MB/s"), qPrintable(report));
        qInfo("%s", qPrintable(report.split('\n').filter("throughput").join("")));
        // A second run reuses the cache at once.
        const auto again = hy3::test::runHy3({"prepare", writeProject(dir, "large", dir.path() + "/large.jsonl")}, 600000);
        QVERIFY(again.out.contains("reused"));
    }

    // kill -9 in the middle of a prepare leaves no cache anyone trusts: the next prepare builds a
    // complete one and removes the killed one's temporary folder. A file that changes while it is
    // read is detected: nothing is published, and the message names the file. Both prepares are
    // held after their first chunk (HY3_TEST_HOLD_PREPARE) until the test has acted, so neither
    // depends on how fast this machine prepares 20 MB.
    void killedOrMovingPreparesPublishNothing() {
        QTemporaryDir dir;
        const QString data = dir.path() + "/data.jsonl";
        writeDataset(data, 20'000'000);
        const QString project = writeProject(dir, "faults", data);
        const QString cacheRoot = dir.path() + "/faults-out/.cache/data";
        const QString release = dir.path() + "/release";
        auto startHeld = [&](QProcess& p, const QString& projectFile) {
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert("HY3_TEST_HOLD_PREPARE", release);
            p.setProcessEnvironment(env);
            p.start(hy3::test::hy3Binary(), {"prepare", projectFile});
            QByteArray progress;  // the progress lines go to stderr; the first is out before the hold
            while (!progress.contains("preparing") && p.state() != QProcess::NotRunning) {
                p.waitForReadyRead(1000);
                progress += p.readAllStandardError();
            }
            return progress;
        };
        QProcess killed;
        startHeld(killed, project);
        QCOMPARE(killed.state(), QProcess::Running);  // held after its first chunk
        killed.kill();                                // SIGKILL while reading
        QVERIFY(killed.waitForFinished(60000));
        QVERIFY(!QDir(cacheRoot).entryList({".tmp-*"}, QDir::Dirs | QDir::Hidden).isEmpty());  // it was mid-way
        QVERIFY(QDir(cacheRoot).entryList({"*"}, QDir::Dirs | QDir::NoDotAndDotDot).isEmpty());  // nothing published
        const auto complete = hy3::test::runHy3({"prepare", project}, 600000);
        QVERIFY2(complete.exitCode == 0 && !complete.out.contains("reused"), complete.err.constData());
        QVERIFY(QDir(cacheRoot).entryList({".tmp-*"}, QDir::Dirs | QDir::Hidden).isEmpty());

        // Appended to while being read (the project's data changes, so the cache key is new).
        const QString moving = dir.path() + "/moving.jsonl";
        writeDataset(moving, 20'000'000);
        const QString movingProject = writeProject(dir, "moving", moving);
        QProcess reader;
        const QByteArray progress = startHeld(reader, movingProject);
        QCOMPARE(reader.state(), QProcess::Running);
        std::ofstream(moving.toStdString(), std::ios::app) << R"({"messages": [{"role": "user", "content": "late"}]})" << "\n";
        std::ofstream(release.toStdString()) << "go\n";  // let it finish reading
        QVERIFY(reader.waitForFinished(600000));
        QCOMPARE(reader.exitCode(), 2);
        const QString err = QString::fromUtf8(progress + reader.readAllStandardError());
        QVERIFY2(err.contains(moving) && err.contains("changed while prepare read it"), qPrintable(err));
        QVERIFY(QDir(dir.path() + "/moving-out/.cache/data").entryList(QDir::Dirs | QDir::NoDotAndDotDot).isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestPrepareLarge)
#include "tst_prepare_large.moc"
