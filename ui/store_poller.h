#pragma once
// Follows a run directory on a thread of its own: it chooses how (api::chooseFollowSource: the
// run.sqlite, or the events.jsonl of a run on a network filesystem or another host), then reads
// once at the start and every second while the run grows. The reader, and so its SQLite
// connection, is created, used and destroyed on that thread only; the GUI thread gets plain data
// to apply (api::StoreDelta, or the events read).
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
    struct Handlers {
        std::function<void(api::FollowSource)> onSource;  // first: how the run is followed, and why
        DeltaFn onDelta;    // each read of the store
        EventsFn onEvents;  // each read of the events file
        FailFn onFail;      // the run cannot be read
    };

    // Starts following `runDir` on a new thread. The handlers are called on `receiver`'s thread
    // (never after the poller is destroyed: its destructor stops and joins the thread).
    StorePoller(const QString& runDir, QObject* receiver, Handlers handlers);
    ~StorePoller() override;

private:
    class Worker;
    QThread* thread_;
};

}  // namespace hy3::ui
