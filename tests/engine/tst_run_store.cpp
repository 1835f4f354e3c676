// The run store on real SQLite files: schema and migration from an empty file, every table written
// and read back, refusal of foreign or newer files, a reader polling while a writer inserts, and a
// store refusing a thread that did not open it.
#include "api/run_tools.h"
#include "config/settings_schema.h"
#include "store/router_watch.h"
#include "store/run_events.h"
#include "store/run_store.h"
#include "util/error.h"

#include <sqlite3.h>

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <cmath>
#include <fstream>
#include <thread>

using hy3::RunStore;

namespace {

std::filesystem::path storePath(const QTemporaryDir& dir) { return (dir.path() + "/run.sqlite").toStdString(); }

void rawExec(const std::filesystem::path& file, const char* sql) {
    sqlite3* db = nullptr;
    sqlite3_open(file.c_str(), &db);
    sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    sqlite3_close(db);
}

// The value the writer stores for a step, so the reader can tell a torn or wrong row.
double valueFor(int64_t step) { return 1.0 / static_cast<double>(step + 1) + static_cast<double>(step); }

}  // namespace

class TestRunStore : public QObject {
    Q_OBJECT
private slots:
    void createsSchemaFromNothing() {
        QTemporaryDir dir;
        RunStore store = RunStore::open(storePath(dir), RunStore::Mode::ReadWrite);
        QCOMPARE(store.schemaVersion(), hy3::runStoreSchemaVersion());
        QVERIFY(store.runs().empty());
    }

    void migratesAnEmptyFile() {
        QTemporaryDir dir;
        std::ofstream(storePath(dir)).close();  // 0 bytes: a valid, empty SQLite database
        QCOMPARE(QFileInfo(dir.path() + "/run.sqlite").size(), 0);
        {
            RunStore store = RunStore::open(storePath(dir), RunStore::Mode::ReadWrite);
            QCOMPARE(store.schemaVersion(), hy3::runStoreSchemaVersion());
            store.createRun("r", "{}", 10);
        }
        // Reopening an up-to-date store migrates nothing and keeps the data.
        RunStore again = RunStore::open(storePath(dir), RunStore::Mode::ReadWrite);
        QCOMPARE(again.runs().size(), size_t(1));
    }

    void migratesVersionOneToTheCurrentSchema() {
        QTemporaryDir dir;
        // A store as schema v1 left it (the first migration only), with data in it.
        {
            RunStore store = RunStore::open(storePath(dir), RunStore::Mode::ReadWrite);
            store.createRun("old", "{}", 5);
        }
        rawExec(storePath(dir), "DROP TABLE data_stats; DROP INDEX router_by_layer; PRAGMA user_version = 1");
        RunStore upgraded = RunStore::open(storePath(dir), RunStore::Mode::ReadWrite);
        QCOMPARE(upgraded.schemaVersion(), hy3::runStoreSchemaVersion());
        QCOMPARE(upgraded.runs().size(), size_t(1));
        const int64_t run = upgraded.runs().front().id;
        QVERIFY(upgraded.dataStats(run).empty());
        upgraded.setDataStats(run, R"({"records_read": 3})");
        QCOMPARE(QString::fromStdString(upgraded.dataStats(run)), QString(R"({"records_read": 3})"));
    }

    void refusesForeignAndNewerFiles() {
        QTemporaryDir dir;
        const auto foreign = storePath(dir);
        rawExec(foreign, "CREATE TABLE other(x)");
        try {
            RunStore::open(foreign, RunStore::Mode::ReadWrite);
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY(QString(e.what()).contains("not a run store"));
        }

        QTemporaryDir dir2;
        { RunStore::open(storePath(dir2), RunStore::Mode::ReadWrite); }
        rawExec(storePath(dir2), "PRAGMA user_version = 99");
        for (auto mode : {RunStore::Mode::ReadWrite, RunStore::Mode::ReadOnly}) {
            try {
                RunStore::open(storePath(dir2), mode);
                QFAIL("expected an error");
            } catch (const hy3::Error& e) {
                QVERIFY(QString(e.what()).contains("schema version 99 is newer"));
            }
        }

        QTemporaryDir dir3;
        std::ofstream(storePath(dir3)) << "this is not a database, just text that is long enough to be a header...";
        try {
            RunStore::open(storePath(dir3), RunStore::Mode::ReadWrite);
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY(QString(e.what()).contains("run.sqlite"));
        }
        QVERIFY_THROWS_EXCEPTION(hy3::Error, RunStore::open((dir3.path() + "/absent.sqlite").toStdString(), RunStore::Mode::ReadOnly));
    }

