#include "data/tokenizer.h"

#include "data/jinja/limits.h"
#include "data/tokenizer_tables.h"
#include "data/utf8.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_fields.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <deque>
#include <mutex>
#include <queue>
#include <unordered_map>

namespace hy3 {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// ----- byte-level alphabet (GPT-2): every byte has a printable stand-in character ----------------

struct ByteAlphabet {
    std::array<std::string, 256> charOfByte;       // UTF-8 of the stand-in
    std::unordered_map<char32_t, uint8_t> byteOfChar;
    ByteAlphabet() {
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
            utf8::append(charOfByte[static_cast<size_t>(b)], cp);
            byteOfChar[cp] = static_cast<uint8_t>(b);
        }
    }
};

const ByteAlphabet& byteAlphabet() {
    static const ByteAlphabet alphabet;
    return alphabet;
}

// ----- regular expressions -----------------------------------------------------------------------

// HF's tokenizers use Oniguruma regex syntax (the Rust library runs Oniguruma itself). Translate the two places
// where other engines differ: (?i:...) folds ASCII letters only, and \s / \S mean Unicode
// White_Space. Everything else is the same in PCRE2.
std::string rewriteOniguruma(const std::string& pattern) {
    std::string out;
    std::vector<bool> foldStack;
    bool fold = false, inClass = false;
    for (size_t i = 0; i < pattern.size(); ++i) {
        const char ch = pattern[i];
        if (ch == '\\' && i + 1 < pattern.size()) {
            const char n = pattern[i + 1];
            if (n == 's') out += inClass ? "\\p{White_Space}" : "\\p{White_Space}";
            else if (n == 'S') out += inClass ? "\\P{White_Space}" : "\\P{White_Space}";
            else out += pattern.substr(i, 2);
            ++i;
            continue;
        }
        if (inClass) {
            if (ch == ']') inClass = false;
            if (fold && std::isalpha(static_cast<unsigned char>(ch))) {
                out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            } else {
                out += ch;
            }
            continue;
        }
        if (ch == '[') {
            inClass = true;
            out += ch;
            if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
            if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];  // literal ] first
            continue;
        }
        if (ch == '(') {
            foldStack.push_back(fold);
            if (pattern.compare(i, 4, "(?i:") == 0) {
                fold = true;
                out += "(?:";
                i += 3;
                continue;
            }
            out += ch;
            continue;
        }
        if (ch == ')') {
            if (!foldStack.empty()) {
                fold = foldStack.back();
                foldStack.pop_back();
            }
            out += ch;
            continue;
        }
        if (fold && std::isalpha(static_cast<unsigned char>(ch))) {
            out += '[';
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            out += ']';
            continue;
        }
        out += ch;
    }
    return out;
}

std::string escapeRegex(const std::string& literal) {
    std::string out;
    for (char ch : literal) {
        if (std::string("\\^$.|?*+()[]{}").find(ch) != std::string::npos) out += '\\';
        out += ch;
    }
    return out;
}

class Regex {
public:
    Regex(const std::string& pattern, const std::string& where) {
        int error = 0;
        PCRE2_SIZE offset = 0;
        code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &error,
                              &offset, nullptr);
        if (!code_) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(error, message, sizeof message);
            fail(where, "regex does not compile at offset " + std::to_string(offset) + ": " + reinterpret_cast<char*>(message));
        }
        pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
    }
    ~Regex() { pcre2_code_free(code_); }
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Calls fn(begin, end) for each non-overlapping match, left to right.
    template <typename F>
    void forEachMatch(std::string_view text, F&& fn) const {
        // One match block per thread for every pattern: only the whole match is read, which PCRE2
        // fills even when a pattern has more groups than the block holds (rc 0).
        struct MatchData {
            pcre2_match_data* data = pcre2_match_data_create(16, nullptr);
            ~MatchData() { pcre2_match_data_free(data); }
        };
        thread_local const MatchData block;
        pcre2_match_data* data = block.data;
        size_t start = 0;
        while (start <= text.size()) {
            const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start,
                                       start == 0 ? 0 : PCRE2_NO_UTF_CHECK, data, nullptr);
            if (rc < 0) break;
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data);
            const size_t b = ov[0], e = ov[1];
            if (e > b) fn(b, e);
            if (e > start) start = e;
            else {  // an empty match: step over one character
                size_t i = start;
                if (i >= text.size()) break;
                utf8::next(text, i);
                start = i;
            }
        }
    }

