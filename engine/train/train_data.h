#pragma once
// The trainer's view of the token cache: the rows of each epoch in the packing plan's order, taken
// a global batch at a time, with a cursor (epoch, row) that a checkpoint saves so a resumed run
// sees exactly the rows it would have seen.
#include "data/token_cache.h"
#include "model/hy3_model.h"

#include <cstdint>
#include <vector>

namespace hy3 {

// A micro-batch ready for the model, and what it holds.
struct MicroBatch {
    Batch batch;
    int64_t tokens = 0;       // rows x seq_len (what the model computes)
    int64_t realTokens = 0;   // tokens that are not padding
    int64_t labelTokens = 0;  // positions that count in the loss (countLossTokens); the step needs the
                              // whole global batch's total before the first backward
};

// Converts assembled rows into the model's tensors.
MicroBatch toMicroBatch(const RowBatch& rows);

struct DataCursor {
    int64_t epoch = 0;
    int64_t row = 0;  // the next row of the epoch's plan
};

class TrainData {
public:
    TrainData(const CacheSplit& split, int64_t seqLen, bool packing, uint64_t seed, int32_t padId);

    int64_t rowsPerEpoch() const { return rowsPerEpoch_; }
    const DataCursor& cursor() const { return cursor_; }
    void seek(const DataCursor& cursor);

    // The next global batch of `rows` rows (an epoch that runs out continues with the next epoch's
    // plan, shuffled with another seed); this rank takes share `shard` of `shards` equal shares,
    // as micro-batches of `microBatch` rows. Every rank advances the cursor by the whole batch.
    std::vector<MicroBatch> nextGlobalBatch(int64_t rows, int64_t microBatch, int64_t shard = 0, int64_t shards = 1);

private:
    void planEpoch(int64_t epoch);

    const CacheSplit& split_;
    int64_t seqLen_;
    bool packing_;
    uint64_t seed_;
    int32_t padId_;
    int64_t rowsPerEpoch_ = 0;
    int64_t plannedEpoch_ = -1;
    std::vector<PackedRow> plan_;
    DataCursor cursor_;
};

// The rows of a split (the validation set) for share `shard` of `shards`, in micro-batches. Every
// share has the same number of micro-batches (ranks exchanging tokens must run equally many
// forwards): a share that runs short is filled with copies whose labels are all ignored.
std::vector<MicroBatch> allRows(const CacheSplit& split, int64_t seqLen, bool packing, uint64_t seed, int32_t padId,
                                int64_t microBatch, int64_t shard = 0, int64_t shards = 1);

}  // namespace hy3
