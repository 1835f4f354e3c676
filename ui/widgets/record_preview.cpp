#include "widgets/record_preview.h"

#include "api/common.h"
#include "number_text.h"
#include "token_view.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace hy3::ui {
namespace {

QLabel* selectableLabel(const char* name, bool error) {
    auto* label = new QLabel;
    label->setObjectName(name);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    if (error) label->setStyleSheet("color: #c0392b;");
    return label;
}

}  // namespace

RecordPreview::RecordPreview(QWidget* parent) : QWidget(parent) {
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
    status_ = selectableLabel("browserStatus", false);
    recordInfo_ = selectableLabel("recordInfo", false);
    recordInfo_->setWordWrap(false);
    recordError_ = selectableLabel("recordError", true);
    tokenView_ = new TokenView;
    auto* scroll = new QScrollArea;
    scroll->setWidget(tokenView_);
    scroll->setWidgetResizable(true);
    scroll->setMinimumHeight(130);

    nav_ = new QHBoxLayout;
    nav_->addWidget(prevButton_);
    nav_->addWidget(recordSpin_);
    nav_->addWidget(recordCountLabel_);
    nav_->addWidget(nextButton_);
    nav_->addStretch();
    auto* search = new QHBoxLayout;
    search->addWidget(searchEdit_, 1);
    search->addWidget(findButton_);
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 0, 0, 0);
    v->addLayout(nav_);
    v->addLayout(search);
    v->addWidget(status_);
    v->addWidget(recordInfo_);
    v->addWidget(recordError_);
    v->addWidget(scroll, 1);

    connect(prevButton_, &QPushButton::clicked, this, [this] { showRecord(current_ - 1); });
    connect(nextButton_, &QPushButton::clicked, this, [this] { showRecord(current_ + 1); });
    connect(recordSpin_, &QSpinBox::valueChanged, this, [this](int value) {
        if (!settingSpin_) showRecord(value - 1);
    });
    connect(findButton_, &QPushButton::clicked, this, [this] { findNext(searchEdit_->text()); });
    connect(searchEdit_, &QLineEdit::returnPressed, this, [this] { findNext(searchEdit_->text()); });
    connect(&searchWatcher_, &QFutureWatcher<std::optional<int64_t>>::finished, this, &RecordPreview::onSearchDone);
}

// The search worker holds its own reference to the browser; wait so it never outlives the widget.
RecordPreview::~RecordPreview() { searchWatcher_.waitForFinished(); }

void RecordPreview::addNavigationWidget(QWidget* widget) { nav_->addWidget(widget); }

void RecordPreview::setStatus(const QString& text) {
    status_->setText(text);
    status_->setStyleSheet("");
}

void RecordPreview::setBrowser(std::shared_ptr<RecordBrowser> browser, const QString& error) {
    // The same files read again (a reasoning mode or template changed): stay on the record shown.
    const bool sameFiles = browser_ && browser && browser_->files() == browser->files();
    const int keep = sameFiles ? current_ : 0;
    browser_ = std::move(browser);
    shown_.reset();
    current_ = -1;
    recordInfo_->clear();
    recordError_->clear();
    tokenView_->setTokens({}, -1);
    if (!browser_) {
        status_->setText(error);
        status_->setStyleSheet("color: #c0392b;");
        recordCountLabel_->clear();
        return;
    }
    const auto files = browser_->files();
    setStatus(tr("%1 records in %n file(s)", nullptr, static_cast<int>(files.size())).arg(groupedNumber(browser_->size())));
    settingSpin_ = true;
    recordSpin_->setRange(browser_->size() > 0 ? 1 : 0, static_cast<int>(std::min<int64_t>(browser_->size(), INT32_MAX)));
    settingSpin_ = false;
    recordCountLabel_->setText(tr("of %1").arg(groupedNumber(browser_->size())));
    if (browser_->size() > 0) showRecord(keep >= 0 && keep < browser_->size() ? keep : 0);
}

int64_t RecordPreview::recordCount() const { return browser_ ? browser_->size() : 0; }

void RecordPreview::showRecord(int index) {
    if (!browser_ || browser_->size() == 0) return;
    index = static_cast<int>(std::clamp<int64_t>(index, 0, browser_->size() - 1));
    current_ = index;
    // One record renders in milliseconds; the GUI thread does it so the view never lags the buttons.
    shown_ = browser_->record(index);
    const BrowsedRecord& r = *shown_;
    settingSpin_ = true;
    recordSpin_->setValue(index + 1);
    settingSpin_ = false;
    prevButton_->setEnabled(index > 0);
    nextButton_->setEnabled(index + 1 < browser_->size());
    QString info = tr("%1:%2 · %3 · %4 split").arg(QFileInfo(QString::fromStdString(r.file)).fileName()).arg(r.line).arg(
        QString::fromStdString(r.format), QString::fromStdString(r.split));
    if (r.error.empty())
        info += tr(" · %1 tokens, %2 in the loss").arg(groupedNumber(static_cast<int64_t>(r.ids.size())), groupedNumber(std::count(r.mask.begin(), r.mask.end(), uint8_t{1})));
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

void RecordPreview::showLine(const std::string& file, int64_t line) {
    if (!browser_) return;
    if (const auto index = browser_->indexOf(file, line)) showRecord(static_cast<int>(*index));
}

void RecordPreview::findNext(const QString& text) {
    if (!browser_ || text.isEmpty() || searching_) return;
    searching_ = true;
    findButton_->setEnabled(false);
    setStatus(tr("Searching for “%1”…").arg(text));
    searchWatcher_.setFuture(QtConcurrent::run([browser = browser_, needle = text.toStdString(), from = int64_t{current_}] {
        return browser->find(needle, from);
    }));
}

void RecordPreview::onSearchDone() {
    searching_ = false;
    findButton_->setEnabled(true);
    const std::optional<int64_t> found = searchWatcher_.result();
    if (found) {
        setStatus(tr("Found in record %1").arg(*found + 1));
        showRecord(static_cast<int>(*found));
    } else {
        setStatus(tr("No record contains “%1”").arg(searchEdit_->text()));
    }
    emit searchFinished(found.has_value());
}

}  // namespace hy3::ui
