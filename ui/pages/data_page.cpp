#include "pages/data_page.h"

#include "api/common.h"
#include "dataset_editor.h"
#include "page_heading.h"
#include "project_session.h"
#include "token_view.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <qcustomplot.h>

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

QString number(int64_t n) { return QString::fromStdString(groupDigits(n)); }

QString percent(double fraction) { return QString::number(100.0 * fraction, 'f', 1) + "%"; }

const QStringList kEfforts = {"no_think", "low", "high"};

}  // namespace

DataPage::DataPage(ProjectSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    datasets_ = new DatasetEditor(session_);
    validationSpin_ = new QDoubleSpinBox;
    validationSpin_->setObjectName("validationSpin");
    validationSpin_->setRange(0, 90);
    validationSpin_->setDecimals(1);
    validationSpin_->setSuffix(tr(" % of training records held out for eval"));
    auto* filesBox = new QGroupBox(tr("Dataset files"));
    auto* filesLayout = new QVBoxLayout(filesBox);
    filesLayout->addWidget(datasets_);
    auto* splitRow = new QFormLayout;
    splitRow->addRow(tr("Validation split"), validationSpin_);
    filesLayout->addLayout(splitRow);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(pageHeading(tr("<h2>Data</h2><p>What the model will learn from: each record rendered with the chat "
                                    "template, <span style='background:#b7e4b0'>&nbsp;green tokens&nbsp;</span> count in the "
                                    "loss, <span style='background:#e6e6e6'>&nbsp;grey&nbsp;</span> ones are context only, "
                                    "<span style='background:#f5c6c6'>&nbsp;red&nbsp;</span> ones are cut at the sequence length. "
                                    "Hover a token for its id.</p>")));
    layout->addWidget(filesBox);
    layout->addWidget(buildPreview(), 1);
    layout->addWidget(buildStatistics());

    reopenTimer_ = new QTimer(this);
    reopenTimer_->setSingleShot(true);
    reopenTimer_->setInterval(250);
    connect(reopenTimer_, &QTimer::timeout, this, &DataPage::reopenBrowser);
    connect(&browserWatcher_, &QFutureWatcher<IndexResult>::finished, this, &DataPage::onBrowserReady);
    connect(&prepareWatcher_, &QFutureWatcher<PrepareOutcome>::finished, this, &DataPage::onPrepareDone);
    connect(&searchWatcher_, &QFutureWatcher<std::optional<int64_t>>::finished, this, &DataPage::onSearchDone);
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
    searchWatcher_.waitForFinished();
}

QWidget* DataPage::buildPreview() {
    prevButton_ = new QPushButton(tr("◀ Previous"));
    prevButton_->setObjectName("prevButton");
    nextButton_ = new QPushButton(tr("Next ▶"));
    nextButton_->setObjectName("nextButton");
    recordSpin_ = new QSpinBox;
    recordSpin_->setObjectName("recordSpin");
    recordSpin_->setPrefix(tr("record "));
    recordSpin_->setKeyboardTracking(false);
    recordCountLabel_ = new QLabel;
    recordCountLabel_->setObjectName("recordCountLabel");
    searchEdit_ = new QLineEdit;
    searchEdit_->setObjectName("searchEdit");
    searchEdit_->setPlaceholderText(tr("find text in the records"));
    findButton_ = new QPushButton(tr("Find next"));
    findButton_->setObjectName("findButton");
    effortCombo_ = new QComboBox;
    effortCombo_->setObjectName("effortCombo");
    effortCombo_->addItem(tr("no_think: no reasoning"), "no_think");
    effortCombo_->addItem(tr("low reasoning effort"), "low");
    effortCombo_->addItem(tr("high reasoning effort"), "high");
    effortCombo_->setToolTip(tr("The Hy3 reasoning mode written into every conversation (data.reasoning_effort)"));

    auto* nav = new QHBoxLayout;
    nav->addWidget(prevButton_);
    nav->addWidget(recordSpin_);
    nav->addWidget(recordCountLabel_);
    nav->addWidget(nextButton_);
    nav->addStretch();
    nav->addWidget(new QLabel(tr("Reasoning mode")));
    nav->addWidget(effortCombo_);
    auto* search = new QHBoxLayout;
    search->addWidget(searchEdit_, 1);
    search->addWidget(findButton_);

    browserStatus_ = new QLabel;
    browserStatus_->setObjectName("browserStatus");
    browserStatus_->setWordWrap(true);
    recordInfo_ = new QLabel;
    recordInfo_->setObjectName("recordInfo");
    recordInfo_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    recordError_ = new QLabel;
    recordError_->setObjectName("recordError");
    recordError_->setWordWrap(true);
    recordError_->setStyleSheet("color: #c0392b;");
    recordError_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    tokenView_ = new TokenView;
    auto* scroll = new QScrollArea;
    scroll->setWidget(tokenView_);
    scroll->setWidgetResizable(true);
    scroll->setMinimumHeight(130);

    auto* box = new QGroupBox(tr("Conversation preview"));
    auto* v = new QVBoxLayout(box);
    v->addLayout(nav);
    v->addLayout(search);
    v->addWidget(browserStatus_);
    v->addWidget(recordInfo_);
    v->addWidget(recordError_);
    v->addWidget(scroll, 1);

    connect(prevButton_, &QPushButton::clicked, this, [this] { showRecord(current_ - 1); });
    connect(nextButton_, &QPushButton::clicked, this, [this] { showRecord(current_ + 1); });
    connect(recordSpin_, &QSpinBox::valueChanged, this, [this](int value) {
        if (!loading_) showRecord(value - 1);
    });
    connect(findButton_, &QPushButton::clicked, this, [this] { findNext(searchEdit_->text()); });
    connect(searchEdit_, &QLineEdit::returnPressed, this, [this] { findNext(searchEdit_->text()); });
    connect(effortCombo_, &QComboBox::currentIndexChanged, this, &DataPage::onEffortChosen);
    connect(validationSpin_, &QDoubleSpinBox::valueChanged, this, &DataPage::onValidationFractionChanged);
    return box;
}

