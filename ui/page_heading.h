#pragma once
// The title and one-paragraph explanation at the top of a workbench page.
#include <QLabel>
#include <QString>

namespace hy3::ui {

// A rich-text label that wraps to the page's width (so it never widens the page).
inline QLabel* pageHeading(const QString& html) {
    auto* label = new QLabel(html);
    label->setWordWrap(true);
    return label;
}

}  // namespace hy3::ui
