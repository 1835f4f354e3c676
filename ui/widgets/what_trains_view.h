#pragma once
// "What trains": one checkbox per freeze setting (training.freeze.*; norms and the dense MLP always
// train), written to the project as they are clicked, and the live count of parameters that train.
// With training.method lora the base is frozen: the boxes step aside and the view says which
// modules get adapters, of which groups, and how many adapter parameters train.
#include "api/model_report.h"
#include "api/project_api.h"

#include <QString>
#include <QWidget>

#include <optional>
#include <utility>
#include <vector>

class QCheckBox;
class QLabel;

namespace hy3::ui {

class ProjectSession;

// "<b>LoRA</b> rank 16 (q_proj, ...) on attention, ..., all 192 routed experts of every MoE layer;
// the base is frozen" (`experts`: the model's routed experts per layer, when known). The Model and
// Train pages say it before a launch.
QString loraCoverageText(const LoraSpec& spec, std::optional<int64_t> experts);

class WhatTrainsView : public QWidget {
    Q_OBJECT
public:
    explicit WhatTrainsView(ProjectSession* session, QWidget* parent = nullptr);

    // The boxes follow the project's freeze settings.
    void reload();
    // The model's counts and config the label reads; none clears it.
    void setModel(std::optional<ParameterCount> parameters, std::optional<ModelConfig> config);
    // The LoRA line ("LoRA rank 16 on attention, ...: 372,224 adapter parameters train"), or empty.
    QString loraText() const;

    // Parameters that train under the boxes' settings (the live count shown); 0 without counts.
    int64_t trainableCount() const;
    // The checkbox of a freeze setting ("experts", "lm_head", ...): checked = trains.
    QCheckBox* trainsBox(const QString& freezeKey) const;

private:
    void updateCount();
    bool isLora() const;

    ProjectSession* session_;
    QLabel* countLabel_;
    std::vector<std::pair<QString, QCheckBox*>> boxes_;  // freeze key -> checkbox
    std::optional<ParameterCount> parameters_;
    std::optional<ModelConfig> config_;
    QLabel* loraLabel_;
    bool loading_ = false;  // boxes follow the project without writing it back
};

}  // namespace hy3::ui