    void everyTableRoundTrips() {
        QTemporaryDir dir;
        RunStore store = RunStore::open(storePath(dir), RunStore::Mode::ReadWrite);
        const int64_t run = store.createRun("first", R"({"lr":0.1})", 100);
        store.addMetrics(run, 1, {{"loss", 2.5}, {"lr", 0.1}});
        store.addMetrics(run, 2, {{"loss", 2.0}});
        store.addRouterLoad(run, 1, 3, {5, 0, 7, 4}, {0.5f, -0.25f, 0.f, 1.f});
        store.addRouterLoad(run, 1, 4, {1, 2, 3, 10}, {});
        const int64_t ck1 = store.addCheckpoint(run, 50, "/out/checkpoints/step-00000050", 0);
        store.setCheckpointStatus(ck1, "complete", 12345, R"({"loss":2.0})");
        const int64_t ck2 = store.addCheckpoint(run, 100, "/out/checkpoints/step-00000100", ck1);
        store.setCheckpointStatus(ck2, "failed", 0, "");
        store.addEvent(run, 2, "step", "info", "step 2", R"({"loss":2.0})");
        const int64_t last = store.addEvent(run, 3, "error", "error", "boom", "");
        store.setRunState(run, "failed");

        RunStore reader = RunStore::open(storePath(dir), RunStore::Mode::ReadOnly);
        const auto runs = reader.runs();
        QCOMPARE(runs.size(), size_t(1));
        QCOMPARE(QString::fromStdString(runs[0].state), QString("failed"));
        QVERIFY(runs[0].ended_at >= runs[0].started_at);
        QCOMPARE(runs[0].total_steps, 100);
        QCOMPARE(reader.metricNames(run), (std::vector<std::string>{"loss", "lr"}));
        const auto loss = reader.metric(run, "loss");
        QCOMPARE(loss.size(), size_t(2));
        QCOMPARE(loss[1].step, 2);
        QCOMPARE(loss[1].value, 2.0);
        QCOMPARE(reader.metric(run, "loss", 1).size(), size_t(1));
        const auto load = reader.routerLoad(run);
        QCOMPARE(load.size(), size_t(2));
        QCOMPARE(load[0].layer, 3);
        QCOMPARE(load[0].counts, (std::vector<uint32_t>{5, 0, 7, 4}));
        QCOMPARE(load[0].bias, (std::vector<float>{0.5f, -0.25f, 0.f, 1.f}));
        QVERIFY(load[1].bias.empty());
        const auto checkpoints = reader.checkpoints(run);
        QCOMPARE(checkpoints.size(), size_t(2));
        QCOMPARE(QString::fromStdString(checkpoints[0].status), QString("complete"));
        QCOMPARE(checkpoints[0].size_bytes, 12345);
        QCOMPARE(checkpoints[1].parent_id, ck1);
        QCOMPARE(checkpoints[0].parent_id, 0);
        const auto events = reader.events(run);
        QCOMPARE(events.size(), size_t(2));
        QCOMPARE(QString::fromStdString(events[1].message), QString("boom"));
        QCOMPARE(QString::fromStdString(events[1].data_json), QString("{}"));
        QVERIFY(reader.events(run, last).empty());

        // The checkpoint status is constrained to the four documented states.
        QVERIFY_THROWS_EXCEPTION(hy3::Error, store.setCheckpointStatus(ck1, "weird", 0, ""));
    }

