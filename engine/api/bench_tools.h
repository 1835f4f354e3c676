#pragma once
// Engine facade for `hy3 bench model|train|tokenizer` (engine/bench). No torch headers.
#include "bench/model_bench.h"
#include "bench/tokenizer_bench.h"
#include "bench/train_bench.h"

namespace hy3::api {

using hy3::benchModel;
using hy3::benchTokenizer;
using hy3::benchTrain;
using hy3::ModelBenchRequest;
using hy3::ModelBenchResult;
using hy3::RankBench;
using hy3::TimeSplit;
using hy3::TokenizerBenchResult;
using hy3::TrainBenchRequest;
using hy3::TrainBenchResult;

}  // namespace hy3::api