QWidget* DataPage::buildStatistics() {
    prepareButton_ = new QPushButton(tr("Prepare"));
    prepareButton_->setObjectName("prepareButton");
    prepareButton_->setToolTip(tr("Tokenize every record into the token cache (hy3 prepare); an unchanged cache is reused"));
    cancelButton_ = new QPushButton(tr("Cancel"));
    cancelButton_->setObjectName("cancelPrepareButton");
    cancelButton_->setEnabled(false);
    progress_ = new QProgressBar;
    progress_->setObjectName("prepareProgress");
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    prepareStatus_ = new QLabel;
    prepareStatus_->setObjectName("prepareStatus");
    prepareStatus_->setWordWrap(true);
    auto* top = new QHBoxLayout;
    top->addWidget(prepareButton_);
    top->addWidget(cancelButton_);
    top->addWidget(progress_, 1);

    statsLabel_ = new QLabel;
    statsLabel_->setObjectName("statsLabel");
    statsLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    statsLabel_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    lengthPlot_ = new QCustomPlot;
    lengthPlot_->setObjectName("lengthPlot");
    lengthPlot_->setMinimumSize(360, 220);
    skippedList_ = new QListWidget;
    skippedList_->setObjectName("skippedList");
    skippedList_->setMinimumHeight(80);
    skippedList_->setToolTip(tr("Click a line to open it in the preview"));

    auto* columns = new QHBoxLayout;
    columns->addWidget(statsLabel_);
    columns->addWidget(lengthPlot_, 1);
    auto* box = new QGroupBox(tr("Statistics of the token cache"));
    auto* v = new QVBoxLayout(box);
    v->addLayout(top);
    v->addWidget(prepareStatus_);
    v->addLayout(columns);
    v->addWidget(new QLabel(tr("Skipped lines (training leaves them out; click one to see it above):")));
    v->addWidget(skippedList_);

    connect(prepareButton_, &QPushButton::clicked, this, &DataPage::prepare);
    connect(cancelButton_, &QPushButton::clicked, this, &DataPage::cancelPrepare);
    connect(skippedList_, &QListWidget::itemClicked, this, &DataPage::onSkippedClicked);
    clearStats(tr("Not prepared yet: press Prepare to tokenize the datasets."));
    return box;
}

void DataPage::reloadFields() {
    if (!session_->hasProject()) return;
    loading_ = true;
    const std::string effort = session_->project().get("data.reasoning_effort").get<std::string>();
    effortCombo_->setCurrentIndex(std::max<int>(0, static_cast<int>(kEfforts.indexOf(QString::fromStdString(effort)))));
    const auto fraction = session_->project().get("data.validation_fraction");
    validationSpin_->setValue(fraction.is_number() ? 100.0 * fraction.get<double>() : 0.0);
    loading_ = false;
    dataFingerprint_.clear();  // a new project: reopen whatever it holds
    scheduleReopen();
}

void DataPage::onEffortChosen(int index) {
    if (!loading_) session_->setValue("data.reasoning_effort", kEfforts.value(index).toStdString());
}