    // A run copied or moved with its project names its own checkpoints: paths inside the run are
    // stored relative to it, and rows of older stores (absolute, into RUN/checkpoints/ of the run's
    // old place) resolve to the same names where the store now lies. Other absolute paths stay.
    void checkpointPathsFollowAMovedRun() {
        QTemporaryDir dir;
        const std::filesystem::path before = (dir.path() + "/a/runs/r1").toStdString(), after = (dir.path() + "/b/runs/r1").toStdString();
        std::filesystem::create_directories(before);
        int64_t run = 0;
        {
            RunStore store = RunStore::open(before / "run.sqlite", RunStore::Mode::ReadWrite);
            run = store.createRun("r1", "{}", 10);
            store.addCheckpoint(run, 3, (before / "checkpoints" / "step-00000003").string(), 0);
            store.addCheckpoint(run, 6, "/elsewhere/gone/checkpoints/step-00000006", 0);  // as an older store wrote it
            store.addCheckpoint(run, 9, "/elsewhere/exported/step-00000009", 0);
        }
        std::filesystem::create_directories(after.parent_path());
        std::filesystem::rename(before, after);
        const RunStore moved = RunStore::open(after / "run.sqlite", RunStore::Mode::ReadOnly);
        const auto records = moved.checkpoints(run);
        QCOMPARE(records.size(), size_t(3));
        QCOMPARE(QString::fromStdString(records[0].path), QString::fromStdString((after / "checkpoints" / "step-00000003").string()));
        QCOMPARE(QString::fromStdString(records[1].path), QString::fromStdString((after / "checkpoints" / "step-00000006").string()));
        QCOMPARE(QString::fromStdString(records[2].path), QString("/elsewhere/exported/step-00000009"));
    }

    void failedTransactionLeavesNothing() {
        QTemporaryDir dir;
        RunStore store = RunStore::open(storePath(dir), RunStore::Mode::ReadWrite);
        const int64_t run = store.createRun("r", "{}", 1);
        try {
            store.transaction([&] {
                store.addMetrics(run, 1, {{"loss", 1.0}});
                throw hy3::Error("stop");
            });
        } catch (const hy3::Error&) {
        }
        QVERIFY(store.metric(run, "loss").empty());
    }

    // A store is one SQLite connection opened without SQLite's mutex: another thread using it is
    // refused with an error naming the file, and the owning thread goes on using it.
    void aStoreBelongsToTheThreadThatOpenedIt() {
        QTemporaryDir dir;
        RunStore store = RunStore::open(storePath(dir), RunStore::Mode::ReadWrite);
        const int64_t run = store.createRun("r", "{}", 1);
        std::string refused;
        std::thread other([&] {
            try {
                store.metricNames(run);
            } catch (const hy3::Error& e) {
                refused = e.what();
            }
        });
        other.join();
        QVERIFY2(refused.find("run.sqlite") != std::string::npos, refused.c_str());
        QVERIFY2(refused.find("thread") != std::string::npos, refused.c_str());
        store.addMetrics(run, 1, {{"loss", 1.0}});
        QCOMPARE(store.metric(run, "loss").size(), size_t(1));
        // A moved-from store refuses too, instead of handing SQLite a null connection.
        RunStore moved = std::move(store);
        QVERIFY_THROWS_EXCEPTION(hy3::Error, store.runs());
        QCOMPARE(moved.runs().size(), size_t(1));
    }

