#include "store_poller.h"

#include <QMetaObject>
#include <QPointer>
#include <QThread>
#include <QTimer>

namespace hy3::ui {

// Lives on the poller's thread: owns the reader (of the store or of the events file) and the timer.
class StorePoller::Worker : public QObject {
public:
    Worker(QString runDir, QObject* receiver, DeltaFn onDelta, EventsFn onEvents, FailFn onFail)
        : runDir_(std::move(runDir)), receiver_(receiver), onDelta_(std::move(onDelta)), onEvents_(std::move(onEvents)), onFail_(std::move(onFail)) {}

    void start() {
        try {
            if (onEvents_) eventsReader_ = std::make_unique<api::EventsFileReader>(runDir_.toStdString());
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
                QMetaObject::invokeMethod(receiver_, [fn = onEvents_, events] { fn(events); }, Qt::QueuedConnection);
            } else {
                auto delta = std::make_shared<const api::StoreDelta>(reader_->read());
                growing_ = delta->growing();
                QMetaObject::invokeMethod(receiver_, [fn = onDelta_, delta] { fn(delta); }, Qt::QueuedConnection);
            }
        } catch (const std::exception& e) {
            fail(QString("reading the run: %1").arg(e.what()));
            growing_ = false;
        }
        if (!growing_ && timer_) timer_->stop();  // a run that has ended does not grow
    }

    void fail(const QString& error) {
        QMetaObject::invokeMethod(receiver_, [fn = onFail_, error] { fn(error); }, Qt::QueuedConnection);
    }

    QString runDir_;
    QObject* receiver_;
    DeltaFn onDelta_;
    EventsFn onEvents_;
    FailFn onFail_;
    std::unique_ptr<api::RunStoreReader> reader_;
    std::unique_ptr<api::EventsFileReader> eventsReader_;
    QTimer* timer_ = nullptr;
    bool growing_ = false;
};

StorePoller::StorePoller(const QString& runDir, QObject* receiver, DeltaFn onDelta, FailFn onFail) : thread_(new QThread) {
    run(new Worker(runDir, receiver, std::move(onDelta), {}, std::move(onFail)));
}

StorePoller::StorePoller(const QString& runDir, QObject* receiver, EventsFn onEvents, FailFn onFail) : thread_(new QThread) {
    run(new Worker(runDir, receiver, {}, std::move(onEvents), std::move(onFail)));
}

void StorePoller::run(Worker* worker) {
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
