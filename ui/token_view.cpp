#include "token_view.h"

#include <QEvent>
#include <QFontMetrics>
#include <QHelpEvent>
#include <QPainter>
#include <QToolTip>

namespace hy3::ui {
namespace {
constexpr int kPadX = 3, kPadY = 2, kGap = 2, kMargin = 4;
}

TokenView::TokenView(QWidget* parent) : QWidget(parent) {
    setObjectName("tokenView");
    setMouseTracking(true);
    QSizePolicy policy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    policy.setHeightForWidth(true);
    setSizePolicy(policy);
}

void TokenView::setTokens(std::vector<TokenViewItem> tokens, int cutFrom) {
    tokens_ = std::move(tokens);
    cutFrom_ = cutFrom;
    layoutTokens(width(), &rects_);
    updateGeometry();
    update();
}

QColor TokenView::background(int i) const {
    if (cutFrom_ >= 0 && i >= cutFrom_) return cutColor();
    return tokens_[static_cast<size_t>(i)].inLoss ? lossColor() : contextColor();
}

QString TokenView::shownText(int i) const {
    const TokenViewItem& t = tokens_[static_cast<size_t>(i)];
    QString text = t.text;
    // Hy3's special tokens use fullwidth bars and U+2581, which many UI fonts lack; show ASCII.
    if (t.special) text.replace(QChar(0xFF5C), '|').replace(QChar(0x2581), '_');
    // Whitespace stays visible inside its box: a space as a middle dot, a newline as a return arrow.
    text.replace('\n', QChar(0x21B5)).replace('\t', QChar(0x2192)).replace(' ', QChar(0x00B7));
    return text.isEmpty() ? QStringLiteral("\u2205") : text;
}

int TokenView::layoutTokens(int width, std::vector<QRect>* rects) const {
    const QFontMetrics fm(font());
    const int lineHeight = fm.height() + 2 * kPadY;
    int x = kMargin, y = kMargin;
    if (rects) rects->clear();
    for (int i = 0; i < count(); ++i) {
        const int w = fm.horizontalAdvance(shownText(i)) + 2 * kPadX;
        if (x > kMargin && x + w > width - kMargin) x = kMargin, y += lineHeight + kGap;
        if (rects) rects->push_back(QRect(x, y, w, lineHeight));
        x += w + kGap;
        if (tokens_[static_cast<size_t>(i)].text.endsWith('\n')) x = kMargin, y += lineHeight + kGap;  // the text breaks here
    }
    return y + lineHeight + kMargin;
}

int TokenView::heightForWidth(int width) const { return layoutTokens(width, nullptr); }

QSize TokenView::sizeHint() const { return QSize(600, heightForWidth(600)); }

void TokenView::resizeEvent(QResizeEvent*) { layoutTokens(width(), &rects_); }

int TokenView::tokenAt(const QPoint& p) const {
    for (size_t i = 0; i < rects_.size(); ++i)
        if (rects_[i].contains(p)) return static_cast<int>(i);
    return -1;
}

QString TokenView::toolTipFor(int i) const {
    const TokenViewItem& t = tokens_[static_cast<size_t>(i)];
    QString state = t.inLoss ? tr("in the loss") : tr("context only (not in the loss)");
    if (cutFrom_ >= 0 && i >= cutFrom_) state = tr("cut: past the sequence length, not trained");
    return tr("position %1 · id %2 · %3\n%4").arg(i).arg(t.id).arg(t.entry, state);  // a plain-text tooltip
}

bool TokenView::event(QEvent* e) {
    if (e->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(e);
        const int i = tokenAt(help->pos());
        if (i >= 0) QToolTip::showText(help->globalPos(), toolTipFor(i), this, tokenRect(i));
        else QToolTip::hideText();
        return true;
    }
    return QWidget::event(e);
}

void TokenView::paintEvent(QPaintEvent* e) {
    QPainter painter(this);
    painter.fillRect(rect(), palette().base());
    for (int i = 0; i < count(); ++i) {
        const QRect r = rects_[static_cast<size_t>(i)];
        if (!r.intersects(e->rect())) continue;
        painter.setPen(Qt::NoPen);
        painter.setBrush(background(i));
        painter.drawRoundedRect(r, 3, 3);
        const bool special = tokens_[static_cast<size_t>(i)].special;
        painter.setPen(special ? QColor(0x1f, 0x4e, 0xa8) : QColor(0x20, 0x20, 0x20));
        painter.drawText(r.adjusted(kPadX, kPadY, -kPadX, -kPadY), Qt::AlignLeft | Qt::AlignVCenter, shownText(i));
        if (cutFrom_ >= 0 && i >= cutFrom_) {
            painter.setPen(QColor(0xa0, 0x30, 0x30));
            painter.drawLine(r.left() + 1, r.center().y(), r.right() - 1, r.center().y());
        }
    }
}

}  // namespace hy3::ui