    // Every kind of run event survives both encodings: the stream's JSON and the store's row.
    // A collapsing layer raises each alert once: an expert idle for 20 steps in a row (again only
    // after it got a token), one expert taking >= 3x the mean over 20 steps (again only after the
    // layer recovered); the warning's text reads back as the same alert.
    void routerWatchRaisesEachCollapseOnce() {
        hy3::RouterWatch watch;
        std::vector<hy3::RouterAlert> raised;
        auto feed = [&](int64_t from, int64_t to, const std::vector<int64_t>& load) {
            for (int64_t step = from; step <= to; ++step)
                for (const auto& a : watch.observe(step, 3, load)) raised.push_back(a);
        };
        feed(1, 19, {10, 10, 0, 10});   // expert 2 idle for 19 steps: nothing yet
        QVERIFY(raised.empty());
        feed(20, 40, {10, 10, 0, 10});  // the 20th idle step raises it, once
        QCOMPARE(raised.size(), size_t(1));
        QCOMPARE(raised[0].kind, std::string("idle"));
        QCOMPARE(raised[0].step, int64_t(20));
        QCOMPARE(raised[0].layer, int64_t(3));
        QCOMPARE(raised[0].expert, int64_t(2));
        feed(41, 41, {10, 10, 1, 10});  // a token ends the stretch
        feed(42, 61, {10, 10, 0, 10});  // a new stretch of 20 is news again
        QCOMPARE(raised.size(), size_t(2));
        QCOMPARE(raised[1].step, int64_t(61));

        raised.clear();
        hy3::RouterWatch overload;
        for (int64_t step = 1; step <= 30; ++step)
            for (const auto& a : overload.observe(step, 1, {70, 10, 10, 10})) raised.push_back(a);  // 70 / 25 = 2.8x
        QVERIFY(raised.empty());
        for (int64_t step = 31; step <= 80; ++step)
            for (const auto& a : overload.observe(step, 1, {85, 5, 5, 5})) raised.push_back(a);  // 85 / 25 = 3.4x
        QCOMPARE(raised.size(), size_t(1));
        QCOMPARE(raised[0].kind, std::string("overloaded"));
        QCOMPARE(raised[0].expert, int64_t(0));
        QVERIFY(raised[0].value >= 3.0);

        const auto back = hy3::parseRouterAlert(raised[0].step, raised[0].text());
        QVERIFY(back.has_value());
        QCOMPARE(back->kind, raised[0].kind);
        QCOMPARE(back->layer, int64_t(1));
        QCOMPARE(back->expert, int64_t(0));
        QVERIFY(std::abs(back->value - raised[0].value) < 0.01);
        QVERIFY(!hy3::parseRouterAlert(1, "a human line").has_value());
        const hy3::RouterAlert idle{5, 7, 190, "idle", 20};
        QCOMPARE(idle.text(), std::string("router collapse: layer 7, expert 190 got no token for 20 steps"));
        QCOMPARE(hy3::parseRouterAlert(5, idle.text())->expert, int64_t(190));
    }

    // The run comparison's settings difference: a setting one run leaves at its default and the
    // other sets to that same value is no difference (it was listed as "0.9 vs (not set)"); one
    // set to another value is shown against the default.
    void settingsDiffKnowsTheDefaults() {
        const nlohmann::json lr = hy3::findSetting("training.learning_rate")->defaultValue;
        const std::string same = nlohmann::json{{"training", {{"learning_rate", lr}}}}.dump();
        QVERIFY(hy3::api::settingsDiff(same, "{}").empty());
        QVERIFY(hy3::api::settingsDiff("{}", same).empty());
        const auto changed = hy3::api::settingsDiff(R"({"training": {"learning_rate": 0.5}})", "{}");
        QCOMPARE(changed.size(), size_t(1));
        QCOMPARE(changed[0], "training.learning_rate: 0.5 vs " + lr.dump() + " (default)");
        const auto unknown = hy3::api::settingsDiff("{}", R"({"notes": "x"})");
        QCOMPARE(unknown.size(), size_t(1));
        QCOMPARE(unknown[0], std::string(R"(notes: (not set) vs "x")"));
    }

    void runEventsRoundTrip() {
        hy3::StepEvent step;
        step.step = 7, step.totalSteps = 10, step.loss = 2.5, step.lr = 1e-4, step.gradNorm = 0.75, step.mfu = 0.4;
        step.routerMaxMean = 1.5, step.routerIdle = 2;
        hy3::StepEvent skipped = step;
        skipped.skipped = true, skipped.skipReason = "non-finite loss";
        const std::vector<hy3::RunEvent> events = {
            hy3::StartEvent{0, "/runs/a", 10, {{"parameters", 123}}},
            step,
            skipped,
            hy3::RouterEvent{7, 1, {3, 0, 5}, {0.5f, -0.25f, 0.f}},
            hy3::EvalEvent{7, 1.25, 900},
            hy3::CheckpointEvent{7, "/runs/a/checkpoints/step-00000007", {{"loss", 2.5}}},
            hy3::ErrorEvent{8, "rank 1 stopped responding"},
            hy3::EndEvent{8, "failed", "failed at step 8"},
            hy3::LogEvent{8, "warning", "a human line"},
        };
        for (const hy3::RunEvent& event : events) {
            const nlohmann::json j = hy3::eventToJson(event);
            const auto back = hy3::eventFromJson(j);
            QVERIFY2(back, j.dump().c_str());
            QCOMPARE(QString::fromStdString(hy3::eventToJson(*back).dump()), QString::fromStdString(j.dump()));
            // The store keeps what following a run needs: the same step, and for each kind its payload.
            const hy3::StoredEvent row = hy3::eventToRecord(event);
            hy3::EventRecord record;
            record.step = row.step, record.kind = row.kind, record.level = row.level, record.message = row.message, record.data_json = row.data.dump();
            const auto stored = hy3::eventFromRecord(record);
            QVERIFY2(stored, record.kind.c_str());
            QCOMPARE(stored->index(), event.index());
            QCOMPARE(hy3::stepOf(*stored), hy3::stepOf(event));
        }
        QCOMPARE(std::get<hy3::CheckpointEvent>(*hy3::eventFromRecord([] {
                     hy3::EventRecord r;
                     r.kind = "checkpoint", r.message = "checkpoint /x/step-00000001", r.data_json = "{}";
                     return r;
                 }())).path,
                 std::string("/x/step-00000001"));
        // What is not an event is refused, not guessed.
        QVERIFY(!hy3::eventFromJson(nlohmann::json{{"event", "step"}}));
        QVERIFY(!hy3::eventFromJson(nlohmann::json{{"event", "router"}, {"step", 1}, {"layer", "x"}, {"load", {1}}}));
        QVERIFY(!hy3::eventFromJson(nlohmann::json{{"event", "teleport"}, {"step", 1}}));
        QVERIFY(!hy3::eventFromJson(nlohmann::json::array()));
    }

