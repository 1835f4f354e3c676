#include "pages/project_page.h"

#include "field_error_label.h"
#include "dataset_editor.h"
#include "project_session.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace hy3::ui {
namespace {

// Keys this page (or the Model page) shows next to a field; other problems are listed at the bottom.
const QStringList kKeysWithFields = {"name", "model", "datasets", "chat_template", "output_dir"};

QWidget* withError(QWidget* field, const QString& key, ProjectSession* session) {
    auto* box = new QWidget;
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(field);
    layout->addWidget(new FieldErrorLabel(key, session));
    return box;
}

QWidget* row(std::initializer_list<QWidget*> widgets) {
    auto* box = new QWidget;
    auto* layout = new QHBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    for (QWidget* w : widgets) layout->addWidget(w);
    return box;
}

}  // namespace

ProjectPage::ProjectPage(ProjectSession* session, QWidget* parent)
    : QWidget(parent), session_(session) {
    nameEdit_ = new QLineEdit;
    nameEdit_->setObjectName("nameEdit");
    fileLabel_ = new QLabel;
    fileLabel_->setObjectName("fileLabel");
    fileLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    modelLabel_ = new QLabel;
    modelLabel_->setObjectName("modelLabel");
    auto* modelButton = new QPushButton(tr("Choose on the Model page"));
    connect(modelButton, &QPushButton::clicked, this, &ProjectPage::showModelPageRequested);

    datasets_ = new DatasetEditor(session_);

    templateCombo_ = new QComboBox;
    templateCombo_->setObjectName("templateCombo");
    templateCombo_->addItem(tr("auto: the model's template, else the built-in Hy3 format"), "auto");
    templateCombo_->addItem(tr("hy3: built-in Hy3 format"), "hy3");
    templateCombo_->addItem(tr("Jinja file…"), "file");
    templatePathEdit_ = new QLineEdit;
    templatePathEdit_->setObjectName("templatePathEdit");
    templatePathEdit_->setPlaceholderText(tr("path to a .jinja chat template"));
    templateBrowseButton_ = new QPushButton(tr("Browse…"));
    connect(templateCombo_, &QComboBox::currentIndexChanged, this, &ProjectPage::onTemplateChoiceChanged);
    connect(templatePathEdit_, &QLineEdit::textEdited, this, &ProjectPage::onTemplatePathEdited);
    connect(templateBrowseButton_, &QPushButton::clicked, this, &ProjectPage::onBrowseTemplateClicked);

    outputDirEdit_ = new QLineEdit;
    outputDirEdit_->setObjectName("outputDirEdit");
    auto* outputBrowse = new QPushButton(tr("Browse…"));
    connect(outputBrowse, &QPushButton::clicked, this, &ProjectPage::onBrowseOutputClicked);

    otherProblems_ = new QLabel;
    otherProblems_->setObjectName("otherProblems");
    otherProblems_->setWordWrap(true);
    otherProblems_->setStyleSheet("color: #c0392b;");
    otherProblems_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // Its own full-width box below the form: a wrapping label in a form row got the row's height
    // for one line and cut the rest.
    otherProblems_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Minimum);
    auto* otherBox = new QGroupBox(tr("Other problems"));
    otherBox->setObjectName("otherProblemsBox");
    (new QVBoxLayout(otherBox))->addWidget(otherProblems_);

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    form->addRow(tr("Name"), withError(nameEdit_, "name", session_));
    form->addRow(tr("Project file"), fileLabel_);
    form->addRow(tr("Model"), withError(row({modelLabel_, modelButton}), "model", session_));
    form->addRow(tr("Datasets"), withError(datasets_, "datasets", session_));
    form->addRow(tr("Chat template"),
                 withError(row({templateCombo_, templatePathEdit_, templateBrowseButton_}), "chat_template", session_));
    form->addRow(tr("Output folder"), withError(row({outputDirEdit_, outputBrowse}), "output_dir", session_));

    auto* title = new QLabel(tr("<h2>Project</h2><p>What to train on, and where runs and checkpoints go. "
                                "Paths are stored relative to the project file.</p>"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(title);
    layout->addLayout(form);
    layout->addWidget(otherBox);
    layout->addStretch();

    connect(nameEdit_, &QLineEdit::textEdited, this, &ProjectPage::onNameEdited);
    connect(outputDirEdit_, &QLineEdit::textEdited, this, &ProjectPage::onOutputDirEdited);
    connect(session_, &ProjectSession::projectReplaced, this, &ProjectPage::reloadFields);
    connect(session_, &ProjectSession::fileChanged, this, &ProjectPage::reloadFields);
    connect(session_, &ProjectSession::changed, this, &ProjectPage::refreshDerived);
    reloadFields();
}

void ProjectPage::reloadFields() {
    if (!session_->hasProject()) return;
    loading_ = true;
    const ProjectFile& p = session_->project();
    const auto name = p.get("name");
    nameEdit_->setText(name.is_string() ? QString::fromStdString(name.get<std::string>()) : QString());
    const auto output = p.get("output_dir");
    outputDirEdit_->setText(output.is_string() ? QString::fromStdString(output.get<std::string>()) : QString());
    const auto templ = p.get("chat_template");
    const QString value = templ.is_string() ? QString::fromStdString(templ.get<std::string>()) : "auto";
    const int keyword = templateCombo_->findData(value);
    templateCombo_->setCurrentIndex(keyword >= 0 ? keyword : templateCombo_->findData("file"));
    templatePathEdit_->setText(keyword >= 0 ? QString() : value);
    loading_ = false;
    refreshDerived();
}

void ProjectPage::refreshDerived() {
    if (!session_->hasProject()) return;
    fileLabel_->setText(session_->filePath() + (session_->isUntitled() ? tr(" (not saved yet)") : QString()));
    const auto model = session_->project().get("model");
    if (model.is_object() && model.contains("preset") && model["preset"].is_string())
        modelLabel_->setText(tr("preset %1").arg(QString::fromStdString(model["preset"].get<std::string>())));
    else if (model.is_object() && model.contains("path") && model["path"].is_string())
        modelLabel_->setText(tr("directory %1").arg(QString::fromStdString(model["path"].get<std::string>())));
    else
        modelLabel_->setText(tr("none chosen"));
    const bool usesFile = templateCombo_->currentData().toString() == "file";
    templatePathEdit_->setEnabled(usesFile);
    templateBrowseButton_->setEnabled(usesFile);
    const QString other = otherProblemsText();
    otherProblems_->setText(other.isEmpty() ? tr("none") : other);
    otherProblems_->setStyleSheet(other.isEmpty() ? "" : "color: #c0392b;");
}

QString ProjectPage::otherProblemsText() const {
    QStringList lines;
    for (const FieldError& e : session_->problems()) {
        const QString key = QString::fromStdString(e.key);
        bool shown = false;
        for (const QString& k : kKeysWithFields)
            shown = shown || key == k || key.startsWith(k + ".") || key.startsWith(k + "[");
        if (!shown) lines << key + ": " + QString::fromStdString(e.message);
    }
    return lines.join("\n");
}

void ProjectPage::addDatasetPaths(const QStringList& paths) { datasets_->addPaths(paths); }

void ProjectPage::onNameEdited(const QString& text) {
    if (!loading_) session_->setValue("name", text.toStdString());
}

void ProjectPage::onOutputDirEdited(const QString& text) {
    if (!loading_) session_->setValue("output_dir", text.toStdString());
}

void ProjectPage::onTemplateChoiceChanged(int) {
    if (loading_) return;
    const QString choice = templateCombo_->currentData().toString();
    if (choice == "file") {
        if (!templatePathEdit_->text().isEmpty()) session_->setValue("chat_template", templatePathEdit_->text().toStdString());
        else session_->setValue("chat_template", "");  // shows "template file not found" until one is chosen
    } else {
        session_->setValue("chat_template", choice.toStdString());
    }
    refreshDerived();
}

void ProjectPage::onTemplatePathEdited(const QString& text) {
    if (!loading_) session_->setValue("chat_template", text.toStdString());
}

void ProjectPage::onBrowseOutputClicked() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Output folder for runs and checkpoints"));
    if (dir.isEmpty()) return;
    session_->setPath("output_dir", dir);
    reloadFields();
}

void ProjectPage::onBrowseTemplateClicked() {
    const QString file = QFileDialog::getOpenFileName(this, tr("Chat template"), QString(),
                                                      tr("Jinja templates (*.jinja *.j2);;All files (*)"));
    if (file.isEmpty()) return;
    session_->setPath("chat_template", file);
    reloadFields();
}

}  // namespace hy3::ui
