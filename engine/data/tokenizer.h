#pragma once
// An HF `tokenizer.json` with a byte-level BPE model, loaded once and shared (immutable; encoding is
// thread-safe). Matches HF's `tokenizers` library (what transformers' fast tokenizers run), which
// the tests run as the reference: added tokens are split out first (longest match), the normaliser runs on
// the text between them, then the pre-tokenizers (Split with the file's regex through PCRE2,
// ByteLevel, Digits, Sequence) and the BPE merges. Encoding never adds special tokens (HF's
// add_special_tokens=False); chat templates put them in the text.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hy3 {

struct BpeTables;

class Tokenizer {
public:
    // Reads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json and
    // DIR/chat_template.jinja. Throws hy3::Error naming the file and the field.
    static std::shared_ptr<const Tokenizer> load(const std::filesystem::path& dir);
    // The same from the text of a tokenizer.json and a parsed tokenizer_config.json; `source`
    // names the file in errors.
    static std::shared_ptr<const Tokenizer> fromText(std::string_view tokenizerJson, const nlohmann::json& config,
                                                     const std::string& source);
    ~Tokenizer();

    std::vector<int32_t> encode(std::string_view text) const;
    // Token ids with the byte offset in `text` where each token starts. Offsets are exact when
    // `text` is already normalised (see normalize()); the data pipeline passes such text.
    void encode(std::string_view text, std::vector<int32_t>& ids, std::vector<uint32_t>* offsets) const;
    std::string decode(const std::vector<int32_t>& ids, bool skipSpecialTokens = false) const;
    // The tokenizer's normaliser applied to `text` (identity when it has none).
    std::string normalize(std::string_view text) const;

    int32_t tokenId(std::string_view token) const;  // -1 when unknown
    std::string tokenText(int32_t id) const;
    bool isSpecial(int32_t id) const;
    int64_t vocabSize() const;  // one past the largest id

    // From tokenizer_config.json (empty when not given).
    const std::string& bosToken() const;
    const std::string& eosToken() const;
    const std::string& padToken() const;
    const std::string& chatTemplate() const;  // chat_template.jinja wins over tokenizer_config.json
    const std::string& source() const;

    struct Impl;

private:
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    // fromText after parsing, without its catch of nlohmann's type errors.
    static std::shared_ptr<const Tokenizer> fromTables(BpeTables&& tables, const nlohmann::json& config, const std::string& source);
    std::unique_ptr<Impl> impl_;
};

}  // namespace hy3
