// `hy3 train` as real processes on the bundled default project (shortened with --set): exact
// resume after --stop-after and after SIGTERM, the non-finite skip and stop, events against the run
// store, refused and weights-only resumes, generate from the result, bench train, and bad input.
#include "api/run_follower.h"
#include "store/run_store.h"
#include "integration/event_stream.h"
#include "export_config_check.h"
#include "safetensors_support.h"
#include "test_support.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <map>

using hy3::test::runHy3;
using json = nlohmann::json;

namespace {

QString defaultProject() { return hy3::test::sourceDir() + "/resources/projects/default/default.hy3proj"; }

// A short run of the default project: 6 steps of 8 rows x 128 tokens, eval and checkpoint every 3.
QStringList shortRun(const QString& output) {
    return {"train", defaultProject(), "--output", output, "--events", "jsonl", "--max-steps", "6",
            "--set", "training.seq_len=128", "--set", "training.global_batch=8", "--set", "training.micro_batch=4",
            "--set", "training.warmup_steps=2", "--set", "training.eval_every=3", "--set", "training.checkpoint_every=3"};
}

using hy3::test::parseEvents;
using hy3::test::runDirOf;
using hy3::test::stepEvents;

QString describe(const hy3::test::CliResult& r) { return QString::fromUtf8(r.err.right(1500)); }

}  // namespace