private:
    pcre2_code* code_ = nullptr;
};

// ----- pre-tokenizers ----------------------------------------------------------------------------

struct Split {
    std::string_view text;  // into the section, or into SplitScratch::owned
    uint32_t offset;        // byte offset in the section
};

struct Segment {
    size_t b, e;
    bool match;
};

// What pre-tokenizing one section needs besides its pieces, kept per thread so that encoding a
// section allocates nothing once the buffers have grown.
struct SplitScratch {
    std::vector<Split> splits, out;
    std::vector<Segment> segments, grouped;
    std::deque<std::string> owned;  // texts a pre-tokenizer made (a prefix space added)
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct PreTokenizer {
    virtual ~PreTokenizer() = default;
    virtual void apply(SplitScratch& scratch) const = 0;  // rewrites scratch.splits
};

// Splits each piece at the regex matches, then regroups by behaviour (as HF's Split).
struct RegexSplit : PreTokenizer {
    std::unique_ptr<Regex> regex;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;

    void apply(SplitScratch& scratch) const override {
        std::vector<Split>& out = scratch.out;
        out.clear();
        for (const Split& s : scratch.splits) {
            std::vector<Segment>& segments = scratch.segments;
            segments.clear();
            size_t prev = 0;
            regex->forEachMatch(s.text, [&](size_t b, size_t e) {
                if (b > prev) segments.push_back({prev, b, false});
                segments.push_back({b, e, true});
                prev = e;
            });
            if (prev < s.text.size()) segments.push_back({prev, s.text.size(), false});
            if (invert)
                for (auto& seg : segments) seg.match = !seg.match;
            std::vector<Segment>& grouped = scratch.grouped;
            grouped.clear();
            for (const Segment& seg : segments) {
                switch (behavior) {
                case SplitBehavior::Removed:
                    if (!seg.match) grouped.push_back(seg);
                    break;
                case SplitBehavior::Isolated:
                    grouped.push_back(seg);
                    break;
                case SplitBehavior::MergedWithPrevious:
                    if (seg.match && !grouped.empty() && !grouped.back().match) grouped.back().e = seg.e, grouped.back().match = true;
                    else grouped.push_back(seg);
                    break;
                case SplitBehavior::MergedWithNext:
                    if (!grouped.empty() && grouped.back().match && !seg.match && grouped.back().e == seg.b)
                        grouped.back().e = seg.e, grouped.back().match = false;
                    else grouped.push_back(seg);
                    break;
                case SplitBehavior::Contiguous:
                    if (!grouped.empty() && grouped.back().match == seg.match) grouped.back().e = seg.e;
                    else grouped.push_back(seg);
                    break;
                }
            }
            for (const Segment& seg : grouped)
                if (seg.e > seg.b) out.push_back({s.text.substr(seg.b, seg.e - seg.b), s.offset + static_cast<uint32_t>(seg.b)});
        }
        scratch.splits.swap(out);
    }
};

struct PrefixSpace : PreTokenizer {  // ByteLevel's add_prefix_space
    void apply(SplitScratch& scratch) const override {
        for (Split& s : scratch.splits)
            if (!s.text.empty() && s.text[0] != ' ') {
                scratch.owned.push_back(" " + std::string(s.text));
                s.text = scratch.owned.back();  // offsets stay on the original
            }
    }
};

struct SequencePreTokenizer : PreTokenizer {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    void apply(SplitScratch& scratch) const override {
        for (const auto& step : steps) step->apply(scratch);
    }
};

// ----- normalisers -------------------------------------------------------------------------------

using Normalizer = std::function<std::string(std::string_view)>;

// ----- the added-token splitter: longest match in a byte trie ------------------------------------

class TokenTrie {
public:
    void insert(const std::string& token, int32_t id) {
        int32_t node = 0;
        for (unsigned char ch : token) {
            int32_t child = childOf(node, ch);
            if (child < 0) {
                child = static_cast<int32_t>(nodes_.size());
                nodes_.emplace_back();
                nodes_[static_cast<size_t>(node)].children.emplace_back(ch, child);
            }
            node = child;
        }
        nodes_[static_cast<size_t>(node)].id = id;
        nodes_[static_cast<size_t>(node)].length = static_cast<uint32_t>(token.size());
    }
    bool empty() const { return nodes_.size() == 1; }
    // The longest token starting at `at`: its id and length, or id -1.
    std::pair<int32_t, uint32_t> longestAt(std::string_view text, size_t at) const {
        std::pair<int32_t, uint32_t> best{-1, 0};
        int32_t node = 0;
        for (size_t i = at; i < text.size(); ++i) {
            node = childOf(node, static_cast<unsigned char>(text[i]));
            if (node < 0) break;
            if (nodes_[static_cast<size_t>(node)].id >= 0) best = {nodes_[static_cast<size_t>(node)].id, nodes_[static_cast<size_t>(node)].length};
        }
        return best;
    }

private:
    struct Node {
        std::vector<std::pair<unsigned char, int32_t>> children;
        int32_t id = -1;
        uint32_t length = 0;
    };
    int32_t childOf(int32_t node, unsigned char ch) const {
        for (const auto& [c, child] : nodes_[static_cast<size_t>(node)].children)
            if (c == ch) return child;
        return -1;
    }
    std::vector<Node> nodes_{Node{}};
};

struct AddedToken {
    std::string content;
    int32_t id = 0;
    bool special = false, lstrip = false, rstrip = false, normalized = false;
};

// ----- BPE ---------------------------------------------------------------------------------------

struct BpeResult {
    std::vector<int32_t> ids;
    std::vector<uint32_t> lengths;  // bytes of each token

