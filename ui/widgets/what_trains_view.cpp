#include "widgets/what_trains_view.h"

#include "api/common.h"
#include "number_text.h"
#include "project_session.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

namespace hy3::ui {

WhatTrainsView::WhatTrainsView(ProjectSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    // The boxes on one line, what they add up to on the next: on one line together they made the
    // page wider than a 1200-pixel window.
    auto* rows = new QVBoxLayout(this);
    rows->setContentsMargins(0, 0, 0, 0);
    auto* layout = new QHBoxLayout;
    rows->addLayout(layout);
    const std::pair<const char*, QString> groups[] = {{"embeddings", tr("embeddings")}, {"attention", tr("attention")},
                                                      {"router", tr("router")},         {"shared_expert", tr("shared expert")},
                                                      {"experts", tr("routed experts")}, {"lm_head", tr("LM head")}};
    for (const auto& [key, label] : groups) {
        auto* box = new QCheckBox(label);
        box->setObjectName(QString("trains_") + key);
        box->setToolTip(tr("unchecked: training.freeze.%1 = true").arg(key));
        layout->addWidget(box);
        boxes_.emplace_back(key, box);
        connect(box, &QCheckBox::toggled, this, [this, key = std::string(key)](bool trains) {
            if (loading_) return;
            session_->setValue("training.freeze." + key, !trains);
            updateCount();
        });
    }
    countLabel_ = new QLabel;
    countLabel_->setObjectName("trainableLabel");
    loraLabel_ = new QLabel;
    loraLabel_->setObjectName("loraLabel");
    loraLabel_->setWordWrap(true);
    layout->addWidget(loraLabel_, 1);
    layout->addStretch();
    countLabel_->setWordWrap(true);
    rows->addWidget(countLabel_);
    // The method and the adapters are set on the Settings page; follow them.
    connect(session_, &ProjectSession::changed, this, [this] {
        if (!loading_) reload();
    });
}

QString loraCoverageText(const LoraSpec& spec, std::optional<int64_t> experts) {
    QStringList groups, targets;
    if (spec.attention) groups << QObject::tr("attention");
    if (spec.dense_mlp) groups << QObject::tr("the dense MLP");
    if (spec.shared_expert) groups << QObject::tr("the shared expert");
    if (spec.routed_experts)
        groups << (experts ? QObject::tr("all %1 routed experts of every MoE layer").arg(*experts) : QObject::tr("the routed experts"));
    for (const std::string& t : spec.targets) targets << QString::fromStdString(t);
    return QObject::tr("<b>LoRA</b> rank %1 (%2) on %3; the base is frozen%4")
        .arg(spec.rank)
        .arg(targets.join(", "), groups.join(", "), spec.train_router ? QObject::tr(", the router trains fully") : QString());
}

bool WhatTrainsView::isLora() const {
    return session_->hasProject() && session_->project().isLora();
}

QString WhatTrainsView::loraText() const { return loraLabel_->isVisible() ? loraLabel_->text() : QString(); }

void WhatTrainsView::reload() {
    if (!session_->hasProject()) return;
    loading_ = true;
    for (const auto& [key, box] : boxes_) {
        const auto frozen = session_->project().get("training.freeze." + key.toStdString());
        box->setChecked(!(frozen.is_boolean() && frozen.get<bool>()));
    }
    const bool lora = isLora();
    for (const auto& [key, box] : boxes_) box->setVisible(!lora);  // a LoRA base is frozen whatever they say
    loraLabel_->setVisible(lora);
    loading_ = false;
    updateCount();
}

void WhatTrainsView::setModel(std::optional<ParameterCount> parameters, std::optional<ModelConfig> config) {
    parameters_ = std::move(parameters);
    config_ = std::move(config);
    updateCount();
}

QCheckBox* WhatTrainsView::trainsBox(const QString& freezeKey) const {
    for (const auto& [key, box] : boxes_)
        if (key == freezeKey) return box;
    return nullptr;
}

int64_t WhatTrainsView::trainableCount() const {
    if (!parameters_) return 0;
    if (isLora()) {
        if (!config_) return 0;
        const LoraSpec spec = session_->project().loraSpec();
        int64_t router = 0;
        for (const ParameterRow& row : parameters_->rows)
            if (row.kind == Component::Router) router = row.total;
        return loraParameterCount(*config_, spec) + (spec.train_router ? router : 0);
    }
    auto frozen = [this](const char* key) { return !trainsBox(key)->isChecked(); };
    FreezeSettings freeze;
    freeze.embeddings = frozen("embeddings");
    freeze.attention = frozen("attention");
    freeze.router = frozen("router");
    freeze.shared_expert = frozen("shared_expert");
    freeze.experts = frozen("experts");
    freeze.lm_head = frozen("lm_head");
    return trainableParameters(*parameters_, freeze);
}

void WhatTrainsView::updateCount() {
    if (!parameters_) {
        countLabel_->clear();
        loraLabel_->clear();
        return;
    }
    if (isLora()) {
        const LoraSpec spec = session_->project().loraSpec();
        loraLabel_->setText(loraCoverageText(spec, config_ ? std::optional<int64_t>(config_->num_experts) : std::nullopt) + ".");
        countLabel_->setText(tr("<b>%1</b> adapter parameters train, the base's %2 stay fixed")
                                 .arg(groupedNumber(trainableCount()), groupedNumber(parameters_->total)));
        return;
    }
    const int64_t trainable = trainableCount(), total = parameters_->total;
    countLabel_->setText(tr("<b>%1</b> of %2 parameters train (%3)")
                             .arg(groupedNumber(trainable), groupedNumber(total))
                             .arg(total > 0 ? QString::number(100.0 * static_cast<double>(trainable) / static_cast<double>(total), 'f', 1) + "%"
                                            : QString("-")));
}

}  // namespace hy3::ui
