#pragma once
// Reads a run's run.sqlite on a thread of its own: once at the start, then every second while the
// run grows. The reader, and so its SQLite connection, is created, used and destroyed on that
// thread only; the GUI thread gets plain deltas (api::StoreDelta) to apply. A run followed through
// its events.jsonl instead (api::chooseFollowSource) is read the same way, as events.
#include "api/run_follower.h"

#include <QObject>
#include <QString>

#include <functional>
#include <memory>
#include <vector>

class QThread;
class QTimer;

namespace hy3::ui {

class StorePoller : public QObject {
    Q_OBJECT
public:
    using DeltaFn = std::function<void(std::shared_ptr<const api::StoreDelta>)>;
    using EventsFn = std::function<void(std::shared_ptr<const std::vector<RunEvent>>)>;
    using FailFn = std::function<void(QString)>;

    // Starts reading `runDir`'s store on a new thread. `onDelta` and `onFail` are called on
    // `receiver`'s thread (never after the poller is destroyed: its destructor stops and joins the
    // thread).
    StorePoller(const QString& runDir, QObject* receiver, DeltaFn onDelta, FailFn onFail);
    // The same for `runDir`'s events file: each read's new events go to `onEvents`.
    StorePoller(const QString& runDir, QObject* receiver, EventsFn onEvents, FailFn onFail);
    ~StorePoller() override;

private:
    class Worker;
    void run(Worker* worker);
    QThread* thread_;
};

}  // namespace hy3::ui