    // Appends the tokens, with their offsets from `at` on.
    void appendTo(uint32_t at, std::vector<int32_t>& out, std::vector<uint32_t>* offsets) const {
        out.insert(out.end(), ids.begin(), ids.end());
        if (!offsets) return;
        for (uint32_t length : lengths) {
            offsets->push_back(at);
            at += length;
        }
    }
};

constexpr size_t kCachedPieceBytes = 64;

// A bounded cache of BPE results per piece, split in shards so threads rarely wait for each other.
class BpeCache {
public:
    // Appends the cached tokens of `piece` (see BpeResult::appendTo); false when it is not cached.
    bool append(const std::string& piece, uint32_t at, std::vector<int32_t>& ids, std::vector<uint32_t>* offsets) const {
        Shard& s = shardOf(piece);
        std::lock_guard<std::mutex> lock(s.mutex);
        auto it = s.map.find(piece);
        if (it == s.map.end()) return false;
        it->second.appendTo(at, ids, offsets);
        return true;
    }
    void put(const std::string& piece, const BpeResult& result) const {
        Shard& s = shardOf(piece);
        std::lock_guard<std::mutex> lock(s.mutex);
        if (s.map.size() >= kPerShard) s.map.clear();
        s.map.emplace(piece, result);
    }

private:
    // At most 16K pieces of up to 64 bytes (a few MB): repeated words hit, one-off long pieces
    // would only fill memory.
    static constexpr size_t kShards = 32, kPerShard = 512;
    struct Shard {
        std::mutex mutex;
        std::unordered_map<std::string, BpeResult> map;
    };
    Shard& shardOf(const std::string& piece) const { return shards_[std::hash<std::string>{}(piece) % kShards]; }
    mutable std::array<Shard, kShards> shards_;
};

std::string tokenString(const json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_object() && value.contains("content") && value["content"].is_string()) return value["content"].get<std::string>();
    return {};
}

}  // namespace

