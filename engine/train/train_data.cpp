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

MicroBatch toMicroBatch(const RowBatch& rows) {
    MicroBatch m;
    m.batch.input_ids = rowsTensor(rows.ids, rows.rows, rows.seqLen);
    m.batch.labels = rowsTensor(rows.labels, rows.rows, rows.seqLen);
    m.batch.position_ids = rowsTensor(rows.positions, rows.rows, rows.seqLen);
    m.batch.attention_mask = rowsTensor(rows.attention, rows.rows, rows.seqLen);
    m.batch.cu_seqlens = torch::tensor(rows.cuSeqlens, torch::kLong);
    m.tokens = rows.rows * rows.seqLen;
    m.realTokens = rows.realTokens;
    m.labelTokens = countLossTokens(m.batch);  // the model's own rule, so the divisor matches its loss
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

std::vector<MicroBatch> TrainData::nextGlobalBatch(int64_t rows, int64_t microBatch, int64_t shard, int64_t shards) {
    // The batch's rows in order, across an epoch boundary if need be.
    std::vector<PackedRow> batch;
    while (static_cast<int64_t>(batch.size()) < rows) {
        planEpoch(cursor_.epoch);
        if (cursor_.row >= static_cast<int64_t>(plan_.size())) {
            cursor_ = {cursor_.epoch + 1, 0};
            continue;
        }
        batch.push_back(plan_[static_cast<size_t>(cursor_.row++)]);
    }
    const int64_t per = rows / shards;
    const std::vector<PackedRow> mine(batch.begin() + shard * per, batch.begin() + (shard + 1) * per);
    std::vector<MicroBatch> out;
    for (size_t first = 0; first < mine.size(); first += static_cast<size_t>(microBatch)) {
        const size_t count = std::min(mine.size() - first, static_cast<size_t>(microBatch));
        out.push_back(toMicroBatch(assembleRows(split_, mine, first, count, seqLen_, padId_)));
    }
    return out;
}

std::vector<MicroBatch> allRows(const CacheSplit& split, int64_t seqLen, bool packing, uint64_t seed, int32_t padId, int64_t microBatch,
                                int64_t shard, int64_t shards) {
    std::vector<MicroBatch> out;
    if (split.documents() == 0) return out;
    const std::vector<PackedRow> plan = planRows(split, seqLen, packing, seed);
    const int64_t n = static_cast<int64_t>(plan.size()), per = (n + shards - 1) / shards;
    const int64_t begin = std::min(n, shard * per), end = std::min(n, begin + per);
    for (int64_t first = begin; first < end; first += microBatch) {
        const int64_t count = std::min(end - first, microBatch);
        out.push_back(toMicroBatch(assembleRows(split, plan, static_cast<size_t>(first), static_cast<size_t>(count), seqLen, padId)));
    }
    const size_t wanted = static_cast<size_t>((per + microBatch - 1) / microBatch);
    while (out.size() < wanted) {
        MicroBatch filler = toMicroBatch(assembleRows(split, plan, 0, 1, seqLen, padId));
        filler.batch.labels.fill_(-100);
        filler.labelTokens = filler.realTokens = 0;
        out.push_back(std::move(filler));
    }
    return out;
}

}  // namespace hy3