class TestTrainCli : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    std::vector<json> reference_;  // the events of the uninterrupted 6-step run

    // Losses, grad norms and eval losses of steps 1..6 equal the uninterrupted run's, bit for bit.
    void compareWithReference(const std::map<int64_t, json>& steps, const std::map<int64_t, json>& evals) {
        const auto refSteps = stepEvents(reference_), refEvals = stepEvents(reference_, "eval");
        QCOMPARE(steps.size(), size_t(6));
        for (const auto& [step, e] : refSteps) {
            QVERIFY2(steps.count(step), qPrintable(QString("step %1 missing").arg(step)));
            QVERIFY2(steps.at(step)["loss"].get<double>() == e["loss"].get<double>(),
                     qPrintable(QString("step %1: loss %2 vs %3").arg(step).arg(steps.at(step)["loss"].get<double>(), 0, 'g', 17).arg(e["loss"].get<double>(), 0, 'g', 17)));
            QCOMPARE(steps.at(step)["grad_norm"].get<double>(), e["grad_norm"].get<double>());
            QCOMPARE(steps.at(step)["lr"].get<double>(), e["lr"].get<double>());
        }
        for (const auto& [step, e] : refEvals) QCOMPARE(evals.at(step)["eval_loss"].get<double>(), e["eval_loss"].get<double>());
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        const auto r = runHy3(shortRun(tmp_.path() + "/reference"), 300000);
        QVERIFY2(r.exitCode == 0 && !r.crashed, qPrintable(describe(r)));
        reference_ = parseEvents(r.out);
    }

    void eventsFollowTheSchema() {
        const auto steps = stepEvents(reference_);
        QCOMPARE(steps.size(), size_t(6));
        for (const json& e : reference_) QVERIFY2(e.contains("event") && e.contains("step"), e.dump().c_str());
        for (const auto& [step, e] : steps)
            for (const char* key : {"loss", "lr", "grad_norm", "tokens_per_s", "mfu", "label_tokens", "step_time_s", "rss_bytes"})
                QVERIFY2(e.contains(key), qPrintable(QString("step event without %1").arg(key)));
        QCOMPARE(reference_.front()["event"].get<std::string>(), std::string("start"));
        QCOMPARE(reference_.back()["event"].get<std::string>(), std::string("end"));
        QCOMPARE(reference_.back()["status"].get<std::string>(), std::string("finished"));
        // The model learns: the loss falls over the six steps.
        QVERIFY(steps.at(6)["loss"].get<double>() < steps.at(1)["loss"].get<double>());
        const auto routers = stepEvents(reference_, "router");
        QVERIFY(!routers.empty());
        QCOMPARE(routers.begin()->second["load"].size(), size_t(8));  // hy3-tiny has 8 experts
        QCOMPARE(stepEvents(reference_, "eval").size(), size_t(2));   // steps 3 and 6
        QCOMPARE(stepEvents(reference_, "checkpoint").size(), size_t(2));
    }

    // The workbench follows a run either through its events stream or through run.sqlite; both
    // must show the same run: the same series, router steps, checkpoints, errors, log and state.
    void bothWaysOfFollowingARunAgree() {
        hy3::api::RunFollower fromStream;
        const auto r = runHy3(shortRun(tmp_.path() + "/followed"), 300000);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        for (const QByteArray& line : r.out.split('\n')) fromStream.feedLine(line.toStdString());
        hy3::api::RunFollower fromStore;
        hy3::api::RunStoreReader reader(runDirOf(tmp_.path() + "/followed").toStdString());
        reader.poll(fromStore);

        QCOMPARE(fromStream.state(), std::string("finished"));
        QCOMPARE(fromStore.state(), fromStream.state());
        QCOMPARE(fromStore.step(), fromStream.step());
        QCOMPARE(fromStore.totalSteps(), fromStream.totalSteps());
        for (const char* name : {"loss", "lr", "grad_norm", "eval_loss"}) {
            QVERIFY2(fromStream.metrics().count(name), name);
            QCOMPARE(fromStore.metrics().at(name).steps, fromStream.metrics().at(name).steps);
            QCOMPARE(fromStore.metrics().at(name).values, fromStream.metrics().at(name).values);
        }
        QCOMPARE(fromStore.routerSteps(), fromStream.routerSteps());
        QCOMPARE(fromStore.layerNumbers(), fromStream.layerNumbers());
        QCOMPARE(fromStore.layers().back().latest, fromStream.layers().back().latest);
        // The lines both log for the run's events (the store also keeps the human log lines).
        auto eventLines = [](const hy3::api::RunFollower& f) {
            std::vector<std::string> lines;
            for (const auto& l : f.log())
                if (l.text.rfind("checkpoint ", 0) == 0 || l.text.rfind("eval loss", 0) == 0 || l.text.rfind("run ", 0) == 0)
                    lines.push_back(l.text);
            return lines;
        };
        const auto streamLines = eventLines(fromStream);
        QVERIFY(std::count_if(streamLines.begin(), streamLines.end(), [](const std::string& t) { return t.rfind("checkpoint ", 0) == 0; }) == 2);
        for (const std::string& line : streamLines) {
            const auto storeLines = eventLines(fromStore);
            QVERIFY2(std::find(storeLines.begin(), storeLines.end(), line) != storeLines.end(), line.c_str());
        }

        // The third way, for a follower on another machine: RUN/events.jsonl holds the stream's
        // events (and the log lines the store keeps), so it shows the same run.
        hy3::api::RunFollower fromFile;
        hy3::api::EventsFileReader file(runDirOf(tmp_.path() + "/followed").toStdString());
        for (const hy3::RunEvent& e : file.read()) fromFile.apply(e);
        QVERIFY(file.ended());
        QCOMPARE(fromFile.state(), fromStream.state());
        QCOMPARE(fromFile.step(), fromStream.step());
        for (const char* name : {"loss", "lr", "grad_norm", "eval_loss"}) QCOMPARE(fromFile.metrics().at(name).values, fromStream.metrics().at(name).values);
        QCOMPARE(fromFile.routerSteps(), fromStream.routerSteps());
        QCOMPARE(fromFile.layers().back().latest, fromStream.layers().back().latest);
        QCOMPARE(eventLines(fromFile), eventLines(fromStore));
        QVERIFY(file.read().empty());  // nothing new: read from where it stopped
    }

    void eventsAndRunStoreAgree() {
        const QString runDir = runDirOf(tmp_.path() + "/reference");
        auto store = hy3::RunStore::open((runDir + "/run.sqlite").toStdString(), hy3::RunStore::Mode::ReadOnly);
        const auto runs = store.runs();
        QCOMPARE(runs.size(), size_t(1));
        QCOMPARE(runs[0].state, std::string("finished"));
        QCOMPARE(runs[0].total_steps, int64_t(6));
        const int64_t run = runs[0].id;

        const auto losses = store.metric(run, "loss");
        const auto steps = stepEvents(reference_);
        QCOMPARE(losses.size(), steps.size());
        for (const auto& p : losses) QCOMPARE(p.value, steps.at(p.step)["loss"].get<double>());
        for (const auto& p : store.metric(run, "mfu")) QCOMPARE(p.value, steps.at(p.step)["mfu"].get<double>());
        const auto evals = stepEvents(reference_, "eval");
        const auto evalLosses = store.metric(run, "eval_loss");
        QCOMPARE(evalLosses.size(), evals.size());
        for (const auto& p : evalLosses) QCOMPARE(p.value, evals.at(p.step)["eval_loss"].get<double>());

        // Every router event is a row of the store with the same counts and bias.
        std::vector<json> routers;
        for (const json& e : reference_)
            if (e["event"] == "router") routers.push_back(e);
        const auto rows = store.routerLoad(run);
        QCOMPARE(rows.size(), routers.size());
        for (size_t i = 0; i < rows.size(); ++i) {
            QCOMPARE(rows[i].step, routers[i]["step"].get<int64_t>());
            QCOMPARE(rows[i].layer, routers[i]["layer"].get<int64_t>());
            const auto load = routers[i]["load"].get<std::vector<int64_t>>();
            QCOMPARE(std::vector<int64_t>(rows[i].counts.begin(), rows[i].counts.end()), load);
            QCOMPARE(rows[i].bias, routers[i]["bias"].get<std::vector<float>>());
        }
        std::vector<std::string> checkpointPaths;
        for (const json& e : reference_)
            if (e["event"] == "checkpoint") checkpointPaths.push_back(e["path"]);
        std::vector<std::string> recorded;
        for (const auto& c : store.checkpoints(run)) recorded.push_back(c.path);
        QCOMPARE(recorded, checkpointPaths);
        // The store's event log holds the same kinds the stream had.
        std::map<std::string, int> streamKinds, storeKinds;
        for (const json& e : reference_) ++streamKinds[e["event"].get<std::string>()];
        for (const auto& e : store.events(run))
            if (e.kind != "log") ++storeKinds[e.kind];
        streamKinds.erase("router");  // router load has its own table
        QCOMPARE(storeKinds, streamKinds);
        QVERIFY(!store.dataStats(run).empty());
        QVERIFY(QFile::exists(runDir + "/logs/rank00000.log"));
        QVERIFY(QFile::exists(runDir + "/model/config.json"));  // the exported final model
        // A preset-initialised run exports a config every reader loads, without an MTP block.
        const std::string problem = hy3::test::exportConfigProblem(json::parse(std::ifstream(runDir.toStdString() + "/model/config.json")), 0);
        QVERIFY2(problem.empty(), problem.c_str());
        QVERIFY(!QFile::exists(runDir + "/model/model-mtp.safetensors"));
    }

    // A run initialised from an HF model directory (the fixture) keeps its MTP block bit for bit in
    // every checkpoint and in the final model, and says so in config.json.
    void directoryInitialisedRunKeepsTheMtpBlock() {
        json project = json::parse(std::ifstream(defaultProject().toStdString()));
        project["model"] = {{"path", hy3::test::fixtureCheckpoint().toStdString()},
                            {"tokenizer", (hy3::test::sourceDir() + "/resources/tokenizers/hy3-byte").toStdString()}};
        for (json& d : project["datasets"]) d["path"] = (hy3::test::sourceDir() + "/resources/projects/default/").toStdString() + d["path"].get<std::string>();
        const QString file = tmp_.path() + "/from-directory.hy3proj";
        std::ofstream(file.toStdString()) << project.dump(1);
        const auto r = runHy3({"train", file, "--output", tmp_.path() + "/from-directory", "--max-steps", "2", "--set", "training.seq_len=64",
                               "--set", "training.global_batch=4", "--set", "training.micro_batch=4", "--set", "training.checkpoint_every=2",
                               "--set", "training.eval_every=0"}, 300000);
        QVERIFY2(r.exitCode == 0 && !r.crashed, qPrintable(describe(r)));
        const QString runDir = runDirOf(tmp_.path() + "/from-directory");
        std::map<std::string, hy3::test::RawTensor> source;
        for (const char* shard : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
            for (auto& [name, t] : hy3::test::readRaw((hy3::test::fixtureCheckpoint() + "/" + shard).toStdString()))
                if (name.rfind("model.layers.3.", 0) == 0) source[name] = t;  // layer 3 of 3: the MTP block
        QVERIFY(!source.empty());
        for (const QString& model : {runDir + "/model", runDir + "/checkpoints/step-00000002/model"}) {
            const auto copied = hy3::test::readRaw((model + "/model-mtp.safetensors").toStdString());
            QCOMPARE(copied.size(), source.size());
            for (const auto& [name, t] : source) {
                QVERIFY2(copied.count(name) && copied.at(name).bytes == t.bytes && copied.at(name).dtype == t.dtype, name.c_str());
            }
            const std::string problem = hy3::test::exportConfigProblem(json::parse(std::ifstream((model + "/config.json").toStdString())), 1);
            QVERIFY2(problem.empty(), problem.c_str());
            QCOMPARE(runHy3({"checkpoint", "verify", model}).exitCode, 0);
        }
    }

    void stopAfterAndResumeMatchTheUninterruptedRun() {
        const QString output = tmp_.path() + "/stopped";
        QStringList first = shortRun(output);
        first << "--stop-after" << "2";  // a stop between checkpoints: the stop saves its own
        const auto a = runHy3(first, 300000);
        QVERIFY2(a.exitCode == 0, qPrintable(describe(a)));
        const auto eventsA = parseEvents(a.out);
        QCOMPARE(eventsA.back()["status"].get<std::string>(), std::string("stopped"));
        QVERIFY(eventsA.back()["message"].get<std::string>().find("--resume") != std::string::npos);

        QStringList second = shortRun(output);
        second << "--resume";  // bare --resume: latest
        const auto b = runHy3(second, 300000);
        QVERIFY2(b.exitCode == 0, qPrintable(describe(b)));
        const auto eventsB = parseEvents(b.out);
        QCOMPARE(eventsB.front()["step"].get<int64_t>(), int64_t(2));
        auto steps = stepEvents(eventsA), evals = stepEvents(eventsA, "eval");
        for (const auto& [k, v] : stepEvents(eventsB)) steps[k] = v;
        for (const auto& [k, v] : stepEvents(eventsB, "eval")) evals[k] = v;
        compareWithReference(steps, evals);
        // Both halves went into the same run directory and run record.
        auto store = hy3::RunStore::open((runDirOf(output) + "/run.sqlite").toStdString(), hy3::RunStore::Mode::ReadOnly);
        QCOMPARE(store.runs().size(), size_t(1));
        QCOMPARE(store.metric(store.runs()[0].id, "loss").size(), size_t(6));
    }

    // SIGTERM lands while the run is held after step 1 (HY3_TEST_HOLD_AFTER_STEP), so it stops after
    // step 1 on any machine, never after the run has already finished.
    void sigtermCheckpointsAndResumesExactly() {
        const QString output = tmp_.path() + "/sigterm";
        const QString release = tmp_.path() + "/sigterm-release";
        QProcess process;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("HY3_TEST_HOLD_AFTER_STEP", "1:" + release);
        process.setProcessEnvironment(env);
        process.start(hy3::test::hy3Binary(), shortRun(output));
        QByteArray out;
        while (!out.contains("\"event\":\"step\"") && process.state() != QProcess::NotRunning) {
            process.waitForReadyRead(1000);
            out += process.readAllStandardOutput();
        }
        process.terminate();  // SIGTERM
        QVERIFY(QFile(release).open(QIODevice::WriteOnly));  // let it go on to see the signal
        QVERIFY(process.waitForFinished(120000));
        out += process.readAllStandardOutput();
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(process.exitCode(), 0);
        const auto eventsA = parseEvents(out);
        QCOMPARE(eventsA.back()["status"].get<std::string>(), std::string("stopped"));
        const int64_t stoppedAt = eventsA.back()["step"].get<int64_t>();
        QCOMPARE(stoppedAt, int64_t(1));
        QVERIFY(QFile::exists(runDirOf(output) + "/checkpoints/LATEST"));

        QStringList resume = shortRun(output);
        resume << "--resume" << "latest";
        const auto b = runHy3(resume, 300000);
        QVERIFY2(b.exitCode == 0, qPrintable(describe(b)));
        auto steps = stepEvents(eventsA), evals = stepEvents(eventsA, "eval");
        for (const auto& [k, v] : stepEvents(parseEvents(b.out))) steps[k] = v;
        for (const auto& [k, v] : stepEvents(parseEvents(b.out), "eval")) evals[k] = v;
        compareWithReference(steps, evals);
    }

    // Two `hy3 train` writing one run directory at once: the second is refused by the first's lock
    // and touches nothing; once the first is killed (-9) the lock is gone and a resume runs.
    void aSecondWriterOfARunIsRefused() {
        const QString output = tmp_.path() + "/locked";
        const QStringList args{"train", defaultProject(), "--output", output, "--events", "jsonl", "--run-name", "same", "--max-steps", "8",
                               "--set", "training.seq_len=128", "--set", "training.global_batch=8", "--set", "training.micro_batch=4",
                               "--set", "training.eval_every=0", "--set", "training.checkpoint_every=2"};
        QProcess first;  // held after its first checkpoint (step 2) until killed, however fast it trains
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("HY3_TEST_HOLD_AFTER_STEP", "2:" + tmp_.path() + "/never-released");
        first.setProcessEnvironment(env);
        first.start(hy3::test::hy3Binary(), args);
        QByteArray out;
        while (!out.contains("\"event\":\"checkpoint\"") && first.state() != QProcess::NotRunning) {
            first.waitForReadyRead(1000);
            out += first.readAllStandardOutput();
        }
        QCOMPARE(first.state(), QProcess::Running);
        // (A second start without --resume would get a fresh name, same-1; the same directory is
        // what two starts racing for a free name, or a resume, would share.)
        const auto second = runHy3(args + QStringList{"--resume", "latest"}, 120000);
        QCOMPARE(second.exitCode, 2);
        QVERIFY2(second.err.contains("another hy3 train (pid " + QByteArray::number(first.processId()) + ")") &&
                     second.err.contains((output + "/same").toUtf8()),
                 second.err.constData());
        QVERIFY(!second.out.contains("\"event\":\"step\""));
        first.kill();  // SIGKILL: the kernel releases the lock
        QVERIFY(first.waitForFinished(60000));
        const auto third = runHy3(args + QStringList{"--resume", "latest", "--stop-after", "1"}, 300000);
        QVERIFY2(third.exitCode == 0, qPrintable(describe(third)));
    }

    void nonExactResumeIsRefusedUnlessWeightsOnly() {
        const QString checkpoint = runDirOf(tmp_.path() + "/reference") + "/checkpoints/step-00000003";
        QStringList changed = shortRun(tmp_.path() + "/reference");
        changed << "--set" << "training.global_batch=4" << "--resume" << checkpoint;
        const auto refused = runHy3(changed, 300000);
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains("global_batch") && refused.err.contains("--weights-only"), refused.err.constData());

        changed[changed.indexOf("--max-steps") + 1] = "1";
        changed << "--weights-only";
        const auto fresh = runHy3(changed, 300000);
        QVERIFY2(fresh.exitCode == 0, qPrintable(describe(fresh)));
        QVERIFY2(fresh.err.contains("weights-only start"), fresh.err.constData());
        QCOMPARE(QDir(tmp_.path() + "/reference").entryList(QDir::Dirs | QDir::NoDotAndDotDot).size(), 2);  // a new run
    }

    void nonFiniteStepIsSkippedAndReported() {
        QStringList args = shortRun(tmp_.path() + "/nan");
        args[args.indexOf("--max-steps") + 1] = "3";
        args << "--inject-nan-at" << "2";
        const auto r = runHy3(args, 300000);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const auto steps = stepEvents(parseEvents(r.out));
        QVERIFY(steps.at(2).value("skipped", false));
        QCOMPARE(steps.at(2)["reason"].get<std::string>(), std::string("non-finite loss"));
        QVERIFY(!steps.at(3).value("skipped", false));
        QVERIFY(std::isfinite(steps.at(3)["loss"].get<double>()));
        auto store = hy3::RunStore::open((runDirOf(tmp_.path() + "/nan") + "/run.sqlite").toStdString(), hy3::RunStore::Mode::ReadOnly);
        const int64_t run = store.runs()[0].id;
        bool warned = false;
        for (const auto& e : store.events(run)) warned = warned || (e.step == 2 && e.level == "warning" && e.message.find("skipped") != std::string::npos);
        QVERIFY(warned);
        for (const auto& p : store.metric(run, "loss")) QVERIFY(p.step != 2);
    }

    void repeatedNonFiniteStepsStopTheRun() {
        const QString output = tmp_.path() + "/bad";
        QStringList args = shortRun(output);
        args << "--set" << "training.max_bad_steps=2" << "--inject-nan-at" << "2" << "--inject-nan-at" << "3";
        const auto r = runHy3(args, 300000);
        QCOMPARE(r.exitCode, 1);
        const auto events = parseEvents(r.out);
        bool error = false;
        for (const json& e : events)
            if (e["event"] == "error") error = e["message"].get<std::string>().find("max_bad_steps") != std::string::npos;
        QVERIFY(error);
        QCOMPARE(events.back()["status"].get<std::string>(), std::string("failed"));
        const QString checkpoint = runDirOf(output) + "/checkpoints/step-00000003";
        QVERIFY(QFile::exists(checkpoint + "/meta.json"));
        const auto verify = runHy3({"checkpoint", "verify", checkpoint});
        QVERIFY2(verify.exitCode == 0, verify.err.constData());
    }

    void generateRepliesFromACheckpoint() {
        const QString checkpoints = runDirOf(tmp_.path() + "/reference") + "/checkpoints";
        const auto r = runHy3({"generate", checkpoints, "--prompt", "Convert 5 km to m.", "--max-new-tokens", "6", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const json reply = json::parse(r.out.trimmed().toStdString());
        QVERIFY(reply["new_tokens"].get<int64_t>() >= 1 && reply["new_tokens"].get<int64_t>() <= 6);
        QVERIFY(reply["prompt_tokens"].get<int64_t>() > 10);
    }

    void benchTrainReportsWhatItMeasured() {
        const auto r = runHy3({"bench", "train", "--preset", "hy3-tiny", "--seq-len", "64", "--micro-batch", "2", "--steps", "2",
                               "--warmup", "1", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const json b = json::parse(r.out.toStdString());
        QVERIFY(b["step_ms"].get<double>() > 0);
        QVERIFY(b["tokens_per_s"].get<double>() > 0);
        QVERIFY(b["mfu"].get<double>() > 0);
        QVERIFY(b["peak_flops_per_s"].get<double>() > 0);
        // Whole steps: the split has the optimizer too.
        QVERIFY2(b["time_split"]["phases_ms"]["optimizer"].get<double>() > 0, r.out.constData());
        QVERIFY2(b["time_split"]["phases_ms"]["routed experts"].get<double>() > 0, r.out.constData());
    }

    void badInputIsOneClearError() {
        const auto missing = runHy3({"train", tmp_.path() + "/nope.hy3proj"});
        QCOMPARE(missing.exitCode, 2);
        QVERIFY(missing.err.contains("nope.hy3proj"));
        // An output folder that cannot be written is refused before any work (no data prepared).
        QFile blocker(tmp_.path() + "/a-file");
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        const auto unwritable = runHy3({"train", defaultProject(), "--output", tmp_.path() + "/a-file/out"});
        QCOMPARE(unwritable.exitCode, 2);
        QVERIFY2(unwritable.err.contains("output_dir") && unwritable.err.contains("a-file/out: cannot create it") &&
                     !unwritable.out.contains("preparing") && !unwritable.err.contains("preparing"),
                 (unwritable.out + unwritable.err).constData());
        const auto badValue = runHy3({"train", defaultProject(), "--output", tmp_.path() + "/x", "--set", "training.lr_schedule=\"bogus\""});
        QCOMPARE(badValue.exitCode, 2);
        QVERIFY(badValue.err.contains("training.lr_schedule"));
        const auto noRun = runHy3({"train", defaultProject(), "--output", tmp_.path() + "/empty", "--resume", "latest"});
        QCOMPARE(noRun.exitCode, 2);
        QVERIFY(noRun.err.contains("no run under"));
    }

    // training.device cuda on a machine without a GPU: one line naming the setting and what is
    // missing, exit 2, before any data is prepared; "auto" trains here on the CPU (every other test).
    void cudaWithoutAGpuIsOneClearError() {
        const auto r = runHy3({"train", defaultProject(), "--output", tmp_.path() + "/cuda", "--set", "training.device=\"cuda\""});
        QCOMPARE(r.exitCode, 2);
        const QString err = QString::fromUtf8(r.err).trimmed();
        QVERIFY2(err.count('\n') == 0 && err.contains("training.device") && err.contains("no GPU is visible"), r.err.constData());
        QVERIFY2(!r.out.contains("preparing"), r.out.constData());
        const auto bogus = runHy3({"train", defaultProject(), "--output", tmp_.path() + "/cuda", "--set", "training.device=\"gpu\""});
        QCOMPARE(bogus.exitCode, 2);
        QVERIFY(bogus.err.contains("training.device"));
    }
};

QTEST_GUILESS_MAIN(TestTrainCli)
#include "tst_train_cli.moc"
