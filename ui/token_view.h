#pragma once
// A rendered conversation token by token: each token a small box with its text, green when it
// counts in the loss, grey when it does not, struck through past the sequence length (cut by
// truncation); special tokens in blue. Hovering a token shows its id, its vocabulary entry and
// whether it trains. Lays itself out for its width, like a paragraph.
#include <QColor>
#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <vector>

namespace hy3::ui {

struct TokenViewItem {
    QString text;     // the decoded text (newlines end a line)
    QString entry;    // the vocabulary entry (e.g. "Ġthe"), shown on hover
    int32_t id = 0;
    bool inLoss = false;
    bool special = false;
};

class TokenView : public QWidget {
    Q_OBJECT
public:
    explicit TokenView(QWidget* parent = nullptr);

    // `cutFrom`: the first position past the sequence length (-1 when nothing is cut).
    void setTokens(std::vector<TokenViewItem> tokens, int cutFrom);
    int count() const { return static_cast<int>(tokens_.size()); }
    const TokenViewItem& token(int i) const { return tokens_[static_cast<size_t>(i)]; }
    // The fill the token is painted with (what a user sees as "in the loss" or not).
    QColor background(int i) const;
    QRect tokenRect(int i) const { return rects_[static_cast<size_t>(i)]; }
    int tokenAt(const QPoint& p) const;  // -1 when no token is there
    QString toolTipFor(int i) const;

    static QColor lossColor() { return QColor(0xb7, 0xe4, 0xb0); }
    static QColor contextColor() { return QColor(0xe6, 0xe6, 0xe6); }
    static QColor cutColor() { return QColor(0xf5, 0xc6, 0xc6); }

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;
    QSize sizeHint() const override;

protected:
    bool event(QEvent* e) override;
    void paintEvent(QPaintEvent* e) override;
    void resizeEvent(QResizeEvent* e) override;

private:
    // Places every token for `width`; returns the height used. Fills `rects` when given.
    int layoutTokens(int width, std::vector<QRect>* rects) const;
    QString shownText(int i) const;

    std::vector<TokenViewItem> tokens_;
    std::vector<QRect> rects_;
    int cutFrom_ = -1;
};

}  // namespace hy3::ui
