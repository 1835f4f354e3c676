#pragma once
// A worker job on a thread of its own that is joined, not just finished, before it is replaced or
// its owner goes. For work that runs LibTorch (Try it, export): LibTorch and its OpenMP runtime
// leave thread-local state whose destructors run while a thread exits. A pooled QThread counts as
// finished before its OS thread has got that far, so one could still be unwinding while the
// process runs LibTorch's static destructors at exit; a joined thread is gone completely.
#include <QMetaObject>
#include <QObject>

#include <atomic>
#include <thread>
#include <utility>

namespace hy3::ui {

template <typename Result>
class JoinedJob {
public:
    explicit JoinedJob(QObject* receiver) : receiver_(receiver) {}
    ~JoinedJob() { join(); }
    JoinedJob(const JoinedJob&) = delete;
    JoinedJob& operator=(const JoinedJob&) = delete;

    bool isRunning() const { return running_.load(); }

    // Runs `work()` on a new thread (after joining the previous job's); `done(result)` is then
    // called on the receiver's thread, unless the receiver is gone by then. `work` must hold copies
    // of what it needs, never the receiver.
    template <typename Work, typename Done>
    void start(Work work, Done done) {
        join();
        running_ = true;
        thread_ = std::thread([this, work = std::move(work), done = std::move(done)]() mutable {
            Result result = work();
            running_ = false;
            QMetaObject::invokeMethod(receiver_, [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); },
                                      Qt::QueuedConnection);
        });
    }

    // Waits until the thread has exited completely.
    void join() {
        if (thread_.joinable()) thread_.join();
    }

private:
    QObject* receiver_;
    std::thread thread_;
    std::atomic<bool> running_{false};
};

}  // namespace hy3::ui