struct Tokenizer::Impl {
    std::string source;
    TokenTable tokens;  // text <-> id, the vocabulary and the added tokens
    MergeTable merges;
    std::array<int32_t, 256> byteId{};
    bool ignoreMerges = false;
    std::vector<AddedToken> added;
    std::unordered_map<int32_t, size_t> addedById;
    TokenTrie rawTrie, normalizedTrie;
    Normalizer normalizer;  // empty: none
    std::unique_ptr<PreTokenizer> preTokenizer;
    bool cleanUpSpaces = true;
    std::string bos, eos, pad, chatTemplate;
    BpeCache cache;

    // Appends the BPE tokens of one pre-tokenized piece that starts at byte `at`.
    void bpe(std::string_view piece, uint32_t at, std::vector<int32_t>& ids, std::vector<uint32_t>* offsets) const;
    BpeResult bpeUncached(std::string_view piece) const;
    void encodeSection(std::string_view text, uint32_t offset, std::vector<int32_t>& ids, std::vector<uint32_t>* offsets) const;
    void encodePlain(std::string_view text, uint32_t offset, std::vector<int32_t>& ids, std::vector<uint32_t>* offsets) const;
};

void Tokenizer::Impl::bpe(std::string_view piece, uint32_t at, std::vector<int32_t>& ids, std::vector<uint32_t>* offsets) const {
    if (piece.size() > kCachedPieceBytes) {  // never cached: no key to build
        bpeUncached(piece).appendTo(at, ids, offsets);
        return;
    }
    const std::string key(piece);  // at most kCachedPieceBytes: mostly no allocation
    if (cache.append(key, at, ids, offsets)) return;
    const BpeResult result = bpeUncached(piece);
    result.appendTo(at, ids, offsets);
    cache.put(key, result);
}

BpeResult Tokenizer::Impl::bpeUncached(std::string_view piece) const {
    BpeResult result;
    if (ignoreMerges) {
        std::string whole;
        for (unsigned char b : piece) whole += byteAlphabet().charOfByte[b];
        if (const int32_t id = tokens.find(whole); id >= 0) {
            result.ids = {id};
            result.lengths = {static_cast<uint32_t>(piece.size())};
            return result;
        }
    }
    struct Symbol {
        int32_t id;
        uint32_t length;
        int32_t prev, next;
        bool alive;
    };
    std::vector<Symbol> symbols;
    symbols.reserve(piece.size());
    for (size_t i = 0; i < piece.size(); ++i)
        symbols.push_back({byteId[static_cast<unsigned char>(piece[i])], 1, static_cast<int32_t>(i) - 1,
                           i + 1 < piece.size() ? static_cast<int32_t>(i + 1) : -1, true});
    // Lowest rank first; among equal ranks the leftmost pair (HF's tie-break).
    using Candidate = std::tuple<int32_t, int32_t, int32_t, int32_t>;  // rank, left index, left id, right id
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    auto consider = [&](int32_t left) {
        if (left < 0) return;
        const int32_t right = symbols[static_cast<size_t>(left)].next;
        if (right < 0) return;
        const MergeRule rule = merges.find(symbols[static_cast<size_t>(left)].id, symbols[static_cast<size_t>(right)].id);
        if (rule.rank >= 0) queue.emplace(rule.rank, left, symbols[static_cast<size_t>(left)].id, symbols[static_cast<size_t>(right)].id);
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) consider(i);
    while (!queue.empty()) {
        const auto [rank, left, leftId, rightId] = queue.top();
        queue.pop();
        Symbol& l = symbols[static_cast<size_t>(left)];
        if (!l.alive || l.id != leftId || l.next < 0) continue;
        Symbol& r = symbols[static_cast<size_t>(l.next)];
        if (r.id != rightId) continue;
        l.id = merges.find(leftId, rightId).result;
        l.length += r.length;
        r.alive = false;
        l.next = r.next;
        if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = left;
        consider(l.prev);
        consider(left);
    }
    for (const Symbol& s : symbols)
        if (s.alive) {
            result.ids.push_back(s.id);
            result.lengths.push_back(s.length);
        }
    return result;
}

