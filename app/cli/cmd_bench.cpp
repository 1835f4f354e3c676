#include "api/bench_tools.h"
#include "cli/commands.h"
#include "cli/formats.h"

#include <iostream>

namespace hy3::cli {

namespace {

void addBenchModel(CLI::App& bench, Action& action) {
    auto* cmd = bench.add_subcommand("model", "forward and forward+backward time, tokens/s and MFU of a model shape");
    auto req = std::make_shared<api::ModelBenchRequest>();
    auto json = std::make_shared<bool>(false);
    auto* preset = cmd->add_option("--preset", req->source, "preset name");
    auto* model = cmd->add_option("--model", req->source, "model directory (its config.json)");
    preset->excludes(model);
    cmd->add_option("--seq-len", req->seqLen, "tokens per row")->capture_default_str();
    cmd->add_option("--batch", req->batch, "rows per step")->capture_default_str();
    cmd->add_option("--threads", req->threads, "CPU threads (default: LibTorch's)");
    cmd->add_option("--iterations", req->iterations, "timed steps (median reported)")->capture_default_str();
    cmd->add_option("--warmup", req->warmup, "untimed steps first")->capture_default_str();
    cmd->add_option("--dtype", req->dtype, "fp32 or bf16")->capture_default_str();
    cmd->add_option("--device", req->device, "auto (a GPU when one is visible), cpu or cuda; each rank its LOCAL_RANK GPU")->capture_default_str();
    cmd->add_option("--layers", req->layers, "only the first N decoder layers of the model (0: all)")->capture_default_str();
    cmd->add_flag("--reference", req->reference, "time the plain eager reference implementation instead");
    cmd->add_flag("--json", *json, "print one JSON object");
    cmd->callback([&action, req, json, preset, model] {
        if (preset->count() + model->count() == 0) throw CLI::RequiredError("--preset or --model");
        action = [req, json] {
            const api::ModelBenchResult r = api::benchModel(*req);
            std::cout << (*json ? modelBenchJson(r) + "\n" : formatModelBench(r));
            return 0;
        };
    });
}

void addBenchTrain(CLI::App& bench, Action& action) {
    auto* cmd = bench.add_subcommand("train", "full training steps (forward, backward, clipping, AdamW): step time, tokens/s, MFU");
    auto req = std::make_shared<api::TrainBenchRequest>();
    auto json = std::make_shared<bool>(false);
    auto* preset = cmd->add_option("--preset", req->source, "preset name");
    auto* model = cmd->add_option("--model", req->source, "model directory (its config.json)");
    preset->excludes(model);
    cmd->add_option("--seq-len", req->seqLen, "tokens per row")->capture_default_str();
    cmd->add_option("--micro-batch", req->microBatch, "rows per forward/backward")->capture_default_str();
    cmd->add_option("--accumulation", req->accumulation, "micro-batches per step")->capture_default_str();
    cmd->add_option("--threads", req->threads, "CPU threads (default: LibTorch's)");
    cmd->add_option("--steps", req->steps, "timed steps (median reported)")->capture_default_str();
    cmd->add_option("--warmup", req->warmup, "untimed steps first")->capture_default_str();
    cmd->add_option("--dtype", req->dtype, "fp32 or bf16")->capture_default_str();
    cmd->add_option("--device", req->device, "auto (a GPU when one is visible), cpu or cuda; each rank its LOCAL_RANK GPU")->capture_default_str();
    cmd->add_option("--layers", req->layers, "only the first N decoder layers of the model (0: all)")->capture_default_str();
    cmd->add_flag("--activation-checkpointing", req->activationCheckpointing, "recompute each block in backward");
    cmd->add_option("--layout", req->layout, "pp=N,dp=N,ep=N: run under hy3 launch with pp x dp ranks");
    cmd->add_option("--lora-rank", req->loraRank, "LoRA of this rank on every module (experts included) on a frozen base; 0: full");
    auto* afterBackward = cmd->add_flag("--sync-after-backward", "sum the gradients only after the backward (to measure the overlap)");
    cmd->add_flag("--json", *json, "print one JSON object");
    cmd->callback([&action, req, json, preset, model, afterBackward] {
        req->overlapGradientSync = afterBackward->count() == 0;
        if (preset->count() + model->count() == 0) throw CLI::RequiredError("--preset or --model");
        action = [req, json] {
            const api::TrainBenchResult r = api::benchTrain(*req);
            if (r.printer) std::cout << (*json ? trainBenchJson(r) + "\n" : formatTrainBench(r));
            return 0;
        };
    });
}

void addBenchTokenizer(CLI::App& bench, Action& action) {
    auto* cmd = bench.add_subcommand("tokenizer", "MB/s of the engine's tokenizer on one thread (scripts/bench-tokenizer.sh compares HF's)");
    auto tokenizer = std::make_shared<std::string>();
    auto corpus = std::make_shared<std::string>();
    auto saveCorpus = std::make_shared<std::string>();
    auto repeats = std::make_shared<int>(3);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("--tokenizer", *tokenizer, "folder with tokenizer.json (default: the bundled byte-level tokenizer)");
    cmd->add_option("--corpus", *corpus, "JSONL of strings (default: a generated varied corpus of 20,000 lines)");
    cmd->add_option("--save-corpus", *saveCorpus, "write the generated corpus here (to time another tokenizer on it)");
    cmd->add_option("--repeats", *repeats, "timed passes over the corpus")->capture_default_str();
    cmd->add_flag("--json", *json, "print one JSON object");
    cmd->callback([&action, tokenizer, corpus, saveCorpus, repeats, json] {
        action = [tokenizer, corpus, saveCorpus, repeats, json] {
            const api::TokenizerBenchResult r = api::benchTokenizer(*tokenizer, *corpus, *repeats, *saveCorpus);
            std::cout << (*json ? tokenizerBenchJson(r) + "\n" : formatTokenizerBench(r));
            return 0;
        };
    });
}

}  // namespace

void addBenchCommand(CLI::App& app, Action& action) {
    auto* bench = app.add_subcommand("bench", "benchmarks that report what they measured");
    bench->require_subcommand(1);
    addBenchModel(*bench, action);
    addBenchTrain(*bench, action);
    addBenchTokenizer(*bench, action);
}

}  // namespace hy3::cli
