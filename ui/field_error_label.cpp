#include "field_error_label.h"

#include "project_session.h"

namespace hy3::ui {

FieldErrorLabel::FieldErrorLabel(const QString& key, ProjectSession* session, QWidget* parent)
    : QLabel(parent), key_(key), session_(session) {
    setObjectName("error:" + key);
    setWordWrap(true);
    setStyleSheet("color: #c0392b;");
    setVisible(false);
    connect(session_, &ProjectSession::changed, this, &FieldErrorLabel::refresh);
    connect(session_, &ProjectSession::projectReplaced, this, &FieldErrorLabel::refresh);
}

void FieldErrorLabel::refresh() {
    const QStringList problems = session_->problemsFor(key_);
    setText(problems.join("\n"));
    setVisible(!problems.isEmpty());
}

}  // namespace hy3::ui
