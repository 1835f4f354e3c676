#include "data/packing.h"

#include "util/error.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

namespace hy3 {

void seededShuffle(std::vector<int64_t>& items, uint64_t seed) {
    std::mt19937_64 random(seed);
    for (size_t i = items.size(); i > 1; --i) {
        const size_t j = static_cast<size_t>(random() % i);
        std::swap(items[i - 1], items[j]);
    }
}

std::vector<PackedRow> packBestFit(const std::vector<int64_t>& lengths, int64_t capacity, uint64_t seed) {
    std::vector<int64_t> order(lengths.size());
    std::iota(order.begin(), order.end(), 0);
    seededShuffle(order, seed);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[static_cast<size_t>(a)] > lengths[static_cast<size_t>(b)]; });
    std::vector<PackedRow> rows;
    std::multimap<int64_t, size_t> byRoom;  // room left -> row
    for (int64_t doc : order) {
        const int64_t len = lengths[static_cast<size_t>(doc)];
        if (len > capacity) fail("packing", "document " + std::to_string(doc) + " has " + std::to_string(len) + " tokens, more than a row (" + std::to_string(capacity) + ")");
        auto it = byRoom.lower_bound(len);  // the fullest row with room
        size_t row;
        if (it == byRoom.end()) {
            row = rows.size();
            rows.emplace_back();
        } else {
            row = it->second;
            byRoom.erase(it);
        }
        rows[row].docs.push_back(doc);
        rows[row].tokens += len;
        if (capacity - rows[row].tokens > 0) byRoom.emplace(capacity - rows[row].tokens, row);
    }
    std::vector<int64_t> rowOrder(rows.size());
    std::iota(rowOrder.begin(), rowOrder.end(), 0);
    seededShuffle(rowOrder, seed ^ 0x9E3779B97F4A7C15ull);
    std::vector<PackedRow> shuffled;
    shuffled.reserve(rows.size());
    for (int64_t r : rowOrder) shuffled.push_back(std::move(rows[static_cast<size_t>(r)]));
    return shuffled;
}

std::vector<PackedRow> onePerRow(const std::vector<int64_t>& lengths, uint64_t seed) {
    std::vector<int64_t> order(lengths.size());
    std::iota(order.begin(), order.end(), 0);
    seededShuffle(order, seed);
    std::vector<PackedRow> rows;
    rows.reserve(order.size());
    for (int64_t doc : order) rows.push_back({{doc}, lengths[static_cast<size_t>(doc)]});
    return rows;
}

RowBatch assembleRows(const DocumentSource& source, const std::vector<PackedRow>& rows, size_t first, size_t count, int64_t seqLen,
                      int32_t padId) {
    RowBatch b;
    b.rows = static_cast<int64_t>(count);
    b.seqLen = seqLen;
    const size_t total = count * static_cast<size_t>(seqLen);
    b.ids.assign(total, padId);
    b.labels.assign(total, -100);
    b.positions.assign(total, 0);
    b.attention.assign(total, 0);
    for (size_t r = 0; r < count; ++r) {
        const PackedRow& row = rows[(first + r) % rows.size()];
        int64_t at = static_cast<int64_t>(r) * seqLen;
        const int64_t rowEnd = at + seqLen;
        for (int64_t doc : row.docs) {
            const int64_t len = std::min(source.length(doc), rowEnd - at);
            const int32_t* ids = source.ids(doc);
            const uint8_t* mask = source.mask(doc);
            b.cuSeqlens.push_back(at);
            for (int64_t i = 0; i < len; ++i) {
                const size_t t = static_cast<size_t>(at + i);
                b.ids[t] = ids[i];
                b.labels[t] = mask[i] ? ids[i] : -100;
                b.positions[t] = i;
                b.attention[t] = 1;
            }
            at += len;
            b.realTokens += len;
        }
        if (at < rowEnd) b.cuSeqlens.push_back(at);  // the padding tail is a segment of its own
    }
    b.cuSeqlens.push_back(static_cast<int64_t>(total));
    return b;
}

}  // namespace hy3