    void readerPollsWhileWriterInserts() {
        QTemporaryDir dir;
        const auto file = storePath(dir);
        int64_t run = 0;
        {
            RunStore setup = RunStore::open(file, RunStore::Mode::ReadWrite);
            run = setup.createRun("concurrent", "{}", 0);
        }
        constexpr int64_t kSteps = 4000;
        constexpr int64_t kExperts = 64;
        std::atomic<bool> done{false};
        std::thread writer([&] {
            RunStore store = RunStore::open(file, RunStore::Mode::ReadWrite);
            for (int64_t step = 0; step < kSteps; ++step) {
                // A few steps per transaction, as a trainer flushes.
                store.transaction([&] {
                    store.addMetrics(run, step, {{"loss", valueFor(step)}, {"lr", 0.001}});
                    std::vector<uint32_t> counts(kExperts, static_cast<uint32_t>(step));
                    store.addRouterLoad(run, step, 1, counts, {});
                    store.addEvent(run, step, "step", "info", "step " + std::to_string(step), "");
                });
            }
            done = true;
        });

        RunStore reader = RunStore::open(file, RunStore::Mode::ReadOnly);
        int64_t seen = -1;
        int64_t seenLoad = -1;
        int64_t lastEvent = 0;
        int polls = 0;
        QStringList problems;
        while (true) {
            const bool finished = done.load();
            // Follow the run as the GUI does: only rows newer than the last seen.
            for (const auto& point : reader.metric(run, "loss", seen)) {
                if (point.step != seen + 1) problems << QString("gap before step %1").arg(point.step);
                if (point.value != valueFor(point.step)) problems << QString("wrong value at step %1").arg(point.step);
                seen = point.step;
            }
            for (const auto& load : reader.routerLoad(run, seenLoad)) {
                if (load.step != seenLoad + 1) problems << QString("router gap before step %1").arg(load.step);
                if (load.counts.size() != size_t(kExperts) || load.counts.front() != load.step || load.counts.back() != load.step)
                    problems << QString("torn router row at step %1").arg(load.step);
                seenLoad = load.step;
            }
            for (const auto& event : reader.events(run, lastEvent)) {
                if (event.id != lastEvent + 1) problems << QString("event gap at %1").arg(event.id);
                lastEvent = event.id;
            }
            ++polls;
            if (finished && seen == kSteps - 1 && seenLoad == kSteps - 1) break;
            if (finished && polls > 100000) break;
        }
        writer.join();
        QVERIFY2(problems.isEmpty(), qPrintable(problems.mid(0, 5).join("; ")));
        QCOMPARE(seen, kSteps - 1);
        QCOMPARE(seenLoad, kSteps - 1);
        QCOMPARE(lastEvent, kSteps);
        QVERIFY2(polls > 2, "the reader must have polled while the writer was writing");
    }
};

QTEST_GUILESS_MAIN(TestRunStore)
#include "tst_run_store.moc"