void DataPage::onValidationFractionChanged(double value) {
    if (!loading_) session_->setValue("data.validation_fraction", value / 100.0);
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
    browserStatus_->setText(tr("Reading the dataset files…"));
    browserStatus_->setStyleSheet("");
    browserWatcher_.setFuture(QtConcurrent::run(indexRecords, session_->project(), browserCancel_));
}

void DataPage::onBrowserReady() {
    IndexResult r = browserWatcher_.result();
    indexing_ = false;
    if (r.cancelled || reopenPending_) return;  // a newer request is on its way
    browser_ = r.browser;
    shown_.reset();
    current_ = -1;
    if (!browser_) {
        browserStatus_->setText(r.error);
        browserStatus_->setStyleSheet("color: #c0392b;");
        recordCountLabel_->clear();
        recordInfo_->clear();
        recordError_->clear();
        tokenView_->setTokens({}, -1);
        clearStats(tr("Fix the problem above, then prepare."));
        emit browserReady();
        return;
    }
    const auto files = browser_->files();
    browserStatus_->setText(tr("%1 records in %n file(s)", nullptr, static_cast<int>(files.size())).arg(number(browser_->size())));
    browserStatus_->setStyleSheet("");
    loading_ = true;
    recordSpin_->setRange(browser_->size() > 0 ? 1 : 0, static_cast<int>(std::min<int64_t>(browser_->size(), INT32_MAX)));
    loading_ = false;
    recordCountLabel_->setText(tr("of %1").arg(number(browser_->size())));
    if (r.cache) showStats(*r.cache);
    else clearStats(tr("Not prepared with these settings yet: press Prepare to tokenize the datasets."));
    if (browser_->size() > 0) showRecord(0);
    emit browserReady();
}

int64_t DataPage::recordCount() const { return browser_ ? browser_->size() : 0; }

void DataPage::showRecord(int index) {
    if (!browser_ || browser_->size() == 0) return;
    index = static_cast<int>(std::clamp<int64_t>(index, 0, browser_->size() - 1));
    current_ = index;
    // One record renders in milliseconds; the GUI thread does it so the view never lags the buttons.
    shown_ = browser_->record(index);
    const BrowsedRecord& r = *shown_;
    loading_ = true;
    recordSpin_->setValue(index + 1);
    loading_ = false;
    prevButton_->setEnabled(index > 0);
    nextButton_->setEnabled(index + 1 < browser_->size());
    int64_t inLoss = 0;
    for (uint8_t m : r.mask) inLoss += m;
    QString info = tr("%1:%2 · %3 · %4 split").arg(QFileInfo(QString::fromStdString(r.file)).fileName()).arg(r.line).arg(
        QString::fromStdString(r.format), QString::fromStdString(r.split));
    if (r.error.empty())
        info += tr(" · %1 tokens, %2 in the loss").arg(number(static_cast<int64_t>(r.ids.size())), number(inLoss));
    recordInfo_->setText(info);
    const bool cut = r.error.empty() && static_cast<int64_t>(r.ids.size()) > r.seqLen;
    if (!r.error.empty()) recordError_->setText(tr("Skipped by training: %1\n%2").arg(QString::fromStdString(r.error),
                                                                                       QString::fromStdString(r.raw).left(2000)));
    else if (r.dropped) recordError_->setText(tr("Dropped by training: longer than the sequence length (%1 tokens)").arg(r.seqLen));
    else if (cut) recordError_->setText(tr("Cut at the sequence length: the tokens after %1 are not trained").arg(r.seqLen));
    else recordError_->clear();

    std::vector<TokenViewItem> items;
    items.reserve(r.ids.size());
    for (size_t i = 0; i < r.ids.size(); ++i)
        items.push_back({QString::fromStdString(r.pieces[i]), QString::fromStdString(r.tokens[i]), r.ids[i], r.mask[i] != 0, r.special[i] != 0});
    tokenView_->setTokens(std::move(items), cut || r.dropped ? static_cast<int>(r.dropped ? 0 : r.seqLen) : -1);
    emit recordShown();
}

void DataPage::findNext(const QString& text) {
    if (!browser_ || text.isEmpty() || searching_) return;
    searching_ = true;
    findButton_->setEnabled(false);
    browserStatus_->setText(tr("Searching for “%1”…").arg(text));
    auto browser = browser_;
    const std::string needle = text.toStdString();
    const int64_t from = current_;
    searchWatcher_.setFuture(QtConcurrent::run([browser, needle, from] { return browser->find(needle, from); }));
}

