#include "pages/data_page.h"

#include "dataset_editor.h"
#include "page_heading.h"
#include "project_session.h"
#include "widgets/data_stats_view.h"
#include "widgets/record_preview.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QPointer>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace hy3::ui {
namespace {

IndexResult indexRecords(const ProjectFile& project, std::shared_ptr<std::atomic<bool>> cancel) {
    IndexResult r;
    try {
        r.browser = api::openRecordBrowser(project, cancel.get());
        r.cache = api::findPreparedProjectData(project);
    } catch (const PrepareCancelled&) {
        r.cancelled = true;
    } catch (const std::exception& e) {
        r.error = QString::fromStdString(e.what());
    }
    return r;
}

PrepareOutcome prepareData(const ProjectFile& project, std::shared_ptr<std::atomic<bool>> cancel, QPointer<QObject> progressTo) {
    PrepareOutcome out;
    try {
        out.result = api::prepareProjectFile(
            project,
            [progressTo](const PrepareProgress& p) {
                const double fraction = p.bytesTotal > 0 ? static_cast<double>(p.bytesRead) / static_cast<double>(p.bytesTotal) : 0;
                QMetaObject::invokeMethod(progressTo, "onPrepareProgress", Qt::QueuedConnection, Q_ARG(double, fraction),
                                          Q_ARG(qint64, p.records));
            },
            cancel.get());
    } catch (const PrepareCancelled&) {
        out.cancelled = true;
    } catch (const std::exception& e) {
        out.error = QString::fromStdString(e.what());
    }
    return out;
}

const QStringList kEfforts = {"no_think", "low", "high"};

}  // namespace

DataPage::DataPage(ProjectSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    preview_ = new RecordPreview;
    effortCombo_ = new QComboBox;
    effortCombo_->setObjectName("effortCombo");
    effortCombo_->addItem(tr("no_think: no reasoning"), "no_think");
    effortCombo_->addItem(tr("low reasoning effort"), "low");
    effortCombo_->addItem(tr("high reasoning effort"), "high");
    effortCombo_->setToolTip(tr("The Hy3 reasoning mode written into every conversation (data.reasoning_effort)"));
    preview_->addNavigationWidget(new QLabel(tr("Reasoning mode")));
    preview_->addNavigationWidget(effortCombo_);
    auto* previewBox = new QGroupBox(tr("Conversation preview"));
    (new QVBoxLayout(previewBox))->addWidget(preview_);
    statsView_ = new DataStatsView;
    statsView_->clear(tr("Not prepared yet: press Prepare to tokenize the datasets."));
    auto* statsBox = new QGroupBox(tr("Statistics of the token cache"));
    (new QVBoxLayout(statsBox))->addWidget(statsView_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(pageHeading(tr("<h2>Data</h2><p>What the model will learn from: each record rendered with the chat "
                                    "template, <span style='background:#b7e4b0'>&nbsp;green tokens&nbsp;</span> count in the "
                                    "loss, <span style='background:#e6e6e6'>&nbsp;grey&nbsp;</span> ones are context only, "
                                    "<span style='background:#f5c6c6'>&nbsp;red&nbsp;</span> ones are cut at the sequence length. "
                                    "Hover a token for its id.</p>")));
    layout->addWidget(buildFiles());
    layout->addWidget(previewBox, 1);
    layout->addWidget(statsBox);

    reopenTimer_ = new QTimer(this);
    reopenTimer_->setSingleShot(true);
    reopenTimer_->setInterval(250);
    connect(reopenTimer_, &QTimer::timeout, this, &DataPage::reopenBrowser);
    connect(&browserWatcher_, &QFutureWatcher<IndexResult>::finished, this, &DataPage::onBrowserReady);
    connect(&prepareWatcher_, &QFutureWatcher<PrepareOutcome>::finished, this, &DataPage::onPrepareDone);
    connect(preview_, &RecordPreview::recordShown, this, &DataPage::recordShown);
    connect(preview_, &RecordPreview::searchFinished, this, &DataPage::searchFinished);
    connect(statsView_, &DataStatsView::statsShown, this, &DataPage::statsShown);
    connect(statsView_, &DataStatsView::prepareRequested, this, &DataPage::prepare);
    connect(statsView_, &DataStatsView::cancelRequested, this, &DataPage::cancelPrepare);
    connect(statsView_, &DataStatsView::skippedLineClicked, preview_, &RecordPreview::showLine);
    connect(effortCombo_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (!loading_) session_->setValue("data.reasoning_effort", kEfforts.value(index).toStdString());
    });
    connect(validationSpin_, &QDoubleSpinBox::valueChanged, this, [this](double value) {
        if (!loading_) session_->setValue("data.validation_fraction", value / 100.0);
    });
    connect(session_, &ProjectSession::changed, this, &DataPage::scheduleReopen);
    connect(session_, &ProjectSession::projectReplaced, this, &DataPage::reloadFields);
    connect(session_, &ProjectSession::fileChanged, this, &DataPage::reloadFields);
    reloadFields();
}

