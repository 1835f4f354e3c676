#pragma once
// Reads that must not block the window (run stores, files, model configs) run on Qt's thread pool;
// their result reaches the receiver on its thread. Only the newest request's result is delivered:
// one still running when another starts is dropped when it ends. The work holds copies only (never
// the receiver), and nothing of it runs LibTorch (for that, see joined_job.h).
#include <QFutureWatcher>
#include <QObject>
#include <QtConcurrent/QtConcurrentRun>

#include <utility>

namespace hy3::ui {

template <typename Result>
class LatestJob {
public:
    explicit LatestJob(QObject* receiver) : receiver_(receiver) {}
    LatestJob(const LatestJob&) = delete;
    LatestJob& operator=(const LatestJob&) = delete;

    // A request is out and its result not delivered yet.
    bool isPending() const { return pending_; }

    template <typename Work, typename Done>
    void start(Work work, Done done) {
        const int generation = ++generation_;
        pending_ = true;
        auto* watcher = new QFutureWatcher<Result>(receiver_);
        QObject::connect(watcher, &QFutureWatcherBase::finished, receiver_, [this, watcher, generation, done = std::move(done)] {
            watcher->deleteLater();
            if (generation != generation_) return;  // a newer request is on its way
            pending_ = false;
            done(watcher->result());
        });
        watcher->setFuture(QtConcurrent::run(std::move(work)));
    }

    // Drops the result of whatever is running.
    void cancel() {
        ++generation_;
        pending_ = false;
    }

private:
    QObject* receiver_;
    int generation_ = 0;
    bool pending_ = false;
};

}  // namespace hy3::ui
