#include "train/train_data.h"

#include "data/dataset.h"
#include "util/error.h"

#include <algorithm>

namespace hy3 {

namespace {

torch::Tensor rowsTensor(const std::vector<int64_t>& values, int64_t rows, int64_t seqLen) {
    return torch::tensor(values, torch::kLong).reshape({rows, seqLen});
}

// Epoch e's plan is shuffled with its own seed; epoch 0 uses the data seed itself, so its plan is
// the one the data statistics describe.
uint64_t epochSeed(uint64_t seed, int64_t epoch) { return seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(epoch); }

}  // namespace

int64_t countLabelTokens(const RowBatch& rows) {
    int64_t count = 0;
    for (int64_t r = 0; r < rows.rows; ++r) {
        const int64_t base = r * rows.seqLen;
        for (int64_t t = 1; t < rows.seqLen; ++t)
            count += rows.labels[static_cast<size_t>(base + t)] != -100 && rows.positions[static_cast<size_t>(base + t)] > 0;
    }
    return count;
}

MicroBatch toMicroBatch(const RowBatch& rows) {
    MicroBatch m;
    m.batch.input_ids = rowsTensor(rows.ids, rows.rows, rows.seqLen);
    m.batch.labels = rowsTensor(rows.labels, rows.rows, rows.seqLen);
    m.batch.position_ids = rowsTensor(rows.positions, rows.rows, rows.seqLen);
    m.batch.attention_mask = rowsTensor(rows.attention, rows.rows, rows.seqLen);
    m.batch.cu_seqlens = torch::tensor(rows.cuSeqlens, torch::kLong);
    m.tokens = rows.rows * rows.seqLen;
    m.realTokens = rows.realTokens;
    m.labelTokens = countLabelTokens(rows);
    return m;
}

TrainData::TrainData(const CacheSplit& split, int64_t seqLen, bool packing, uint64_t seed, int32_t padId)
    : split_(split), seqLen_(seqLen), packing_(packing), seed_(seed), padId_(padId) {
    if (split.documents() == 0) fail("training data", "the train split has no documents");
    planEpoch(0);
    rowsPerEpoch_ = static_cast<int64_t>(plan_.size());
}

void TrainData::planEpoch(int64_t epoch) {
    if (plannedEpoch_ == epoch) return;
    plan_ = planRows(split_, seqLen_, packing_, epochSeed(seed_, epoch));
    plannedEpoch_ = epoch;
}

void TrainData::seek(const DataCursor& cursor) {
    planEpoch(cursor.epoch);
    if (cursor.row < 0 || cursor.row > static_cast<int64_t>(plan_.size()))
        fail("data cursor", "row " + std::to_string(cursor.row) + " is outside epoch " + std::to_string(cursor.epoch) + "'s " +
                                std::to_string(plan_.size()) + " rows (the data changed)");
    cursor_ = cursor;
}

std::vector<MicroBatch> TrainData::nextGlobalBatch(int64_t rows, int64_t microBatch) {
    std::vector<MicroBatch> out;
    int64_t left = rows;
    while (left > 0) {
        planEpoch(cursor_.epoch);
        const int64_t available = static_cast<int64_t>(plan_.size()) - cursor_.row;
        if (available <= 0) {
            cursor_ = {cursor_.epoch + 1, 0};
            continue;
        }
        // A micro-batch never straddles two epochs' plans; it is cut short at the end of one.
        const int64_t take = std::min({microBatch, left, available});
        const RowBatch assembled = assembleRows(split_, plan_, static_cast<size_t>(cursor_.row), static_cast<size_t>(take), seqLen_, padId_);
        out.push_back(toMicroBatch(assembled));
        cursor_.row += take;
        left -= take;
    }
    return out;
}

std::vector<MicroBatch> allRows(const CacheSplit& split, int64_t seqLen, bool packing, uint64_t seed, int32_t padId, int64_t microBatch) {
    std::vector<MicroBatch> out;
    if (split.documents() == 0) return out;
    const std::vector<PackedRow> plan = planRows(split, seqLen, packing, seed);
    for (size_t first = 0; first < plan.size(); first += static_cast<size_t>(microBatch)) {
        const size_t count = std::min(plan.size() - first, static_cast<size_t>(microBatch));
        out.push_back(toMicroBatch(assembleRows(split, plan, first, count, seqLen, padId)));
    }
    return out;
}

}  // namespace hy3
