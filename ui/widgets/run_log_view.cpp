#include "widgets/run_log_view.h"

#include "models/log_model.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QListView>
#include <QVBoxLayout>

namespace hy3::ui {

RunLogView::RunLogView(QWidget* parent) : QWidget(parent) {
    filter_ = new QLineEdit;
    filter_->setObjectName("logFilter");
    filter_->setPlaceholderText(tr("filter the log"));
    level_ = new QComboBox;
    level_->setObjectName("logLevel");
    level_->addItems({tr("everything"), tr("warnings and errors"), tr("errors")});
    model_ = new LogModel(this);
    filtered_ = new LogFilter(this);
    filtered_->setSourceModel(model_);
    list_ = new QListView;
    list_->setObjectName("logList");
    list_->setFont(QFont("monospace", 9));
    list_->setModel(filtered_);
    // One row per line, never wrapped or cut: a long line scrolls sideways. Rows are measured one
    // by one (uniform sizes would take every row's width from the first) in batches, so thousands
    // of lines stay cheap to lay out.
    list_->setWordWrap(false);
    list_->setTextElideMode(Qt::ElideNone);
    list_->setLayoutMode(QListView::Batched);
    list_->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    connect(filter_, &QLineEdit::textChanged, filtered_, &LogFilter::setText);
    connect(level_, &QComboBox::currentIndexChanged, filtered_, &LogFilter::setMinimumLevel);
    auto* v = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    top->addWidget(filter_, 1);
    top->addWidget(level_);
    v->addLayout(top);
    v->addWidget(list_, 1);
}

void RunLogView::append(const api::LogLine& line) { model_->append(line); }
void RunLogView::setLines(const std::vector<api::LogLine>& lines) { model_->setLines(lines); }
void RunLogView::clear() { model_->clear(); }
void RunLogView::pinError(const QString& error) { model_->pinError(error); }
int RunLogView::shownRows() const { return filtered_->rowCount(); }

}  // namespace hy3::ui
