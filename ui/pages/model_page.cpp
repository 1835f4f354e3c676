#include "pages/model_page.h"

#include "api/common.h"
#include "models/parameter_table_model.h"
#include "number_text.h"
#include "project_session.h"
#include "widgets/what_trains_view.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTableView>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace hy3::ui {
namespace {

DescribeResult describe(const QString& source, const QString& tokenizer, int seqLen) {
    DescribeResult result;
    try {
        result.report = api::describeModel(source.toStdString(), seqLen);
        result.files = api::checkModelFiles(source.toStdString(), tokenizer.toStdString());
    } catch (const std::exception& e) {
        result.error = QString::fromStdString(e.what());
    }
    return result;
}

}  // namespace

ModelPage::ModelPage(ProjectSession* session, QWidget* parent)
    : QWidget(parent), session_(session), parameters_(new ParameterTableModel(this)) {
    presetRadio_ = new QRadioButton(tr("Preset"));
    presetRadio_->setObjectName("presetRadio");
    directoryRadio_ = new QRadioButton(tr("HF model directory"));
    directoryRadio_->setObjectName("directoryRadio");
    presetCombo_ = new QComboBox;
    presetCombo_->setObjectName("presetCombo");
    for (const std::string& name : listPresets()) presetCombo_->addItem(QString::fromStdString(name));
    directoryEdit_ = new QLineEdit;
    directoryEdit_->setObjectName("directoryEdit");
    directoryEdit_->setPlaceholderText(tr("folder with config.json and *.safetensors"));
    auto* browse = new QPushButton(tr("Browse…"));
    seqLenSpin_ = new QSpinBox;
    seqLenSpin_->setObjectName("seqLenSpin");
    seqLenSpin_->setRange(1, 1 << 20);
    seqLenSpin_->setValue(4096);
    seqLenSpin_->setSuffix(tr(" tokens"));

    auto* sourceBox = new QGroupBox(tr("Model"));
    auto* sourceGrid = new QFormLayout(sourceBox);
    sourceGrid->addRow(presetRadio_, presetCombo_);
    auto* dirRow = new QWidget;
    auto* dirLayout = new QHBoxLayout(dirRow);
    dirLayout->setContentsMargins(0, 0, 0, 0);
    dirLayout->addWidget(directoryEdit_);
    dirLayout->addWidget(browse);
    sourceGrid->addRow(directoryRadio_, dirRow);
    // The tokenizer, for a model without its own (a preset with none bundled, a directory without
    // tokenizer.json): empty uses the model's.
    tokenizerEdit_ = new QLineEdit;
    tokenizerEdit_->setObjectName("tokenizerEdit");
    tokenizerEdit_->setPlaceholderText(tr("the model's own (tokenizer.json beside config.json, or the preset's bundled one)"));
    tokenizerEdit_->setToolTip(tr("model.tokenizer: a folder with tokenizer.json (and tokenizer_config.json for its chat template)"));
    auto* browseTokenizer = new QPushButton(tr("Browse…"));
    browseTokenizer->setObjectName("browseTokenizerButton");
    auto* ownTokenizer = new QPushButton(tr("Use the model's"));
    ownTokenizer->setObjectName("ownTokenizerButton");
    auto* tokenizerRow = new QWidget;
    auto* tokenizerLayout = new QHBoxLayout(tokenizerRow);
    tokenizerLayout->setContentsMargins(0, 0, 0, 0);
    tokenizerLayout->addWidget(tokenizerEdit_);
    tokenizerLayout->addWidget(browseTokenizer);
    tokenizerLayout->addWidget(ownTokenizer);
    sourceGrid->addRow(tr("Tokenizer"), tokenizerRow);
    connect(tokenizerEdit_, &QLineEdit::editingFinished, this, &ModelPage::onTokenizerEdited);
    connect(browseTokenizer, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Tokenizer folder (holds tokenizer.json)"), tokenizerEdit_->text());
        if (!dir.isEmpty()) chooseTokenizer(dir);
    });
    connect(ownTokenizer, &QPushButton::clicked, this, [this] { chooseTokenizer(QString()); });
    sourceGrid->addRow(tr("Sequence length for FLOPs"), seqLenSpin_);

    statusLabel_ = new QLabel;
    statusLabel_->setObjectName("statusLabel");
    statusLabel_->setWordWrap(true);

    auto* archBox = new QGroupBox(tr("Architecture"));
    architecture_ = new QFormLayout(archBox);

    parameterTable_ = new QTableView;
    parameterTable_->setObjectName("parameterTable");
    parameterTable_->setModel(parameters_);
    parameterTable_->verticalHeader()->hide();
    parameterTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    parameterTable_->setMinimumHeight(300);
    totalsLabel_ = new QLabel;
    totalsLabel_->setObjectName("totalsLabel");
    totalsLabel_->setWordWrap(true);
    flopsLabel_ = new QLabel;
    flopsLabel_->setObjectName("flopsLabel");
    flopsLabel_->setWordWrap(true);
    auto* paramBox = new QGroupBox(tr("Parameters"));
    auto* paramLayout = new QVBoxLayout(paramBox);
    paramLayout->addWidget(parameterTable_);
    paramLayout->addWidget(totalsLabel_);
    paramLayout->addWidget(flopsLabel_);

    filesLabel_ = new QLabel;
    filesLabel_->setObjectName("filesLabel");
    filesLabel_->setWordWrap(true);
    filesLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* filesBox = new QGroupBox(tr("Tokenizer, chat template and checks"));
    auto* filesLayout = new QVBoxLayout(filesBox);
    filesLayout->addWidget(filesLabel_);

    whatTrains_ = new WhatTrainsView(session_);
    auto* trainBox = new QGroupBox(tr("What trains"));
    (new QHBoxLayout(trainBox))->addWidget(whatTrains_);

    auto* columns = new QHBoxLayout;
    columns->addWidget(archBox, 1);
    columns->addWidget(paramBox, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("<h2>Model</h2><p>A preset trains from scratch; a model directory "
                                    "(HF format) is fine-tuned.</p>")));
    layout->addWidget(sourceBox);
    layout->addWidget(statusLabel_);
    layout->addWidget(filesBox);
    layout->addWidget(trainBox);
    layout->addLayout(columns, 1);

    connect(presetRadio_, &QRadioButton::toggled, this, &ModelPage::onPresetRadioToggled);
    connect(presetCombo_, &QComboBox::currentIndexChanged, this, &ModelPage::onPresetChosen);
    connect(directoryEdit_, &QLineEdit::editingFinished, this, &ModelPage::onDirectoryEdited);
    connect(browse, &QPushButton::clicked, this, &ModelPage::onBrowseClicked);
    connect(seqLenSpin_, &QSpinBox::valueChanged, this, &ModelPage::onSeqLenChanged);
    connect(&watcher_, &QFutureWatcher<DescribeResult>::finished, this, &ModelPage::onDescribeDone);
    connect(session_, &ProjectSession::projectReplaced, this, &ModelPage::reloadFromProject);
    connect(session_, &ProjectSession::fileChanged, this, &ModelPage::reloadFromProject);
    // Another page (or a test) may change the model; follow it.
    connect(session_, &ProjectSession::changed, this, [this] {
        if (!loading_ && QDir::cleanPath(session_->modelSource()) != QDir::cleanPath(currentSource())) reloadFromProject();
    });
    reloadFromProject();
}

