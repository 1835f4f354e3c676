#pragma once
// A read-only table of records (runs, checkpoints, layouts): whole rows selected, columns
// stretched, no row numbers. Pages add what is theirs (sorting, a minimum height).
#include <QAbstractItemModel>
#include <QHeaderView>
#include <QTableView>

namespace hy3::ui {

inline QTableView* newRecordTable(const char* objectName, QAbstractItemModel* model,
                                  QAbstractItemView::SelectionMode selection = QAbstractItemView::SingleSelection) {
    auto* table = new QTableView;
    table->setObjectName(objectName);
    table->setModel(model);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table->verticalHeader()->hide();
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(selection);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    return table;
}

}  // namespace hy3::ui