void Tokenizer::Impl::encodePlain(std::string_view text, uint32_t offset, std::vector<int32_t>& ids,
                                  std::vector<uint32_t>* offsets) const {
    thread_local SplitScratch scratch;
    scratch.splits.assign(1, Split{text, 0});
    scratch.owned.clear();
    if (preTokenizer) preTokenizer->apply(scratch);
    for (const Split& s : scratch.splits) bpe(s.text, offset + s.offset, ids, offsets);
}

// Splits `text` at added tokens found by `trie`, honouring lstrip/rstrip on the neighbours, and
// hands the rest to `plain`.
template <typename Plain>
void splitAddedTokens(std::string_view text, uint32_t offset, const TokenTrie& trie, const std::vector<AddedToken>& added,
                      const std::unordered_map<int32_t, size_t>& addedById, std::vector<int32_t>& ids,
                      std::vector<uint32_t>* offsets, Plain&& plain) {
    struct Section {
        std::string_view text;  // into `text`
        uint32_t offset;
        int32_t token;  // added token id, or -1
    };
    std::vector<Section> sections;
    size_t start = 0, i = 0;
    while (i < text.size()) {
        const auto [id, length] = trie.empty() ? std::pair<int32_t, uint32_t>{-1, 0} : trie.longestAt(text, i);
        if (id < 0) {
            ++i;
            continue;
        }
        if (i > start) sections.push_back({text.substr(start, i - start), offset + static_cast<uint32_t>(start), -1});
        sections.push_back({text.substr(i, length), offset + static_cast<uint32_t>(i), id});
        i += length;
        start = i;
    }
    if (start < text.size()) sections.push_back({text.substr(start), offset + static_cast<uint32_t>(start), -1});
    for (size_t s = 0; s < sections.size(); ++s) {
        if (sections[s].token < 0) continue;
        const AddedToken& token = added[addedById.at(sections[s].token)];
        if (token.lstrip && s > 0 && sections[s - 1].token < 0) {
            std::string_view& before = sections[s - 1].text;
            before = before.substr(0, utf8::trimEnd(before).size());
        }
        if (token.rstrip && s + 1 < sections.size() && sections[s + 1].token < 0) {
            std::string_view& after = sections[s + 1].text;
            const size_t trimmed = after.size() - utf8::trimStart(after).size();
            sections[s + 1].offset += static_cast<uint32_t>(trimmed);
            after = after.substr(trimmed);
        }
    }
    for (const Section& section : sections) {
        if (section.text.empty()) continue;
        if (section.token >= 0) {
            ids.push_back(section.token);
            if (offsets) offsets->push_back(section.offset);
        } else {
            plain(section.text, section.offset);
        }
    }
}

void Tokenizer::Impl::encodeSection(std::string_view text, uint32_t offset, std::vector<int32_t>& ids,
                                    std::vector<uint32_t>* offsets) const {
    splitAddedTokens(text, offset, rawTrie, added, addedById, ids, offsets, [&](std::string_view part, uint32_t at) {
        const auto plain = [&](std::string_view rest, uint32_t restAt) { encodePlain(rest, restAt, ids, offsets); };
        if (!normalizer) {
            splitAddedTokens(part, at, normalizedTrie, added, addedById, ids, offsets, plain);
            return;
        }
        const std::string normal = normalizer(part);
        splitAddedTokens(normal, at, normalizedTrie, added, addedById, ids, offsets, plain);
    });
}