ModelPage::~ModelPage() { watcher_.waitForFinished(); }  // no worker outlives the window

void ModelPage::reloadFromProject() {
    if (!session_->hasProject()) return;
    loading_ = true;
    const auto model = session_->project().get("model");
    if (model.is_object() && model.contains("path") && model["path"].is_string()) {
        directoryRadio_->setChecked(true);
        directoryEdit_->setText(
            QString::fromStdString(session_->project().absolutePath(model["path"].get<std::string>()).string()));
    } else {
        presetRadio_->setChecked(true);
        if (model.is_object() && model.contains("preset") && model["preset"].is_string())
            presetCombo_->setCurrentText(QString::fromStdString(model["preset"].get<std::string>()));
    }
    presetCombo_->setEnabled(presetRadio_->isChecked());
    directoryEdit_->setEnabled(directoryRadio_->isChecked());
    tokenizerEdit_->setText(session_->tokenizerDirectory());
    // FLOPs at the length the project trains at (the user may still try others here).
    const auto seqLen = session_->project().get("training.seq_len");
    if (seqLen.is_number_integer() && seqLen.get<int64_t>() >= 1 && seqLen.get<int64_t>() <= seqLenSpin_->maximum()) {
        const QSignalBlocker quiet(seqLenSpin_);  // one describe below, not two
        seqLenSpin_->setValue(static_cast<int>(seqLen.get<int64_t>()));
    }
    loading_ = false;
    whatTrains_->reload();
    describeCurrent();
}

QString ModelPage::currentSource() const {
    return presetRadio_->isChecked() ? presetCombo_->currentText() : directoryEdit_->text().trimmed();
}

void ModelPage::onPresetRadioToggled(bool checked) {
    presetCombo_->setEnabled(checked);
    directoryEdit_->setEnabled(!checked);
    if (loading_) return;
    if (checked) onPresetChosen(presetCombo_->currentIndex());
    else if (!directoryEdit_->text().trimmed().isEmpty()) onDirectoryEdited();
}

void ModelPage::onPresetChosen(int) {
    if (loading_ || !presetRadio_->isChecked()) return;
    session_->setModelPreset(presetCombo_->currentText());
    describeCurrent();
}

void ModelPage::onDirectoryEdited() {
    if (loading_ || !directoryRadio_->isChecked()) return;
    const QString dir = directoryEdit_->text().trimmed();
    if (dir.isEmpty()) return;
    session_->setModelDirectory(dir);
    describeCurrent();
}

