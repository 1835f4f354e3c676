#pragma once
// The tables a byte-level BPE tokenizer looks things up in, built straight from the text of a
// tokenizer.json: a 128K-entry vocabulary and as many merges load in a few hundredths of a second
// because nothing is allocated per entry. The document's other fields (pre-tokenizer, normaliser,
// added tokens) are small and come back as a JSON value.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hy3 {

// Ids index per-id arrays; real vocabularies stay far below this (the largest today ~262K).
constexpr int64_t kMaxTokenId = (int64_t(1) << 24) - 1;

// Token text <-> id: every text once in one byte buffer, an open-addressing hash table over them
// whose slots hold the text's place (a lookup touches the slot and the bytes, nothing else), and
// per id the text it decodes to (the last one set).
class TokenTable {
public:
    void set(std::string_view text, int32_t id);
    int32_t find(std::string_view text) const;  // -1 when absent
    std::string_view text(int32_t id) const;     // empty when no text has this id
    int64_t idLimit() const { return static_cast<int64_t>(textOfId_.size()); }  // one past the largest id

private:
    struct Span {
        uint32_t offset = 0, length = 0;
    };
    struct Slot {
        uint32_t hash = 0;  // of the text: most probes compare this alone
        int32_t id = -1;    // -1: empty
        Span text;
    };
    std::string_view bytesOf(Span span) const { return std::string_view(bytes_.data() + span.offset, span.length); }
    size_t slotOf(std::string_view text, uint32_t hash) const;  // where `text` is, or the empty slot it would take
    void grow();

    std::string bytes_;
    std::vector<Slot> slots_ = std::vector<Slot>(1024);  // a power of two
    size_t count_ = 0;
    std::vector<Span> textOfId_;  // length 0: no text
};

struct MergeRule {
    int32_t rank = -1;    // position in the merges list: lower merges first; -1 when absent
    int32_t result = -1;  // the id of the merged token
};

// (left id, right id) -> merge rule, open addressing on the packed pair.
class MergeTable {
public:
    void insert(int32_t left, int32_t right, MergeRule rule);  // the first rule of a pair stays
    MergeRule find(int32_t left, int32_t right) const;

private:
    static uint64_t key(int32_t left, int32_t right);
    size_t slotOf(uint64_t key) const;
    void grow();

    std::vector<uint64_t> keys_ = std::vector<uint64_t>(1024, kEmpty);
    std::vector<MergeRule> rules_ = std::vector<MergeRule>(1024);
    size_t count_ = 0;
    static constexpr uint64_t kEmpty = ~uint64_t(0);  // no pair of non-negative ids packs to this
};

struct BpeTables {
    TokenTable tokens;
    MergeTable merges;
    bool hasVocab = false;
    nlohmann::json document;  // the rest of tokenizer.json: model.vocab and model.merges are null
};

// Parses tokenizer.json text. Throws hy3::Error naming `source` and the field (model.vocab.KEY,
// model.merges[i]) for a malformed entry, or the position of a JSON syntax error.
BpeTables readBpeTables(std::string_view text, const std::string& source);

}  // namespace hy3