DataPage::~DataPage() {
    // Workers hold only shared state; tell them to stop and wait so none outlives the page.
    if (browserCancel_) *browserCancel_ = true;
    if (prepareCancel_) *prepareCancel_ = true;
    browserWatcher_.waitForFinished();
    prepareWatcher_.waitForFinished();
}

QWidget* DataPage::buildFiles() {
    datasets_ = new DatasetEditor(session_);
    validationSpin_ = new QDoubleSpinBox;
    validationSpin_->setObjectName("validationSpin");
    validationSpin_->setRange(0, 90);
    validationSpin_->setDecimals(1);
    validationSpin_->setSuffix(tr(" % of training records held out for eval"));
    auto* box = new QGroupBox(tr("Dataset files"));
    auto* v = new QVBoxLayout(box);
    v->addWidget(datasets_);
    auto* split = new QFormLayout;
    split->addRow(tr("Validation split"), validationSpin_);
    v->addLayout(split);
    return box;
}

int64_t DataPage::recordCount() const { return preview_->recordCount(); }
int DataPage::currentRecord() const { return preview_->currentRecord(); }
const std::optional<BrowsedRecord>& DataPage::shownRecord() const { return preview_->shownRecord(); }
const std::optional<PrepareResult>& DataPage::stats() const { return statsView_->stats(); }
TokenView* DataPage::tokenView() const { return preview_->tokenView(); }
void DataPage::showRecord(int index) { preview_->showRecord(index); }
void DataPage::findNext(const QString& text) { preview_->findNext(text); }

void DataPage::reloadFields() {
    if (!session_->hasProject()) return;
    loading_ = true;
    const std::string effort = session_->settingValue("data.reasoning_effort").get<std::string>();
    effortCombo_->setCurrentIndex(std::max<int>(0, static_cast<int>(kEfforts.indexOf(QString::fromStdString(effort)))));
    const auto fraction = session_->project().get("data.validation_fraction");
    validationSpin_->setValue(fraction.is_number() ? 100.0 * fraction.get<double>() : 0.0);
    loading_ = false;
    dataFingerprint_.clear();  // a new project: reopen whatever it holds
    scheduleReopen();
}

void DataPage::scheduleReopen() {
    if (!session_->hasProject()) return;
    // Only what changes the records or their tokens reopens the preview.
    const ProjectFile& p = session_->project();
    const std::string fingerprint = nlohmann::json::array({p.get("datasets"), p.get("model"), p.get("chat_template"), p.get("data"),
                                                           p.get("training.seq_len"), p.get("training.seed"), p.get("training.packing"),
                                                           p.get("output_dir")})
                                        .dump();
    if (fingerprint == dataFingerprint_) return;
    dataFingerprint_ = fingerprint;
    reopenPending_ = true;
    reopenTimer_->start();
}

void DataPage::reopenBrowser() {
    if (indexing_) {
        *browserCancel_ = true;  // the newer settings win; this one restarts when the old worker ends
        reopenTimer_->start();
        return;
    }
    reopenPending_ = false;
    indexing_ = true;
    browserCancel_ = std::make_shared<std::atomic<bool>>(false);
    preview_->setStatus(tr("Reading the dataset files…"));
    browserWatcher_.setFuture(QtConcurrent::run(indexRecords, session_->project(), browserCancel_));
}

void DataPage::onBrowserReady() {
    IndexResult r = browserWatcher_.result();
    indexing_ = false;
    if (r.cancelled || reopenPending_) return;  // a newer request is on its way
    if (r.cache) statsView_->showStats(*r.cache);
    else if (r.browser) statsView_->clear(tr("Not prepared with these settings yet: press Prepare to tokenize the datasets."));
    else statsView_->clear(tr("Fix the problem above, then prepare."));
    preview_->setBrowser(r.browser, r.error);
    emit browserReady();
}

void DataPage::prepare() {
    if (preparing_ || !session_->hasProject()) return;
    preparing_ = true;
    prepareCancel_ = std::make_shared<std::atomic<bool>>(false);
    statsView_->setPreparing(true);
    prepareWatcher_.setFuture(QtConcurrent::run(prepareData, session_->project(), prepareCancel_, QPointer<QObject>(this)));
}

void DataPage::onPrepareProgress(double fraction, qint64 records) {
    if (preparing_) statsView_->setProgress(fraction, records);
}

void DataPage::cancelPrepare() {
    if (prepareCancel_) *prepareCancel_ = true;
    statsView_->setCancelling();
}

void DataPage::onPrepareDone() {
    const PrepareOutcome out = prepareWatcher_.result();
    preparing_ = false;
    statsView_->setPreparing(false);
    if (out.result) statsView_->showStats(*out.result);
    else statsView_->showFailure(out.cancelled ? tr("Cancelled; nothing was written.") : out.error, !out.cancelled);
    emit prepareFinished();
}

}  // namespace hy3::ui
