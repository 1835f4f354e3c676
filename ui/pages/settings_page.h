#pragma once
// The Training page: every training, data and distributed setting of the project, generated from
// the engine's settings table (engine/config/settings_schema.cpp): the basics first, the rest in
// collapsible groups. Each field is checked as it is typed; a valid value goes into the project at
// once, an invalid one shows the reason under the field and leaves the project as it was. The
// layout and freeze settings live on the Layout and Model pages.
#include <QWidget>

#include <map>
#include <string>

class QLabel;

namespace hy3 {
struct SettingSpec;
}

namespace hy3::ui {

class ProjectSession;

class SettingsPage : public QWidget {
    Q_OBJECT
public:
    explicit SettingsPage(ProjectSession* session, QWidget* parent = nullptr);

    // The editor of a setting ("training.learning_rate"); its object name is the key.
    QWidget* editor(const std::string& key) const;
    QString errorText(const std::string& key) const;

private slots:
    void reloadFields();

private:
    QWidget* buildEditor(const SettingSpec& spec);
    void onTextEdited(const SettingSpec& spec, const QString& text);
    // A typed value refused (or accepted again: empty message): the session counts it, the field shows it.
    void reject(const std::string& key, const QString& message);
    void showError(const std::string& key, const QString& message);

    ProjectSession* session_;
    std::map<std::string, QWidget*> editors_;
    std::map<std::string, QLabel*> errors_;
    bool loading_ = false;
};

}  // namespace hy3::ui
