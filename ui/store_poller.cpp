#include "store_poller.h"

#include <QMetaObject>
#include <QPointer>
#include <QThread>
#include <QTimer>

namespace hy3::ui {

// Lives on the poller's thread: chooses what to read, owns the reader (of the store or of the
// events file) and the timer.
class StorePoller::Worker : public QObject {
public:
    Worker(QString runDir, QObject* receiver, Handlers handlers)
        : runDir_(std::move(runDir)), receiver_(receiver), handlers_(std::move(handlers)) {}

    void start() {
        try {
            // The choice reads the file system (statfs, the events file's first lines): here, not
            // on the GUI thread, which a network filesystem could stall.
            const api::FollowSource source = api::chooseFollowSource(runDir_.toStdString());
            post([fn = handlers_.onSource, source] { fn(source); });
            if (source.eventsFile) eventsReader_ = std::make_unique<api::EventsFileReader>(runDir_.toStdString());
            else reader_ = std::make_unique<api::RunStoreReader>(runDir_.toStdString());
        } catch (const std::exception& e) {
            fail(QString::fromStdString(e.what()));
            return;
        }
        timer_ = new QTimer(this);
        timer_->setInterval(1000);
        connect(timer_, &QTimer::timeout, this, [this] { poll(); });
        poll();
        if (growing_) timer_->start();
    }

private:
    void poll() {
        try {
            if (eventsReader_) {
                auto events = std::make_shared<const std::vector<RunEvent>>(eventsReader_->read());
                growing_ = !eventsReader_->ended();
                post([fn = handlers_.onEvents, events] { fn(events); });
            } else {
                auto delta = std::make_shared<const api::StoreDelta>(reader_->read());
                growing_ = delta->growing();
                post([fn = handlers_.onDelta, delta] { fn(delta); });
            }
        } catch (const std::exception& e) {
            fail(QString("reading the run: %1").arg(e.what()));
            growing_ = false;
        }
        if (!growing_ && timer_) timer_->stop();  // a run that has ended does not grow
    }

    void fail(const QString& error) {
        post([fn = handlers_.onFail, error] { fn(error); });
    }

    // Calls `fn` on the receiver's thread.
    template <typename F>
    void post(F fn) {
        QMetaObject::invokeMethod(receiver_, std::move(fn), Qt::QueuedConnection);
    }

    QString runDir_;
    QObject* receiver_;
    Handlers handlers_;
    std::unique_ptr<api::RunStoreReader> reader_;
    std::unique_ptr<api::EventsFileReader> eventsReader_;
    QTimer* timer_ = nullptr;
    bool growing_ = false;
};

StorePoller::StorePoller(const QString& runDir, QObject* receiver, Handlers handlers) : thread_(new QThread) {
    auto* worker = new Worker(runDir, receiver, std::move(handlers));
    worker->moveToThread(thread_);
    // The worker (with its reader and connection) is destroyed on its own thread when it ends.
    connect(thread_, &QThread::finished, worker, &QObject::deleteLater);
    connect(thread_, &QThread::started, worker, [worker] { worker->start(); });
    thread_->start();
}

StorePoller::~StorePoller() {
    thread_->quit();
    thread_->wait();
    delete thread_;
}

}  // namespace hy3::ui
