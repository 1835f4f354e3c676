#include "api/train_tools.h"

#include "checkpoint/model_loader.h"
#include "checkpoint/verify.h"
#include "config/model_cost.h"
#include "data/chat_format.h"
#include "model/generate.h"
#include "runtime/process_setup.h"
#include "runtime/system_info.h"
#include "train/step.h"
#include "util/error.h"
#include "util/format.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

namespace hy3::api {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

torch::Dtype parseDtype(const std::string& name) {
    if (name == "fp32") return torch::kFloat;
    if (name == "bf16") return torch::kBFloat16;
    fail("--dtype", "expected fp32 or bf16, got \"" + name + "\"");
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Full rows of random tokens, every position in the loss (what a packed SFT batch costs).
MicroBatch randomMicroBatch(const ModelConfig& c, int64_t rows, int64_t seqLen, at::Generator& gen) {
    MicroBatch m;
    m.batch.input_ids = torch::randint(c.vocab_size, {rows, seqLen}, gen, torch::kLong);
    m.batch.labels = m.batch.input_ids.clone();
    m.tokens = m.realTokens = rows * seqLen;
    m.labelTokens = rows * (seqLen - 1);
    return m;
}

// Hy3 replies open with a reasoning block, empty in no_think mode: "<think>...</think>answer".
void splitReasoning(GenerateResult& r) {
    const std::string open = "<think>", close = "</think>";
    if (r.text.compare(0, open.size(), open) != 0) return;
    const size_t end = r.text.find(close);
    if (end == std::string::npos) return;
    r.reasoning = r.text.substr(open.size(), end - open.size());
    r.text = r.text.substr(end + close.size());
}

}  // namespace

TrainBenchResult benchTrain(const TrainBenchRequest& r) {
    if (r.seqLen < 2 || r.microBatch < 1 || r.accumulation < 1 || r.steps < 1)
        fail("bench train", "--seq-len must be >= 2, --micro-batch, --accumulation and --steps >= 1");
    if (r.threads > 0) at::set_num_threads(r.threads);
    ModelOptions options;
    options.dtype = parseDtype(r.dtype);
    options.activationCheckpointing = r.activationCheckpointing;
    std::error_code ec;
    const bool isDir = fs::is_directory(r.source, ec);
    // Weights do not change the cost; a model directory only contributes its config.
    Hy3Model model = isDir ? Hy3Model(loadModelConfig(r.source), options) : openModel(r.source, options, 0);
    if (isDir) model->initializeWeights(0);
    const ModelConfig& c = model->config();
    std::vector<std::pair<std::string, torch::Tensor>> params;
    for (auto& item : model->named_parameters(true)) params.emplace_back(item.key(), item.value());
    AdamW optimizer(params, AdamWOptions{0.9, 0.95, 1e-8, 0.01});

    auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
    std::vector<MicroBatch> batches;
    for (int64_t i = 0; i < r.accumulation; ++i) batches.push_back(randomMicroBatch(c, r.microBatch, r.seqLen, gen));
    StepSettings settings;
    settings.lr = 1e-5;
    settings.gradClip = 1.0;
    settings.expertBiasUpdate = 1e-3;
    for (int i = 0; i < r.warmup; ++i) trainStep(*model, optimizer, batches, settings);

    const int64_t tokens = r.accumulation * r.microBatch * r.seqLen;
    std::vector<double> seconds, peak, ratio;
    for (int i = 0; i < r.steps; ++i) {
        seconds.push_back(trainStep(*model, optimizer, batches, settings).seconds);
        peak.push_back(measureMatmulGflops(2048, at::get_num_threads(), 1) * 1e9);
        ratio.push_back(modelFlopsUtilization(c, r.seqLen, tokens, seconds.back(), peak.back()));
    }
    TrainBenchResult out;
    out.source = r.source;
    out.seqLen = r.seqLen;
    out.microBatch = r.microBatch;
    out.accumulation = r.accumulation;
    out.threads = at::get_num_threads();
    out.dtype = r.dtype;
    out.stepMs = median(seconds) * 1e3;
    out.tokensPerSecond = static_cast<double>(tokens) / median(seconds);
    out.trainingFlopsPerToken = trainingFlopsPerToken(c, r.seqLen);
    out.flopsPerSecond = out.trainingFlopsPerToken * out.tokensPerSecond;
    out.peakFlopsPerSecond = median(peak);
    out.mfu = median(ratio);
    out.peakRssBytes = peakRssBytes();
    return out;
}

std::string formatTrainBench(const TrainBenchResult& b) {
    std::ostringstream o;
    o << "train " << b.source << " (" << b.dtype << "), " << b.accumulation << " x micro-batch " << b.microBatch << " x seq "
      << b.seqLen << ", " << b.threads << " thread(s)\n";
    o << "step               " << fixed(b.stepMs, 1) << " ms  (forward, backward, clipping, AdamW, bias update)\n";
    o << "tokens/s           " << fixed(b.tokensPerSecond, 0) << "\n";
    o << "achieved           " << fixed(b.flopsPerSecond / 1e9, 1) << " GFLOP/s of model FLOPs (" << siUnits(b.trainingFlopsPerToken, "FLOP")
      << "/token)\n";
    o << "matmul peak        " << fixed(b.peakFlopsPerSecond / 1e9, 1) << " GFLOP/s (2048^3 fp32, same threads, timed between steps)\n";
    o << "MFU                " << fixed(100 * b.mfu, 1) << " % (median of per-step ratios)\n";
    o << "peak RSS           " << fixed(static_cast<double>(b.peakRssBytes) / (1 << 20), 0) << " MiB\n";
    return o.str();
}

std::string trainBenchJson(const TrainBenchResult& b) {
    return json{{"source", b.source},         {"dtype", b.dtype},
                {"seq_len", b.seqLen},        {"micro_batch", b.microBatch},
                {"accumulation", b.accumulation}, {"threads", b.threads},
                {"step_ms", b.stepMs},        {"tokens_per_s", b.tokensPerSecond},
                {"flops_per_s", b.flopsPerSecond}, {"peak_flops_per_s", b.peakFlopsPerSecond},
                {"mfu", b.mfu},               {"training_flops_per_token", b.trainingFlopsPerToken},
                {"peak_rss_bytes", b.peakRssBytes}}
        .dump(2);
}

std::vector<GenerateResult> generate(const GenerateRequest& r) {
    if (r.threads > 0) at::set_num_threads(r.threads);
    const CheckpointLocation where = locateCheckpoint(fs::absolute(r.model));
    ModelOptions options;
    options.dtype = parseDtype(r.dtype);
    Hy3Model model = openModel(where.modelDir.string(), options, 0);
    const fs::path tokenizerDir = r.tokenizer.empty() ? where.modelDir : fs::path(r.tokenizer);
    const ChatFormat format = ChatFormat::choose(Tokenizer::load(tokenizerDir), r.chatTemplate, r.reasoningEffort);
    const Tokenizer& tokenizer = format.tokenizer();

    GenerateOptions g;
    g.maxNewTokens = r.maxNewTokens;
    g.temperature = r.temperature;
    g.topP = r.topP;
    g.seed = r.seed;
    if (model->config().eos_token_id >= 0) g.stopIds.push_back(static_cast<int32_t>(model->config().eos_token_id));
    const int32_t eos = tokenizer.tokenId(tokenizer.eosToken());
    if (eos >= 0) g.stopIds.push_back(eos);

    std::vector<GenerateResult> out;
    for (const std::string& prompt : r.prompts) {
        json messages = json::array();
        if (!r.system.empty()) messages.push_back({{"role", "system"}, {"content", r.system}});
        messages.push_back({{"role", "user"}, {"content", prompt}});
        const std::vector<int32_t> ids = tokenizer.encode(format.render(messages, json(), true));
        const auto started = std::chrono::steady_clock::now();
        std::vector<int32_t> reply = generateTokens(*model, ids, g);
        GenerateResult result;
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        result.prompt = prompt;
        result.promptTokens = static_cast<int64_t>(ids.size());
        result.newTokens = static_cast<int64_t>(reply.size());
        result.stopped = !reply.empty() && std::find(g.stopIds.begin(), g.stopIds.end(), reply.back()) != g.stopIds.end();
        if (result.stopped) reply.pop_back();
        result.text = tokenizer.decode(reply, true);
        splitReasoning(result);
        out.push_back(std::move(result));
    }
    return out;
}

std::vector<Question> readQuestions(const std::string& file) {
    std::ifstream in(file);
    if (!in) fail(file, "cannot open");
    std::vector<Question> out;
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = file + ":" + std::to_string(number);
        json j;
        try {
            j = json::parse(line);
        } catch (const json::parse_error& e) {
            fail(where, std::string("not valid JSON (") + e.what() + ")");
        }
        const char* key = j.is_object() && j.contains("question") ? "question" : "prompt";
        if (!j.is_object() || !j.contains(key) || !j[key].is_string()) fail(where, "expected {\"question\": \"...\", \"answer\": \"...\"}");
        Question q;
        q.question = j[key].get<std::string>();
        if (j.contains("answer") && j["answer"].is_string()) q.answer = j["answer"].get<std::string>();
        out.push_back(std::move(q));
    }
    if (out.empty()) fail(file, "has no questions");
    return out;
}

}  // namespace hy3::api
