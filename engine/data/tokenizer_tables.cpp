#include "data/tokenizer_tables.h"

#include "util/error.h"

namespace hy3 {
using json = nlohmann::json;

namespace {

uint32_t hashText(std::string_view text) {  // FNV-1a: tokens are a few bytes long
    uint32_t h = 2166136261u;
    for (unsigned char c : text) h = (h ^ c) * 16777619u;
    return h;
}

size_t hashPair(uint64_t key) {  // a 64-bit mix (splitmix64's finaliser): ids are small and dense
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebULL;
    return static_cast<size_t>(key ^ (key >> 31));
}

}  // namespace

// ----- TokenTable ---------------------------------------------------------------------------------

size_t TokenTable::slotOf(std::string_view text, uint32_t hash) const {
    const size_t mask = slots_.size() - 1;
    size_t slot = hash & mask;
    while (slots_[slot].id >= 0 && (slots_[slot].hash != hash || bytesOf(slots_[slot].text) != text)) slot = (slot + 1) & mask;
    return slot;
}

void TokenTable::grow() {
    std::vector<Slot> old(slots_.size() * 2);
    slots_.swap(old);
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
        if (s.id < 0) continue;
        size_t slot = s.hash & mask;  // every text is distinct: the first empty slot is its place
        while (slots_[slot].id >= 0) slot = (slot + 1) & mask;
        slots_[slot] = s;
    }
}

void TokenTable::set(std::string_view text, int32_t id) {
    if (bytes_.size() + text.size() > UINT32_MAX) fail("tokenizer", "token texts larger than 4 GiB in all");
    const uint32_t hash = hashText(text);
    size_t slot = slotOf(text, hash);
    if (slots_[slot].id < 0) {
        if ((count_ + 1) * 4 > slots_.size() * 3) {  // keep the table at most three quarters full
            grow();
            slot = slotOf(text, hash);
        }
        slots_[slot] = {hash, id, Span{static_cast<uint32_t>(bytes_.size()), static_cast<uint32_t>(text.size())}};
        bytes_.append(text);
        ++count_;
    } else {
        slots_[slot].id = id;
    }
    if (static_cast<size_t>(id) >= textOfId_.size()) textOfId_.resize(static_cast<size_t>(id) + 1);
    textOfId_[static_cast<size_t>(id)] = slots_[slot].text;
}

int32_t TokenTable::find(std::string_view text) const { return slots_[slotOf(text, hashText(text))].id; }

std::string_view TokenTable::text(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= textOfId_.size()) return {};
    return bytesOf(textOfId_[static_cast<size_t>(id)]);
}

// ----- MergeTable ---------------------------------------------------------------------------------

uint64_t MergeTable::key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

size_t MergeTable::slotOf(uint64_t k) const {
    const size_t mask = keys_.size() - 1;
    size_t slot = hashPair(k) & mask;
    while (keys_[slot] != kEmpty && keys_[slot] != k) slot = (slot + 1) & mask;
    return slot;
}

void MergeTable::grow() {
    std::vector<uint64_t> oldKeys(keys_.size() * 2, kEmpty);
    std::vector<MergeRule> oldRules(keys_.size() * 2);
    keys_.swap(oldKeys);
    rules_.swap(oldRules);
    for (size_t i = 0; i < oldKeys.size(); ++i)
        if (oldKeys[i] != kEmpty) {
            const size_t slot = slotOf(oldKeys[i]);
            keys_[slot] = oldKeys[i];
            rules_[slot] = oldRules[i];
        }
}

void MergeTable::insert(int32_t left, int32_t right, MergeRule rule) {
    if ((count_ + 1) * 2 > keys_.size()) grow();
    const uint64_t k = key(left, right);
    const size_t slot = slotOf(k);
    if (keys_[slot] == k) return;
    keys_[slot] = k;
    rules_[slot] = rule;
    ++count_;
}

MergeRule MergeTable::find(int32_t left, int32_t right) const {
    const size_t slot = slotOf(key(left, right));
    return keys_[slot] == kEmpty ? MergeRule{} : rules_[slot];
}

// ----- reading tokenizer.json ---------------------------------------------------------------------

namespace {

// nlohmann's SAX events: model.vocab and model.merges go straight into the tables (the DOM gets a
// null in their place); everything else builds the DOM as json::parse would.
class BpeTablesReader : public nlohmann::json_sax<json> {
public:
    BpeTablesReader(BpeTables& out, std::string source) : out_(out), dom_(out.document), source_(std::move(source)) {}

    // Merges are resolved once the whole vocabulary is known (JSON does not order the keys).
    void resolveMerges() {
        for (size_t i = 0; i < merges_.size(); ++i) {
            const PendingMerge& m = merges_[i];
            const std::string_view both = std::string_view(mergeBytes_).substr(m.offset, m.left + m.right);
            const int32_t a = out_.tokens.find(both.substr(0, m.left)), b = out_.tokens.find(both.substr(m.left));
            const int32_t merged = out_.tokens.find(both);
            if (a < 0 || b < 0 || merged < 0) continue;  // cannot apply
            out_.merges.insert(a, b, MergeRule{static_cast<int32_t>(i), merged});
        }
    }

