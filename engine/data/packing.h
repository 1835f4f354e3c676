#pragma once
// Packing tokenized documents into rows of a fixed length, and turning rows into the arrays a
// training step consumes (ids, labels, position_ids restarting per document, cu_seqlens).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hy3 {

struct PackedRow {
    std::vector<int64_t> docs;  // document indexes, in the order they sit in the row
    int64_t tokens = 0;
};

// Best-fit decreasing: documents (at most `capacity` tokens each) in a seeded random order, then
// by length, each into the fullest row that still has room; rows come back in a seeded random
// order. Every document is placed exactly once.
std::vector<PackedRow> packBestFit(const std::vector<int64_t>& lengths, int64_t capacity, uint64_t seed);
// Padding mode: one document per row, in a seeded random order.
std::vector<PackedRow> onePerRow(const std::vector<int64_t>& lengths, uint64_t seed);

// A seeded Fisher-Yates shuffle (the same order on every platform).
void seededShuffle(std::vector<int64_t>& items, uint64_t seed);

// Rows as flat [rows x seqLen] arrays. Labels are the token where the mask is 1, else -100;
// padding after the last document of a row has attention 0. cu_seqlens lists the start of every
// document and of every padding tail over the flattened rows, and ends with rows*seqLen.
struct RowBatch {
    int64_t rows = 0, seqLen = 0;
    std::vector<int64_t> ids, labels, positions, attention;
    std::vector<int64_t> cuSeqlens;
    int64_t realTokens = 0;
};

struct DocumentSource {
    virtual ~DocumentSource() = default;
    virtual int64_t length(int64_t doc) const = 0;
    virtual const int32_t* ids(int64_t doc) const = 0;
    virtual const uint8_t* mask(int64_t doc) const = 0;
};

RowBatch assembleRows(const DocumentSource& source, const std::vector<PackedRow>& rows, size_t first, size_t count,
                      int64_t seqLen, int32_t padId);

}  // namespace hy3
