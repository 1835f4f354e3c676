#include "widgets/what_trains_view.h"

#include "api/common.h"
#include "number_text.h"
#include "project_session.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>

namespace hy3::ui {

WhatTrainsView::WhatTrainsView(ProjectSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
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
    layout->addStretch();
    layout->addWidget(countLabel_);
}

void WhatTrainsView::reload() {
    loading_ = true;
    for (const auto& [key, box] : boxes_) {
        const auto frozen = session_->project().get("training.freeze." + key.toStdString());
        box->setChecked(!(frozen.is_boolean() && frozen.get<bool>()));
    }
    loading_ = false;
    updateCount();
}

void WhatTrainsView::setParameters(std::optional<ParameterCount> parameters) {
    parameters_ = std::move(parameters);
    updateCount();
}

QCheckBox* WhatTrainsView::trainsBox(const QString& freezeKey) const {
    for (const auto& [key, box] : boxes_)
        if (key == freezeKey) return box;
    return nullptr;
}

int64_t WhatTrainsView::trainableCount() const {
    if (!parameters_) return 0;
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
        return;
    }
    const int64_t trainable = trainableCount(), total = parameters_->total;
    countLabel_->setText(tr("<b>%1</b> of %2 parameters train (%3)")
                             .arg(groupedNumber(trainable), groupedNumber(total))
                             .arg(total > 0 ? QString::number(100.0 * static_cast<double>(trainable) / static_cast<double>(total), 'f', 1) + "%"
                                            : QString("-")));
}

}  // namespace hy3::ui