    bool null() override { return inTable() ? wrong() : dom_.null(); }
    bool boolean(bool v) override { return inTable() ? wrong() : dom_.boolean(v); }
    bool number_float(number_float_t v, const string_t& s) override { return inTable() ? wrong() : dom_.number_float(v, s); }
    bool binary(binary_t& v) override { return inTable() ? wrong() : dom_.binary(v); }
    bool number_integer(number_integer_t v) override {
        if (state_ == State::Vocab) return vocabEntry(v);
        return inTable() ? wrong() : dom_.number_integer(v);
    }
    bool number_unsigned(number_unsigned_t v) override {
        if (state_ == State::Vocab) {
            if (v > static_cast<uint64_t>(kMaxTokenId)) tooLarge(std::to_string(v));
            return vocabEntry(static_cast<int64_t>(v));
        }
        return inTable() ? wrong() : dom_.number_unsigned(v);
    }
    bool string(string_t& v) override {
        if (state_ == State::Merges) return mergeText(v);
        if (state_ == State::MergePair) return mergePart(v);
        return inTable() ? wrong() : dom_.string(v);
    }
    bool key(string_t& k) override {
        if (state_ == State::Vocab) {
            vocabKey_ = k;
            return true;
        }
        const bool inModel = !levels_.empty() && levels_.back() == Level::Model;
        pending_ = levels_.size() == 1 && k == "model" ? Pending::Model
                   : inModel && k == "vocab"           ? Pending::Vocab
                   : inModel && k == "merges"          ? Pending::Merges
                                                       : Pending::Other;
        return dom_.key(k);
    }
    bool start_object(std::size_t n) override {
        if (inTable()) return wrong();
        if (pending_ == Pending::Vocab) {
            state_ = State::Vocab;
            out_.hasVocab = true;
            return dom_.null();
        }
        levels_.push_back(pending_ == Pending::Model && levels_.size() == 1 ? Level::Model : Level::Other);
        pending_ = Pending::Other;
        return dom_.start_object(n);
    }
    bool end_object() override {
        if (state_ == State::Vocab) {
            state_ = State::None;
            return true;
        }
        levels_.pop_back();
        return dom_.end_object();
    }
    bool start_array(std::size_t n) override {
        if (state_ == State::Merges) {
            state_ = State::MergePair;
            parts_ = 0;
            pairStart_ = mergeBytes_.size();
            return true;
        }
        if (inTable()) return wrong();
        if (pending_ == Pending::Merges) {
            state_ = State::Merges;
            pending_ = Pending::Other;
            return dom_.null();
        }
        levels_.push_back(Level::Other);
        pending_ = Pending::Other;
        return dom_.start_array(n);
    }
    bool end_array() override {
        if (state_ == State::MergePair) {
            if (parts_ != 2) return wrong();
            state_ = State::Merges;
            return true;
        }
        if (state_ == State::Merges) {
            state_ = State::None;
            return true;
        }
        levels_.pop_back();
        return dom_.end_array();
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
        fail(source_, std::string("not valid JSON (") + e.what() + ")");
    }

private:
    enum class State { None, Vocab, Merges, MergePair };
    enum class Pending { Other, Model, Vocab, Merges };  // what the value after the last key is
    enum class Level { Other, Model };                    // the containers around the DOM's values
    struct PendingMerge {
        uint64_t offset;
        uint32_t left, right;  // bytes of each side; both sides lie back to back from offset
    };

    bool inTable() const { return state_ != State::None; }

    [[noreturn]] bool wrong() const {
        if (state_ == State::Vocab) fail(source_ + ": model.vocab." + vocabKey_, "expected an integer id");
        // Inside a pair whose first part is in, that merge is already the last one.
        const size_t index = state_ == State::MergePair && parts_ > 0 ? merges_.size() - 1 : merges_.size();
        fail(source_ + ": model.merges[" + std::to_string(index) + "]", "expected \"a b\" or [a, b]");
    }
    bool vocabEntry(int64_t id) {
        if (id < 0) fail(source_ + ": model.vocab." + vocabKey_, "negative token id");
        if (id > kMaxTokenId) tooLarge(std::to_string(id));
        out_.tokens.set(vocabKey_, static_cast<int32_t>(id));
        return true;
    }
    [[noreturn]] void tooLarge(const std::string& id) const {
        fail(source_ + ": model.vocab." + vocabKey_, "id " + id + " is beyond the largest supported (" + std::to_string(kMaxTokenId) + ")");
    }
    bool mergeText(const std::string& merge) {
        const size_t space = merge.find(' ');
        if (space == std::string::npos) fail(source_ + ": model.merges[" + std::to_string(merges_.size()) + "]", "expected \"a b\"");
        merges_.push_back({mergeBytes_.size(), static_cast<uint32_t>(space), static_cast<uint32_t>(merge.size() - space - 1)});
        mergeBytes_.append(merge, 0, space);
        mergeBytes_.append(merge, space + 1);
        return true;
    }
    bool mergePart(const std::string& part) {
        if (++parts_ > 2) return wrong();
        if (parts_ == 1) merges_.push_back({pairStart_, static_cast<uint32_t>(part.size()), 0});
        else merges_.back().right = static_cast<uint32_t>(part.size());
        mergeBytes_.append(part);
        return true;
    }

    BpeTables& out_;
    nlohmann::detail::json_sax_dom_parser<json> dom_;
    std::string source_;
    State state_ = State::None;
    Pending pending_ = Pending::Other;
    std::vector<Level> levels_;
    std::string vocabKey_;
    std::string mergeBytes_;
    std::vector<PendingMerge> merges_;
    uint64_t pairStart_ = 0;
    int parts_ = 0;
};

}  // namespace

BpeTables readBpeTables(std::string_view text, const std::string& source) {
    BpeTables tables;
    BpeTablesReader reader(tables, source);
    try {
        json::sax_parse(text.begin(), text.end(), &reader);
    } catch (const json::exception& e) {
        fail(source, std::string("not valid JSON (") + e.what() + ")");
    }
    reader.resolveMerges();
    return tables;
}

}  // namespace hy3
