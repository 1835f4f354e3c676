#include "widgets/runs_view.h"

#include "models/run_list_model.h"
#include "record_table.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

namespace hy3::ui {

RunsView::RunsView(QWidget* parent) : QWidget(parent) {
    model_ = new RunListModel(this);
    // Several runs may be selected, for the comparison.
    table_ = newRecordTable("runsTable", model_, QAbstractItemView::ExtendedSelection);
    table_->setIconSize(QSize(90, 22));
    auto* open = new QPushButton(tr("Open selected run"));
    open->setObjectName("openSelectedRunButton");
    auto* compare = new QPushButton(tr("Compare selected runs"));
    compare->setObjectName("compareButton");
    auto* refreshButton = new QPushButton(tr("Refresh"));
    connect(refreshButton, &QPushButton::clicked, this, [this] { refresh(outputDir_); });
    connect(open, &QPushButton::clicked, this, [this] {
        const QStringList dirs = selectedDirs();
        if (!dirs.isEmpty()) emit openRequested(dirs.front());
    });
    connect(compare, &QPushButton::clicked, this, [this] { emit compareRequested(selectedDirs()); });
    connect(table_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) { emit openRequested(index.data(Qt::UserRole).toString()); });
    // The buttons above the table: below it they were under the fold of a 1200x800 window.
    auto* v = new QVBoxLayout(this);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(open);
    buttons->addWidget(compare);
    buttons->addWidget(refreshButton);
    buttons->addStretch();
    v->addLayout(buttons);
    v->addWidget(table_, 1);
}

void RunsView::refresh(const QString& outputDir) {
    outputDir_ = outputDir;
    listJob_.start([dir = outputDir.toStdString()] { return api::listRuns(dir); },
                   [this](const std::vector<api::RunSummary>& runs) {
                       model_->setRuns(runs);
                       emit runsListed();
                   });
}

const std::vector<api::RunSummary>& RunsView::runs() const { return model_->runs(); }

QStringList RunsView::selectedDirs() const {
    QStringList dirs;
    for (const QModelIndex& i : table_->selectionModel()->selectedRows()) dirs << i.data(Qt::UserRole).toString();
    return dirs;
}

}  // namespace hy3::ui
