#pragma once
// Reads a run's run.sqlite on a thread of its own: once at the start, then every second while the
// run grows. The reader, and so its SQLite connection, is created, used and destroyed on that
// thread only; the GUI thread gets plain deltas (api::StoreDelta) to apply.
#include "api/run_follower.h"

#include <QObject>
#include <QString>

#include <functional>
#include <memory>

class QThread;
class QTimer;

namespace hy3::ui {

class StorePoller : public QObject {
    Q_OBJECT
public:
    using DeltaFn = std::function<void(std::shared_ptr<const api::StoreDelta>)>;
    using FailFn = std::function<void(QString)>;

    // Starts reading `runDir` on a new thread. `onDelta` and `onFail` are called on `receiver`'s
    // thread (never after the poller is destroyed: its destructor stops and joins the thread).
    StorePoller(const QString& runDir, QObject* receiver, DeltaFn onDelta, FailFn onFail);
    ~StorePoller() override;

private:
    class Worker;
    QThread* thread_;
};

}  // namespace hy3::ui
