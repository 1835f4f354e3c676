#include "dataset_editor.h"

#include "choice_delegate.h"
#include "models/dataset_table_model.h"
#include "project_session.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>
#include <functional>

namespace hy3::ui {

DatasetEditor::DatasetEditor(ProjectSession* session, QWidget* parent)
    : QWidget(parent), session_(session), model_(new DatasetTableModel(session, this)) {
    table_ = new QTableView;
    table_->setObjectName("datasetTable");
    table_->setModel(model_);
    table_->setItemDelegateForColumn(DatasetTableModel::FormatColumn, new ChoiceDelegate(DatasetTableModel::formats(), this));
    table_->setItemDelegateForColumn(DatasetTableModel::SplitColumn, new ChoiceDelegate(DatasetTableModel::splits(), this));
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->horizontalHeader()->setSectionResizeMode(DatasetTableModel::PathColumn, QHeaderView::Stretch);
    table_->verticalHeader()->hide();
    table_->setMinimumHeight(90);
    table_->setMaximumHeight(160);

    auto* addFiles = new QPushButton(tr("Add files…"));
    addFiles->setObjectName("addFilesButton");
    auto* addFolder = new QPushButton(tr("Add folder…"));
    addFolder->setObjectName("addFolderButton");
    auto* remove = new QPushButton(tr("Remove"));
    remove->setObjectName("removeDatasetButton");
    connect(addFiles, &QPushButton::clicked, this, &DatasetEditor::onAddFilesClicked);
    connect(addFolder, &QPushButton::clicked, this, &DatasetEditor::onAddFolderClicked);
    connect(remove, &QPushButton::clicked, this, &DatasetEditor::onRemoveClicked);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(addFiles);
    buttons->addWidget(addFolder);
    buttons->addWidget(remove);
    buttons->addStretch();
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(table_);
    layout->addLayout(buttons);
}

void DatasetEditor::addPaths(const QStringList& paths) {
    for (const QString& path : paths) session_->addDataset(QFileInfo(path).absoluteFilePath(), "auto", "train");
}

void DatasetEditor::onAddFilesClicked() {
    addPaths(QFileDialog::getOpenFileNames(this, tr("Add dataset files"), QString(), tr("Datasets (*.jsonl *.json);;All files (*)")));
}

void DatasetEditor::onAddFolderClicked() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Add a folder of dataset files"));
    if (!dir.isEmpty()) addPaths({dir});
}

void DatasetEditor::onRemoveClicked() {
    // Remove from the bottom so earlier indexes stay valid.
    QList<int> indexes;
    for (const QModelIndex& index : table_->selectionModel()->selectedRows()) indexes << index.row();
    std::sort(indexes.begin(), indexes.end(), std::greater<int>());
    for (int index : indexes) session_->removeDataset(index);
}

}  // namespace hy3::ui