// ----- loading -----------------------------------------------------------------------------------

namespace {

SplitBehavior parseBehavior(const json& value, const std::string& where) {
    const std::string b = value.is_string() ? value.get<std::string>() : "";
    if (b == "Removed") return SplitBehavior::Removed;
    if (b == "Isolated") return SplitBehavior::Isolated;
    if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (b == "Contiguous") return SplitBehavior::Contiguous;
    fail(where + ".behavior", "unknown split behaviour " + value.dump());
}

const char* const kGpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

std::unique_ptr<PreTokenizer> regexSplit(const std::string& pattern, SplitBehavior behavior, bool invert, const std::string& where) {
    auto split = std::make_unique<RegexSplit>();
    split->regex = std::make_unique<Regex>(rewriteOniguruma(pattern), where);
    split->behavior = behavior;
    split->invert = invert;
    return split;
}

std::unique_ptr<PreTokenizer> parsePreTokenizer(const json& node, const std::string& where, bool& byteLevel) {
    if (!node.is_object() || !node.contains("type")) fail(where, "expected an object with a type");
    const std::string type = node["type"].get<std::string>();
    if (type == "Sequence") {
        auto seq = std::make_unique<SequencePreTokenizer>();
        const json& list = node.contains("pretokenizers") ? node["pretokenizers"] : json::array();
        for (size_t i = 0; i < list.size(); ++i)
            seq->steps.push_back(parsePreTokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]", byteLevel));
        return seq;
    }
    if (type == "Split") {
        const json& pattern = node.value("pattern", json::object());
        std::string regex;
        if (pattern.contains("Regex")) regex = pattern["Regex"].get<std::string>();
        else if (pattern.contains("String")) regex = escapeRegex(pattern["String"].get<std::string>());
        else fail(where + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
        return regexSplit(regex, parseBehavior(node.value("behavior", json("Isolated")), where), node.value("invert", false), where);
    }
    if (type == "ByteLevel") {
        byteLevel = true;
        auto seq = std::make_unique<SequencePreTokenizer>();
        if (node.value("add_prefix_space", false)) seq->steps.push_back(std::make_unique<PrefixSpace>());
        if (node.value("use_regex", true)) seq->steps.push_back(regexSplit(kGpt2Pattern, SplitBehavior::Isolated, false, where));
        return seq;
    }
    if (type == "Digits")
        return regexSplit(node.value("individual_digits", false) ? "\\p{N}" : "\\p{N}+", SplitBehavior::Isolated, false, where);
    fail(where + ".type", "pre-tokenizer \"" + type + "\" is not supported (Split, ByteLevel, Digits, Sequence are)");
}

Normalizer parseNormalizer(const json& node, const std::string& where) {
    if (node.is_null()) return {};
    const std::string type = node.value("type", std::string());
    if (type == "NFC") return [](std::string_view t) { return utf8::nfc(t); };
    if (type == "NFD") return [](std::string_view t) { return utf8::nfd(t); };
    if (type == "NFKC") return [](std::string_view t) { return utf8::nfkc(t); };
    if (type == "NFKD") return [](std::string_view t) { return utf8::nfkd(t); };
    if (type == "Lowercase") return [](std::string_view t) { return utf8::toLower(t); };
    if (type == "Sequence") {
        std::vector<Normalizer> steps;
        const json& list = node.value("normalizers", json::array());
        for (size_t i = 0; i < list.size(); ++i) steps.push_back(parseNormalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]"));
        return [steps](std::string_view t) {
            std::string s(t);
            for (const auto& step : steps)
                if (step) s = step(s);
            return s;
        };
    }
    fail(where + ".type", "normalizer \"" + type + "\" is not supported (NFC, NFD, NFKC, NFKD, Lowercase, Sequence are)");
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::shared_ptr<const Tokenizer> Tokenizer::fromText(std::string_view tokenizerJson, const json& config, const std::string& source) {
    BpeTables tables = readBpeTables(tokenizerJson, source);
    try {
        return fromTables(std::move(tables), config, source);
    } catch (const json::exception& e) {
        // A field of the wrong type that the parser's own checks do not name (a tokenizer.json
        // from anywhere): one error naming the file instead of nlohmann's bare exception.
        fail(source, std::string("a field has the wrong type or range (") + e.what() + ")");
    }
}

std::shared_ptr<const Tokenizer> Tokenizer::fromTables(BpeTables&& tables, const json& config, const std::string& source) {
    auto impl = std::make_unique<Impl>();
    impl->source = source;
    const json& doc = tables.document;
    if (!doc.is_object()) fail(source, "expected a JSON object");
    const json& model = doc.value("model", json::object());
    const std::string modelType = model.value("type", std::string("BPE"));
    if (modelType != "BPE") fail(source + ": model.type", "\"" + modelType + "\" is not supported (byte-level BPE only)");
    if (!tables.hasVocab) fail(source + ": model.vocab", "missing or not an object");
    for (const char* unsupported : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (model.contains(unsupported) && model[unsupported].is_string() && !model[unsupported].get<std::string>().empty())
            fail(source + ": model." + unsupported, "is not supported by this byte-level BPE");
    impl->ignoreMerges = model.value("ignore_merges", false);
    impl->tokens = std::move(tables.tokens);
    impl->merges = std::move(tables.merges);

    bool byteLevel = false;
    if (doc.contains("pre_tokenizer") && !doc["pre_tokenizer"].is_null())
        impl->preTokenizer = parsePreTokenizer(doc["pre_tokenizer"], source + ": pre_tokenizer", byteLevel);
    if (!byteLevel) fail(source + ": pre_tokenizer", "no ByteLevel step: only byte-level BPE tokenizers are supported");
    for (int b = 0; b < 256; ++b) {
        const int32_t id = impl->tokens.find(byteAlphabet().charOfByte[static_cast<size_t>(b)]);
        if (id < 0) fail(source + ": model.vocab", "has no token for byte " + std::to_string(b) + " (not byte-level)");
        impl->byteId[static_cast<size_t>(b)] = id;
    }
    impl->normalizer = parseNormalizer(doc.value("normalizer", json()), source + ": normalizer");

    const json& added = doc.value("added_tokens", json::array());
    for (size_t i = 0; i < added.size(); ++i) {
        const json& a = added[i];
        AddedToken t;
        t.content = a.value("content", std::string());
        t.id = a.value("id", -1);
        if (t.content.empty() || t.id < 0) fail(source + ": added_tokens[" + std::to_string(i) + "]", "needs content and id");
        if (t.id > kMaxTokenId) fail(source + ": added_tokens[" + std::to_string(i) + "]", "id beyond the largest supported (" + std::to_string(kMaxTokenId) + ")");
        t.special = a.value("special", false);
        t.lstrip = a.value("lstrip", false);
        t.rstrip = a.value("rstrip", false);
        t.normalized = a.value("normalized", !t.special);
        impl->tokens.set(t.content, t.id);
        impl->addedById[t.id] = impl->added.size();
        if (t.normalized && impl->normalizer) impl->normalizedTrie.insert(impl->normalizer(t.content), t.id);
        else impl->rawTrie.insert(t.content, t.id);
        impl->added.push_back(t);
    }

    if (config.is_object()) {
        impl->bos = tokenString(config.value("bos_token", json()));
        impl->eos = tokenString(config.value("eos_token", json()));
        impl->pad = tokenString(config.value("pad_token", json()));
        impl->cleanUpSpaces = config.value("clean_up_tokenization_spaces", true);
        const json templ = config.value("chat_template", json());
        if (templ.is_string()) impl->chatTemplate = templ.get<std::string>();
        else if (templ.is_array())
            for (const json& t : templ)
                if (t.value("name", std::string()) == "default") impl->chatTemplate = t.value("template", std::string());
    }
    return std::shared_ptr<const Tokenizer>(new Tokenizer(std::move(impl)));
}

std::shared_ptr<const Tokenizer> Tokenizer::load(const fs::path& dir) {
    std::error_code ec;
    const fs::path file = fs::is_directory(dir, ec) ? dir / "tokenizer.json" : dir;
    if (!fs::exists(file, ec)) fail(dir.string(), "no tokenizer.json");
        const fs::path folder = file.parent_path();
    json config = fs::exists(folder / "tokenizer_config.json", ec) ? readJsonFile(folder / "tokenizer_config.json") : json::object();
    if (!config.is_object()) fail((folder / "tokenizer_config.json").string(), "expected a JSON object");
    // A separate chat_template.jinja (newer HF exports) wins over the one in tokenizer_config.json.
    if (fs::exists(folder / "chat_template.jinja", ec)) config["chat_template"] = readTextFile(folder / "chat_template.jinja", jinja::limits::kTemplateBytes);
    return fromText(readTextFile(file, kMaxTokenizerFileBytes), config, file.string());
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
    std::vector<int32_t> ids;
    encode(text, ids, nullptr);
    return ids;
}

void Tokenizer::encode(std::string_view text, std::vector<int32_t>& ids, std::vector<uint32_t>* offsets) const {
    impl_->encodeSection(text, 0, ids, offsets);
}

std::string Tokenizer::normalize(std::string_view text) const {
    return impl_->normalizer ? impl_->normalizer(text) : std::string(text);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skipSpecialTokens) const {
    std::string bytes;
    for (int32_t id : ids) {
        if (id < 0 || id >= impl_->tokens.idLimit()) continue;
        auto added = impl_->addedById.find(id);
        if (added != impl_->addedById.end()) {
            if (!(skipSpecialTokens && impl_->added[added->second].special)) bytes += impl_->added[added->second].content;
            continue;
        }
        const std::string_view text = impl_->tokens.text(id);
        size_t i = 0;
        while (i < text.size()) {
            const size_t start = i;
            const char32_t cp = utf8::next(text, i);
            auto it = byteAlphabet().byteOfChar.find(cp);
            if (it != byteAlphabet().byteOfChar.end()) bytes += static_cast<char>(it->second);
            else bytes.append(text, start, i - start);
        }
    }
    // Invalid UTF-8 (a multi-byte character cut between tokens) becomes U+FFFD, as HF's "replace".
    std::string out;
    size_t i = 0;
    while (i < bytes.size()) utf8::append(out, utf8::next(bytes, i));
    if (impl_->cleanUpSpaces) {
        for (const char* from : {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"}) {
            const std::string f = from, t = f == " ' " ? "'" : f.substr(1);
            for (size_t at = out.find(f); at != std::string::npos; at = out.find(f, at + t.size())) out.replace(at, f.size(), t);
        }
    }
    return out;
}

int32_t Tokenizer::tokenId(std::string_view token) const {
    return impl_->tokens.find(token);
}

std::string Tokenizer::tokenText(int32_t id) const {
    return std::string(impl_->tokens.text(id));
}

bool Tokenizer::isSpecial(int32_t id) const {
    auto it = impl_->addedById.find(id);
    return it != impl_->addedById.end() && impl_->added[it->second].special;
}

int64_t Tokenizer::vocabSize() const { return impl_->tokens.idLimit(); }
const std::string& Tokenizer::bosToken() const { return impl_->bos; }
const std::string& Tokenizer::eosToken() const { return impl_->eos; }
const std::string& Tokenizer::padToken() const { return impl_->pad; }
const std::string& Tokenizer::chatTemplate() const { return impl_->chatTemplate; }
const std::string& Tokenizer::source() const { return impl_->source; }

}  // namespace hy3
