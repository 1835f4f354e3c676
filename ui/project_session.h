#pragma once
// The open project, shared by every page: the hy3::ProjectFile document, whether it has unsaved
// changes, and its validation problems. Pages edit it through this object and listen to its signals.
#include "api/project_api.h"

#include <QObject>
#include <QString>

#include <map>
#include <optional>
#include <vector>

namespace hy3::ui {

class ProjectSession : public QObject {
    Q_OBJECT
public:
    explicit ProjectSession(QObject* parent = nullptr);

    bool hasProject() const { return project_.has_value(); }
    const ProjectFile& project() const { return *project_; }
    QString filePath() const;
    QString displayName() const;
    bool isDirty() const { return dirty_; }
    bool isUntitled() const { return untitled_; }
    const std::vector<FieldError>& problems() const { return problems_; }
    // The project's model as the engine takes it: a preset name or an absolute directory ("" if unset).
    QString modelSource() const;
    // The model.tokenizer folder the project sets, absolute ("" when it sets none).
    QString tokenizerDirectory() const;
    // Problems whose key is `key` or lies below it ("datasets" covers "datasets[0].path").
    QStringList problemsFor(const QString& key) const;
    // A setting's value when the project's is valid, else the setting's default: pages that
    // compute from settings (the planner, the preview) go on while a hand-edited file holds
    // "fast" or -5, whose problems the Project and Training pages show.
    nlohmann::json settingValue(const std::string& key) const;
    // The model's own problems (a truncated shard, no tokenizer), as the Model page or Start last
    // found them for the model the project names; with problems(), the one list the status bar
    // and Start go by.
    QStringList modelProblems() const { return modelProblemsFor_ == modelKey() ? modelProblems_ : QStringList(); }
    // `forModel`: modelKey() when the check began (a result for a model since replaced is dropped).
    void setModelProblems(const QString& forModel, const QStringList& problems);
    // The model source and tokenizer folder the project names, as one string.
    QString modelKey() const;
    // Every problem, one line each: the fields' ("key: message"), the edits a page refused, then
    // the model's.
    QStringList allProblems() const;
    // An edit a page could not apply (the text "abc" typed for a number): the project keeps its
    // value, and until the field is corrected the edit counts as a problem, so Start refuses and
    // the status bar does not say "valid". An empty message clears it.
    void setRejectedEdit(const std::string& key, const QString& message);
    QStringList rejectedEdits() const;
    bool hasRejectedEdit(const std::string& key) const { return rejectedEdits_.count(key) > 0; }

    // Replace the open project. open() returns false and sets `error` when the file cannot be read.
    void newProject(const QString& directory);
    bool open(const QString& path, QString* error);
    bool save(QString* error);
    bool saveAs(const QString& path, QString* error);

    // Edits (each marks the project modified, revalidates and emits changed()).
    void setValue(const std::string& key, const nlohmann::json& value);
    void setPath(const std::string& key, const QString& absolutePath);
    void setModelPreset(const QString& preset);
    void setModelDirectory(const QString& directory);
    // model.tokenizer: a tokenizer folder, stored relative to the project; "" removes the key, so
    // the model's own tokenizer is used again.
    void setTokenizerDirectory(const QString& directory);
    void addDataset(const QString& path, const QString& format, const QString& split);
    void removeDataset(int index);

signals:
    void projectReplaced();      // a different project is open: reload every field
    void changed();              // the document changed
    void dirtyChanged(bool dirty);
    void fileChanged(const QString& path);
    void problemsChanged();      // allProblems() changed

private:
    void afterEdit();
    void forgetRejectedEdits();
    void setDirty(bool dirty);
    void revalidate();

    std::optional<ProjectFile> project_;
    std::vector<FieldError> problems_;
    QStringList modelProblems_;
    std::map<std::string, QString> rejectedEdits_;  // key -> why the typed value was not applied
    QString modelProblemsFor_;
    bool dirty_ = false;
    bool untitled_ = false;
};

}  // namespace hy3::ui
