#include "pages/settings_page.h"

#include "api/project_api.h"
#include "page_heading.h"
#include "project_session.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QToolButton>
#include <QVBoxLayout>

namespace hy3::ui {
namespace {

// Groups in the order shown; "basics" is open, the others start folded.
const std::vector<std::pair<std::string, QString>>& groupTitles() {
    static const std::vector<std::pair<std::string, QString>> titles = {
        {"basics", QObject::tr("Basics")},
        {"schedule", QObject::tr("Learning-rate schedule")},
        {"optimizer", QObject::tr("Optimizer and precision")},
        {"moe", QObject::tr("Mixture of experts")},
        {"lora", QObject::tr("LoRA")},
        {"memory", QObject::tr("Memory")},
        {"checkpoints", QObject::tr("Checkpoints")},
        {"data", QObject::tr("Data")},
        {"distributed", QObject::tr("Distributed runtime")},
    };
    return titles;
}

QString plainValue(const nlohmann::json& v) {
    if (v.is_string()) return QString::fromStdString(v.get<std::string>());
    if (v.is_number_float()) return QString::number(v.get<double>(), 'g', 12);
    return QString::fromStdString(v.dump());
}

// A titled section whose body folds away under its header button.
QWidget* section(const QString& title, QWidget* body, bool open) {
    auto* header = new QToolButton;
    header->setText(title);
    header->setCheckable(true);
    header->setChecked(open);
    header->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    header->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
    header->setStyleSheet("QToolButton { border: none; font-weight: bold; }");
    body->setVisible(open);
    QObject::connect(header, &QToolButton::toggled, body, [header, body](bool on) {
        body->setVisible(on);
        header->setArrowType(on ? Qt::DownArrow : Qt::RightArrow);
    });
    auto* box = new QWidget;
    auto* v = new QVBoxLayout(box);
    v->setContentsMargins(0, 4, 0, 4);
    v->addWidget(header);
    v->addWidget(body);
    return box;
}

}  // namespace

SettingsPage::SettingsPage(ProjectSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(pageHeading(tr("<h2>Training</h2><p>Every setting of a run. Values are checked as you type; valid ones "
                                    "go into the project (save with Ctrl+S). Hover a field for its help.</p>")));
    for (const auto& [group, title] : groupTitles()) {
        auto* body = new QWidget;
        auto* form = new QFormLayout(body);
        form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
        for (const SettingSpec& spec : settingSpecs()) {
            if (spec.group != group) continue;
            auto* field = new QWidget;
            field->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);  // room for the help line
            auto* v = new QVBoxLayout(field);
            v->setContentsMargins(0, 0, 0, 0);
            v->setSpacing(1);
            QWidget* editor = buildEditor(spec);
            editor->setMaximumWidth(320);
            v->addWidget(editor, 0, Qt::AlignLeft);
            auto* help = new QLabel(QString::fromStdString(spec.help));
            help->setStyleSheet("color: #666;");
            help->setWordWrap(true);
            v->addWidget(help);
            auto* error = new QLabel;
            error->setObjectName(QString::fromStdString("error:" + spec.key));
            error->setStyleSheet("color: #c0392b;");
            error->setWordWrap(true);
            error->hide();
            v->addWidget(error);
            errors_[spec.key] = error;
            const std::string name = spec.key.substr(spec.key.find('.') + 1);
            form->addRow(QString::fromStdString(name), field);
        }
        layout->addWidget(section(title, body, group == "basics"));
    }
    layout->addStretch();
    connect(session_, &ProjectSession::projectReplaced, this, &SettingsPage::reloadFields);
    connect(session_, &ProjectSession::fileChanged, this, &SettingsPage::reloadFields);
    connect(session_, &ProjectSession::changed, this, [this] {
        if (!loading_) reloadFields();
    });
    reloadFields();
}

