#include "project_session.h"

#include "api/common.h"

#include <QDir>
#include <QFileInfo>

namespace hy3::ui {

ProjectSession::ProjectSession(QObject* parent) : QObject(parent) {}

QString ProjectSession::filePath() const {
    return project_ ? QString::fromStdString(project_->file().string()) : QString();
}

QString ProjectSession::displayName() const {
    if (!project_) return {};
    const auto name = project_->get("name");
    return name.is_string() && !name.get<std::string>().empty() ? QString::fromStdString(name.get<std::string>())
                                                                  : QFileInfo(filePath()).completeBaseName();
}

QString ProjectSession::modelSource() const {
    if (!project_) return {};
    const auto model = project_->get("model");
    if (model.is_object() && model.contains("path") && model["path"].is_string())
        return QString::fromStdString(project_->absolutePath(model["path"].get<std::string>()).string());
    if (model.is_object() && model.contains("preset") && model["preset"].is_string()) return QString::fromStdString(model["preset"].get<std::string>());
    return {};
}

QString ProjectSession::tokenizerDirectory() const {
    if (!project_) return {};
    const auto tokenizer = project_->get("model.tokenizer");
    return tokenizer.is_string() ? QString::fromStdString(project_->absolutePath(tokenizer.get<std::string>()).string()) : QString();
}

QString ProjectSession::modelKey() const { return project_ ? modelSource() + "\n" + tokenizerDirectory() : QString(); }

void ProjectSession::setModelProblems(const QString& forModel, const QStringList& problems) {
    if (forModel != modelKey()) return;  // the project names another model by now
    if (forModel == modelProblemsFor_ && problems == modelProblems_) return;
    modelProblemsFor_ = forModel;
    modelProblems_ = problems;
    emit problemsChanged();
}

QStringList ProjectSession::allProblems() const {
    QStringList out;
    for (const FieldError& e : problems_) out << QString::fromStdString(e.key + ": " + e.message);
    return out + rejectedEdits() + modelProblems();
}

void ProjectSession::setRejectedEdit(const std::string& key, const QString& message) {
    const auto it = rejectedEdits_.find(key);
    if (message.isEmpty() ? it == rejectedEdits_.end() : it != rejectedEdits_.end() && it->second == message) return;
    if (message.isEmpty()) rejectedEdits_.erase(it);
    else rejectedEdits_[key] = message;
    emit problemsChanged();
}

QStringList ProjectSession::rejectedEdits() const {
    QStringList out;
    for (const auto& [key, message] : rejectedEdits_) {
        const nlohmann::json kept = project_ ? project_->get(key) : nlohmann::json();
        out << QString::fromStdString(key) + ": " + message + tr(" (not applied; the project still has %1)").arg(QString::fromStdString(kept.dump()));
    }
    return out;
}

void ProjectSession::forgetRejectedEdits() { rejectedEdits_.clear(); }

nlohmann::json ProjectSession::settingValue(const std::string& key) const {
    const SettingSpec* spec = findSetting(key);
    if (!project_) return spec ? spec->defaultValue : nlohmann::json();
    return problemsFor(QString::fromStdString(key)).isEmpty() || !spec ? project_->get(key) : spec->defaultValue;
}

QStringList ProjectSession::problemsFor(const QString& key) const {
    QStringList out;
    const std::string k = key.toStdString();
    for (const FieldError& e : problems_) {
        const bool same = e.key == k;
        const bool below = e.key.size() > k.size() && e.key.compare(0, k.size(), k) == 0 &&
                           (e.key[k.size()] == '.' || e.key[k.size()] == '[');
        if (same || below) out << QString::fromStdString(same ? e.message : e.key + ": " + e.message);
    }
    return out;
}

void ProjectSession::newProject(const QString& directory) {
    const QString file = QDir(directory).filePath("Untitled.hy3proj");
    project_ = ProjectFile::createNew(file.toStdString(), "Untitled");
    untitled_ = true;
    forgetRejectedEdits();
    revalidate();
    setDirty(false);
    emit projectReplaced();
    emit fileChanged(filePath());
    emit problemsChanged();
}

bool ProjectSession::open(const QString& path, QString* error) {
    try {
        project_ = ProjectFile::load(path.toStdString());
    } catch (const hy3::Error& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    untitled_ = false;
    forgetRejectedEdits();
    revalidate();
    setDirty(false);
    emit projectReplaced();
    emit fileChanged(filePath());
    emit problemsChanged();
    return true;
}

bool ProjectSession::save(QString* error) {
    if (!project_) return false;
    try {
        project_->save();
    } catch (const hy3::Error& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    untitled_ = false;
    setDirty(false);
    return true;
}

bool ProjectSession::saveAs(const QString& path, QString* error) {
    if (!project_) return false;
    try {
        project_->saveAs(path.toStdString());
    } catch (const hy3::Error& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    untitled_ = false;
    revalidate();  // relative paths now resolve from the new folder
    setDirty(false);
    emit fileChanged(filePath());
    emit changed();
    return true;
}

void ProjectSession::setValue(const std::string& key, const nlohmann::json& value) {
    if (!project_ || project_->get(key) == value) return;
    project_->set(key, value);
    afterEdit();
}

void ProjectSession::setPath(const std::string& key, const QString& absolutePath) {
    if (!project_) return;
    project_->setPath(key, absolutePath.toStdString());
    afterEdit();
}

void ProjectSession::setModelPreset(const QString& preset) {
    if (!project_) return;
    const auto model = project_->get("model");
    if (model.is_object() && model.value("preset", "") == preset.toStdString()) return;
    project_->setModelPreset(preset.toStdString());
    afterEdit();
}

void ProjectSession::setModelDirectory(const QString& directory) {
    if (!project_) return;
    project_->setModelDirectory(directory.toStdString());
    afterEdit();
}

void ProjectSession::setTokenizerDirectory(const QString& directory) {
    if (!project_ || QDir::cleanPath(directory) == QDir::cleanPath(tokenizerDirectory())) return;
    if (directory.isEmpty()) {
        nlohmann::json model = project_->get("model");
        if (!model.is_object() || !model.contains("tokenizer")) return;
        model.erase("tokenizer");
        project_->set("model", model);
    } else {
        project_->setPath("model.tokenizer", directory.toStdString());
    }
    afterEdit();
}

void ProjectSession::addDataset(const QString& path, const QString& format, const QString& split) {
    if (!project_) return;
    project_->addDataset(path.toStdString(), format.toStdString(), split.toStdString());
    afterEdit();
}

void ProjectSession::removeDataset(int index) {
    if (!project_ || index < 0) return;
    project_->removeDataset(static_cast<size_t>(index));
    afterEdit();
}

void ProjectSession::afterEdit() {
    revalidate();
    setDirty(true);
    emit changed();
    emit problemsChanged();
}

void ProjectSession::setDirty(bool dirty) {
    if (dirty_ == dirty) return;
    dirty_ = dirty;
    emit dirtyChanged(dirty_);
}

void ProjectSession::revalidate() { problems_ = project_ ? project_->validate() : std::vector<FieldError>{}; }

}  // namespace hy3::ui
