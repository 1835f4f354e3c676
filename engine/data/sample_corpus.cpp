#include "data/sample_corpus.h"

#include <random>

namespace hy3 {
namespace {

const char* const kFragments[] = {
    // Latin with diacritics, contractions in several cases
    "The quick brown fox jumps over the lazy dog.", "Naïve café owners don't serve crème brûlée at 3 a.m.",
    "It's, they're, we've, I'm, you'll, he'd", "IT'S LOUD: THEY'RE HERE AND WE'VE GOT IT", "Ölçüm değerleri şöyle: ğüşıöç",
    "Zażółć gęślą jaźń — Łódź", "Ångström, Æsir, Øresund, ß, ﬁ ligature", "e\u0301 combining acute vs é precomposed",
    // other scripts
    "Привет, как дела? Съешь же ещё этих мягких французских булок.", "Καλημέρα κόσμε, τι κάνεις;",
    "مرحبا بالعالم، كيف حالك اليوم؟", "שלום עולם, מה שלומך?", "नमस्ते दुनिया, आप कैसे हैं?", "สวัสดีชาวโลก คุณเป็นอย่างไรบ้าง",
    "你好，世界！今天天气很好，我们去公园散步吧。", "東京都渋谷区で会いましょう。カタカナとひらがな。", "안녕하세요 세계, 오늘 날씨가 좋네요.",
    "Tiếng Việt có dấu: Hà Nội, Sài Gòn", "ግዕዝ ፊደል", "ᚠᚢᚦᚨᚱᚲ runes",
    // emoji
    "😀😃😄 family: 👨‍👩‍👧‍👦 thumbs: 👍🏽 flags: 🇫🇷🇯🇵", "I ❤️ C++ ✨🚀 and ☕", "keycap 1️⃣ and ©️ ®️ ™",
    // code
    "def add(a, b):\n    return a + b\n", "for (int i = 0; i < n; ++i) {\n\tsum += x[i] * 2;\n}",
    "{\"key\": [1, 2.5, -3e-4, true, null], \"nested\": {\"a\": \"b\"}}", "SELECT id, name FROM users WHERE age >= 21;",
    "#include <vector>\nint main() { return 0; }", "x => x ** 2 // arrow\r\n", "    indented    with    runs    ",
    // whitespace
    "tabs\t\tand\tspaces   mixed \t here", "line one\nline two\r\nline three\n\n\nafter blank lines",
    "no\u00a0break\u00a0space and\u3000ideographic space", "trailing spaces   ", "\n\n   leading newlines", "line\u2028separator",
    // numbers
    "1234567890 3.14159 -42 +7 1,000,000 1e10 0x1F 007", "Prices: $19.99, €5,00, ¥1000, £3.50", "2024-03-15T12:34:56Z",
    "Phone +1 (555) 123-4567 ext. 89", "½ ¾ ² ³ ① ② Ⅻ ٣٤٥ ४५६",
    // punctuation and symbols
    "Hello!!! ??? ... --- ___ *** ~~~", "«quotes» „German“ ‘single’ “double”", "math: ∑∫∂√∞≠≈≤≥ → ⇒ ∀∃",
    "URL: https://example.com/path?q=1&r=two#frag", "email@example.org, @handle, #hashtag",
};

}  // namespace

std::vector<std::string> generateVariedCorpus(uint64_t seed, size_t lines, const std::vector<std::string>& specialTokens) {
    std::mt19937_64 random(seed);
    const size_t fragments = sizeof(kFragments) / sizeof(kFragments[0]);
    const char* const joins[] = {" ", "", "\n", "  ", "\t", ", ", "\n\n"};
    std::vector<std::string> out;
    for (size_t i = 0; i < fragments && out.size() < lines; ++i) out.emplace_back(kFragments[i]);
    while (out.size() < lines) {
        std::string line;
        const size_t parts = 1 + random() % 4;
        for (size_t p = 0; p < parts; ++p) {
            if (p) line += joins[random() % (sizeof(joins) / sizeof(joins[0]))];
            const unsigned kind = static_cast<unsigned>(random() % 10);
            if (kind == 0 && !specialTokens.empty()) {
                line += specialTokens[random() % specialTokens.size()];  // a special token inside text
            } else if (kind == 1 && !specialTokens.empty()) {
                const std::string& t = specialTokens[random() % specialTokens.size()];
                line += t.substr(0, 1 + random() % (t.size() - 1));  // a truncated one: plain text
            } else if (kind == 2) {
                line += std::string(1 + random() % 12, " \t\n"[random() % 3]);  // a whitespace run
            } else if (kind == 3) {
                line += std::to_string(random() % 100000000) + (random() % 2 ? "." + std::to_string(random() % 1000) : "");
            } else {
                const std::string f = kFragments[random() % fragments];
                const size_t cut = random() % 3 == 0 ? f.size() / 2 : f.size();
                size_t end = cut;
                while (end < f.size() && (static_cast<unsigned char>(f[end]) & 0xC0) == 0x80) ++end;  // whole characters
                line += f.substr(0, end);
            }
        }
        out.push_back(line);
    }
    return out;
}

}  // namespace hy3