void ModelPage::chooseDirectory(const QString& directory) {
    directoryRadio_->setChecked(true);
    directoryEdit_->setText(directory);
    onDirectoryEdited();
}

void ModelPage::chooseTokenizer(const QString& directory) {
    tokenizerEdit_->setText(directory);
    onTokenizerEdited();
}

void ModelPage::onTokenizerEdited() {
    if (loading_) return;
    const QString dir = tokenizerEdit_->text().trimmed();
    if (QDir::cleanPath(dir) == QDir::cleanPath(session_->tokenizerDirectory())) return;
    session_->setTokenizerDirectory(dir.isEmpty() ? QString() : QFileInfo(dir).absoluteFilePath());
    describeCurrent();
}

void ModelPage::onBrowseClicked() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("HF model directory"), directoryEdit_->text());
    if (!dir.isEmpty()) chooseDirectory(dir);
}

void ModelPage::onSeqLenChanged(int) { describeCurrent(); }

void ModelPage::describeCurrent() {
    const QString source = currentSource();
    if (source.isEmpty()) return;
    statusLabel_->setText(tr("Reading %1…").arg(source));
    statusLabel_->setStyleSheet("");
    // Replacing the watched future drops the result of a request still running.
    pending_ = true;
    describedModel_ = session_->modelKey();
    watcher_.setFuture(QtConcurrent::run(describe, source, session_->tokenizerDirectory(), seqLenSpin_->value()));
}

void ModelPage::onDescribeDone() {
    const DescribeResult result = watcher_.result();
    pending_ = false;
    QStringList problems;
    if (result.report) {
        showReport(*result.report);
        showFiles(result.files);
        for (const std::string& p : result.files.problems) problems << QString::fromStdString(p);
    } else {
        showError(result.error);
        problems << result.error;
    }
    // The status bar and Start go by the same list the page shows.
    session_->setModelProblems(describedModel_, problems);
    emit describeFinished();
}

void ModelPage::showReport(const api::ModelReport& r) {
    report_ = r;
    statusLabel_->setText(tr("Config: %1").arg(QString::fromStdString(r.config_path)));
    while (architecture_->rowCount() > 0) architecture_->removeRow(0);
    for (const auto& [name, value] : r.architecture) {
        auto* label = new QLabel(QString::fromStdString(value));
        label->setWordWrap(true);
        architecture_->addRow(QString::fromStdString(name), label);
    }
    parameters_->setCount(r.parameters);
    QString totals = tr("<b>%1</b> parameters (%2), <b>%3</b> active per token (%4)")
                         .arg(groupedNumber(r.parameters.total),
                              QString::fromStdString(shortCount(static_cast<double>(r.parameters.total))),
                              groupedNumber(r.parameters.active),
                              QString::fromStdString(shortCount(static_cast<double>(r.parameters.active))));
    if (r.parameters.mtp > 0)
        totals += tr("<br>MTP block on disk, not trained: %1").arg(groupedNumber(r.parameters.mtp));
    totalsLabel_->setText(totals);
    flopsLabel_->setText(tr("Training FLOPs per token at %1 tokens: <b>%2</b> (3x forward, causal attention halved)")
                             .arg(r.seq_len)
                             .arg(QString::fromStdString(siUnits(r.training_flops_per_token, "FLOP"))));
    whatTrains_->setModel(r.parameters, r.config);
}

void ModelPage::showError(const QString& error) {
    report_.reset();
    statusLabel_->setText(error);
    statusLabel_->setStyleSheet("color: #c0392b;");
    while (architecture_->rowCount() > 0) architecture_->removeRow(0);
    parameters_->clear();
    totalsLabel_->clear();
    flopsLabel_->clear();
    filesLabel_->clear();
    whatTrains_->setModel(std::nullopt, std::nullopt);
}

void ModelPage::showFiles(const api::ModelFiles& files) {
    QString text = tr("Tokenizer: %1").arg(files.tokenizer.empty() ? tr("<b>none found</b>") : QString::fromStdString(files.tokenizer).toHtmlEscaped());
    if (!files.chatTemplate.empty()) text += tr("<br>Chat template: %1").arg(QString::fromStdString(files.chatTemplate).toHtmlEscaped());
    if (files.problems.empty()) {
        text += report_ && !report_->is_preset ? tr("<br><span style='color:#27ae60'>hy3 checkpoint verify: no problems</span>")
                                               : tr("<br>A preset: the weights are initialised from training.seed.");
    } else {
        text += tr("<br><span style='color:#c0392b'>%n problem(s):", nullptr, static_cast<int>(files.problems.size()));
        for (size_t i = 0; i < files.problems.size() && i < 20; ++i) text += "<br>• " + QString::fromStdString(files.problems[i]).toHtmlEscaped();
        text += "</span>";
    }
    filesLabel_->setText(text);
}

int64_t ModelPage::trainableCount() const { return whatTrains_->trainableCount(); }

QCheckBox* ModelPage::trainsBox(const QString& freezeKey) const { return whatTrains_->trainsBox(freezeKey); }

}  // namespace hy3::ui