void DataPage::onSearchDone() {
    searching_ = false;
    findButton_->setEnabled(true);
    const std::optional<int64_t> found = searchWatcher_.result();
    if (found) {
        browserStatus_->setText(tr("Found in record %1").arg(*found + 1));
        showRecord(static_cast<int>(*found));
    } else {
        browserStatus_->setText(tr("No record contains “%1”").arg(searchEdit_->text()));
    }
    emit searchFinished(found.has_value());
}

void DataPage::prepare() {
    if (preparing_ || !session_->hasProject()) return;
    preparing_ = true;
    prepareCancel_ = std::make_shared<std::atomic<bool>>(false);
    prepareButton_->setEnabled(false);
    cancelButton_->setEnabled(true);
    progress_->setValue(0);
    prepareStatus_->setText(tr("Preparing…"));
    prepareStatus_->setStyleSheet("");
    const ProjectFile project = session_->project();
    auto cancel = prepareCancel_;
    QPointer<DataPage> self(this);
    prepareWatcher_.setFuture(QtConcurrent::run([project, cancel, self] {
        PrepareOutcome out;
        try {
            out.result = api::prepareProjectFile(
                project,
                [self](const PrepareProgress& p) {
                    const double fraction = p.bytesTotal > 0 ? static_cast<double>(p.bytesRead) / static_cast<double>(p.bytesTotal) : 0;
                    QMetaObject::invokeMethod(self, "onPrepareProgress", Qt::QueuedConnection, Q_ARG(double, fraction),
                                              Q_ARG(qint64, p.records));
                },
                cancel.get());
        } catch (const PrepareCancelled&) {
            out.cancelled = true;
        } catch (const std::exception& e) {
            out.error = QString::fromStdString(e.what());
        }
        return out;
    }));
}

void DataPage::onPrepareProgress(double fraction, qint64 records) {
    if (!preparing_) return;
    progress_->setValue(static_cast<int>(1000 * fraction));
    prepareStatus_->setText(tr("Preparing… %1 records").arg(number(records)));
}

void DataPage::cancelPrepare() {
    if (prepareCancel_) *prepareCancel_ = true;
    cancelButton_->setEnabled(false);
}

void DataPage::onPrepareDone() {
    const PrepareOutcome out = prepareWatcher_.result();
    preparing_ = false;
    prepareButton_->setEnabled(true);
    cancelButton_->setEnabled(false);
    if (out.result) {
        progress_->setValue(1000);
        showStats(*out.result);
    } else {
        progress_->setValue(0);
        prepareStatus_->setText(out.cancelled ? tr("Cancelled; nothing was written.") : out.error);
        prepareStatus_->setStyleSheet(out.cancelled ? "" : "color: #c0392b;");
    }
    emit prepareFinished();
}

void DataPage::clearStats(const QString& message) {
    stats_.reset();
    prepareStatus_->setText(message);
    prepareStatus_->setStyleSheet("");
    statsLabel_->clear();
    skippedList_->clear();
    lengthPlot_->clearPlottables();
    lengthPlot_->clearItems();
    lengthPlot_->replot();
}

void DataPage::showStats(const PrepareResult& result) {
    stats_ = result;
    const DataStats& s = result.stats;
    prepareStatus_->setText((result.reused ? tr("Token cache reused (inputs unchanged): %1") : tr("Token cache written: %1"))
                                .arg(QString::fromStdString(result.cacheDir.string())));
    prepareStatus_->setStyleSheet("");
    auto splitLines = [&](const QString& name, const SplitStats& x) {
        const double lossShare = x.tokens > 0 ? static_cast<double>(x.lossTokens) / static_cast<double>(x.tokens) : 0;
        return tr("<tr><td colspan=2><b>%1</b></td></tr>"
                  "<tr><td>documents</td><td align=right>%2</td></tr>"
                  "<tr><td>tokens</td><td align=right>%3</td></tr>"
                  "<tr><td>in the loss</td><td align=right>%4 (%5)</td></tr>"
                  "<tr><td>truncated / dropped</td><td align=right>%6 / %7</td></tr>"
                  "<tr><td>longest</td><td align=right>%8</td></tr>"
                  "<tr><td>rows per epoch</td><td align=right>%9</td></tr>"
                  "<tr><td>packing efficiency</td><td align=right>%10</td></tr>")
            .arg(name, number(x.documents), number(x.tokens), number(x.lossTokens), percent(lossShare), number(x.truncated),
                 number(x.dropped), number(x.longest))
            .arg(number(x.rows), percent(x.packingEfficiency));
    };
    statsLabel_->setText(tr("<table cellspacing=2><tr><td>records read</td><td align=right>%1</td></tr>"
                            "<tr><td>lines skipped</td><td align=right>%2</td></tr>"
                            "<tr><td>sequence length</td><td align=right>%3</td></tr>")
                             .arg(number(s.recordsRead), number(s.recordsSkipped), number(s.seqLen)) +
                         splitLines(tr("train"), s.train) + splitLines(tr("validation"), s.validation) + "</table>");
    skippedList_->clear();
    for (const SkippedLine& k : s.skipped) {
        auto* item = new QListWidgetItem(QString("%1:%2 — %3").arg(QFileInfo(QString::fromStdString(k.file)).fileName()).arg(k.line).arg(
            QString::fromStdString(k.reason)));
        item->setData(Qt::UserRole, QString::fromStdString(k.file));
        item->setData(Qt::UserRole + 1, static_cast<qlonglong>(k.line));
        skippedList_->addItem(item);
    }
    if (s.recordsSkipped > static_cast<int64_t>(s.skipped.size()))
        skippedList_->addItem(tr("… %1 more in %2/skipped.jsonl").arg(number(s.recordsSkipped - static_cast<int64_t>(s.skipped.size())),
                                                                      QString::fromStdString(result.cacheDir.string())));
    plotLengths(s);
    emit statsShown();
}

