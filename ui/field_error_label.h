#pragma once
// A red line under a form field that shows the project's validation problems for that field's key.
#include <QLabel>

namespace hy3::ui {

class ProjectSession;

class FieldErrorLabel : public QLabel {
    Q_OBJECT
public:
    FieldErrorLabel(const QString& key, ProjectSession* session, QWidget* parent = nullptr);
    const QString& key() const { return key_; }

public slots:
    void refresh();

private:
    QString key_;
    ProjectSession* session_;
};

}  // namespace hy3::ui