QWidget* SettingsPage::buildEditor(const SettingSpec& spec) {
    QWidget* editor = nullptr;
    const QString tip = QString::fromStdString(spec.key + ": " + spec.help);
    switch (spec.kind) {
    case SettingKind::Boolean: {
        auto* box = new QCheckBox;
        connect(box, &QCheckBox::toggled, this, [this, key = spec.key](bool on) {
            if (!loading_) session_->setValue(key, on);
        });
        editor = box;
        break;
    }
    case SettingKind::Choice: {
        auto* combo = new QComboBox;
        for (const std::string& c : spec.choices) combo->addItem(QString::fromStdString(c));
        connect(combo, &QComboBox::currentTextChanged, this, [this, key = spec.key](const QString& text) {
            if (!loading_) session_->setValue(key, text.toStdString());
        });
        editor = combo;
        break;
    }
    default: {
        auto* edit = new QLineEdit;
        edit->setPlaceholderText(tr("default %1").arg(plainValue(spec.defaultValue)));
        connect(edit, &QLineEdit::textEdited, this, [this, &spec](const QString& text) { onTextEdited(spec, text); });
        editor = edit;
        break;
    }
    }
    editor->setObjectName(QString::fromStdString(spec.key));
    editor->setToolTip(tip);
    editors_[spec.key] = editor;
    return editor;
}

void SettingsPage::onTextEdited(const SettingSpec& spec, const QString& text) {
    if (loading_) return;
    nlohmann::json value;
    const QString trimmed = text.trimmed();
    bool ok = true;
    if (spec.kind == SettingKind::Integer) {
        value = trimmed.toLongLong(&ok);
        if (!ok) {
            // 1e6 style integers are fine as long as they are whole.
            const double d = trimmed.toDouble(&ok);
            ok = ok && d == static_cast<double>(static_cast<int64_t>(d));
            value = static_cast<int64_t>(d);
        }
    } else if (spec.kind == SettingKind::Number) {
        value = trimmed.toDouble(&ok);
    } else {
        value = trimmed.toStdString();
    }
    if (!ok) {
        reject(spec.key, spec.kind == SettingKind::Integer ? tr("expected a whole number") : tr("expected a number"));
        return;
    }
    if (const auto problem = checkSetting(spec, value)) {
        reject(spec.key, QString::fromStdString(*problem));
        return;
    }
    reject(spec.key, {});
    loading_ = true;  // the edit is the field's own: do not rewrite the text being typed
    session_->setValue(spec.key, value);
    loading_ = false;
}

void SettingsPage::reject(const std::string& key, const QString& message) {
    session_->setRejectedEdit(key, message);
    showError(key, message);
}

void SettingsPage::showError(const std::string& key, const QString& message) {
    QLabel* label = errors_.at(key);
    label->setText(message);
    label->setVisible(!message.isEmpty());
    editors_.at(key)->setStyleSheet(message.isEmpty() ? "" : "QLineEdit { border: 1px solid #c0392b; }");
}

QWidget* SettingsPage::editor(const std::string& key) const {
    const auto it = editors_.find(key);
    return it == editors_.end() ? nullptr : it->second;
}

QString SettingsPage::errorText(const std::string& key) const {
    const auto it = errors_.find(key);
    return it == errors_.end() ? QString() : it->second->text();
}

void SettingsPage::reloadFields() {
    if (!session_->hasProject()) return;
    loading_ = true;
    for (const auto& [key, editor] : editors_) {
        const nlohmann::json value = session_->project().get(key);
        if (auto* box = qobject_cast<QCheckBox*>(editor)) box->setChecked(value.is_boolean() && value.get<bool>());
        else if (auto* combo = qobject_cast<QComboBox*>(editor)) combo->setCurrentText(plainValue(value));
        else if (auto* edit = qobject_cast<QLineEdit*>(editor)) {
            // A refused value being typed stays, with its error, until it is corrected; otherwise
            // the field shows the project's value again and the refusal is over.
            if (edit->hasFocus() && session_->hasRejectedEdit(key)) continue;
            edit->setText(value.is_null() ? QString() : plainValue(value));
            session_->setRejectedEdit(key, {});
        }
        // What the project file holds may itself be wrong (a hand-edited "fast", a -5): its
        // problem shows at its field, as a typed one does.
        showError(key, session_->problemsFor(QString::fromStdString(key)).join("\n"));
    }
    loading_ = false;
}

}  // namespace hy3::ui