void DataPage::plotLengths(const DataStats& s) {
    lengthPlot_->clearPlottables();
    lengthPlot_->clearItems();
    const auto& histogram = s.train.histogram;
    if (histogram.empty() || s.histogramWidth <= 0) {
        lengthPlot_->replot();
        return;
    }
    // Bars at each bin's centre; the last bin holds everything longer than seq_len and sits past the line.
    QVector<double> x, y, overX, overY;
    const double width = static_cast<double>(s.histogramWidth);
    for (size_t b = 0; b + 1 < histogram.size(); ++b) {
        x << (static_cast<double>(b) + 0.5) * width;
        y << static_cast<double>(histogram[b]);
    }
    overX << static_cast<double>(s.seqLen) + 0.5 * width;
    overY << static_cast<double>(histogram.back());
    auto* bars = new QCPBars(lengthPlot_->xAxis, lengthPlot_->yAxis);
    bars->setWidth(width * 0.9);
    bars->setData(x, y);
    bars->setBrush(QColor(0x4a, 0x90, 0xd9));
    bars->setPen(Qt::NoPen);
    bars->setName(tr("documents"));
    auto* over = new QCPBars(lengthPlot_->xAxis, lengthPlot_->yAxis);
    over->setWidth(width * 0.9);
    over->setData(overX, overY);
    over->setBrush(QColor(0xd9, 0x53, 0x4f));
    over->setPen(Qt::NoPen);
    over->setName(s.train.dropped > 0 ? tr("longer: dropped") : tr("longer: cut"));
    auto* limit = new QCPItemStraightLine(lengthPlot_);
    limit->point1->setCoords(static_cast<double>(s.seqLen), 0);
    limit->point2->setCoords(static_cast<double>(s.seqLen), 1);
    limit->setPen(QPen(QColor(0xd9, 0x53, 0x4f), 1.5, Qt::DashLine));
    auto* label = new QCPItemText(lengthPlot_);
    label->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
    label->setText(tr("max length %1").arg(s.seqLen));
    label->setColor(QColor(0xd9, 0x53, 0x4f));
    lengthPlot_->xAxis->setLabel(tr("tokens per document (train split)"));
    lengthPlot_->yAxis->setLabel(tr("documents"));
    lengthPlot_->xAxis->setRange(0, static_cast<double>(s.seqLen) + 1.5 * width);
    double top = 1;
    for (int64_t v : histogram) top = std::max(top, static_cast<double>(v));
    lengthPlot_->yAxis->setRange(0, top * 1.15);
    label->position->setCoords(static_cast<double>(s.seqLen), top * 1.13);  // just left of the line, at the top
    lengthPlot_->legend->setVisible(true);
    lengthPlot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignHCenter | Qt::AlignTop);
    lengthPlot_->replot();
}

void DataPage::onSkippedClicked(QListWidgetItem* item) {
    if (!browser_ || !item->data(Qt::UserRole).isValid()) return;
    const auto index = browser_->indexOf(item->data(Qt::UserRole).toString().toStdString(), item->data(Qt::UserRole + 1).toLongLong());
    if (index) showRecord(static_cast<int>(*index));
}

}  // namespace hy3::ui
