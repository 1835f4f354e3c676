#pragma once
// The Model page: choose a preset or an HF model directory and see what `hy3 model-info` shows
// (architecture, layer plan, parameters per component, FLOPs per token). The config is read on a
// worker thread.
#include "api/model_report.h"

#include <QFutureWatcher>
#include <QWidget>

#include <optional>

class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QRadioButton;
class QSpinBox;
class QTableView;

namespace hy3::ui {

class ParameterTableModel;
class ProjectSession;
class WhatTrainsView;

struct DescribeResult {
    std::optional<api::ModelReport> report;
    api::ModelFiles files;
    QString error;
};

class ModelPage : public QWidget {
    Q_OBJECT
public:
    explicit ModelPage(ProjectSession* session, QWidget* parent = nullptr);
    ~ModelPage() override;

    // The report on screen, once the worker has finished (tests wait on describeFinished()).
    const std::optional<api::ModelReport>& report() const { return report_; }
    // True from a request until its result is on screen.
    bool isBusy() const { return pending_; }

    // Parameters that train under the project's freeze settings (the live count shown).
    int64_t trainableCount() const;
    // The checkbox of a freeze setting ("experts", "lm_head", ...): checked = trains.
    QCheckBox* trainsBox(const QString& freezeKey) const;

    // What the Browse button does after its dialog; public so tests can drive it.
    void chooseDirectory(const QString& directory);
    // model.tokenizer: a tokenizer folder for a model that has none of its own ("" for the model's).
    void chooseTokenizer(const QString& directory);

signals:
    void describeFinished();

private slots:
    void reloadFromProject();
    void onPresetRadioToggled(bool checked);
    void onPresetChosen(int index);
    void onDirectoryEdited();
    void onBrowseClicked();
    void onTokenizerEdited();
    void onSeqLenChanged(int value);
    void onDescribeDone();

private:
    void describeCurrent();
    void showReport(const api::ModelReport& report);
    void showError(const QString& error);
    void showFiles(const api::ModelFiles& files);
    QString currentSource() const;

    ProjectSession* session_;
    QRadioButton* presetRadio_;
    QRadioButton* directoryRadio_;
    QComboBox* presetCombo_;
    QLineEdit* directoryEdit_;
    QLineEdit* tokenizerEdit_;
    QSpinBox* seqLenSpin_;
    QLabel* statusLabel_;
    QFormLayout* architecture_;
    ParameterTableModel* parameters_;
    QTableView* parameterTable_;
    QLabel* totalsLabel_;
    QLabel* flopsLabel_;
    QLabel* filesLabel_;
    WhatTrainsView* whatTrains_;
    QFutureWatcher<DescribeResult> watcher_;
    std::optional<api::ModelReport> report_;
    bool loading_ = false;
    bool pending_ = false;
    QString describedModel_;  // session's modelKey() of the request in flight
};

}  // namespace hy3::ui
