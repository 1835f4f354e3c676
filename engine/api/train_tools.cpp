#include "api/train_tools.h"

#include "checkpoint/model_loader.h"
#include "checkpoint/verify.h"
#include "config/model_source.h"
#include "dist/distributed.h"
#include "dist/parallel_step.h"
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

namespace {

Layout parseLayout(const std::string& text) {
    Layout l;
    std::string rest = text;
    while (!rest.empty()) {
        const std::string item = rest.substr(0, rest.find(','));
        rest = rest.find(',') == std::string::npos ? "" : rest.substr(rest.find(',') + 1);
        const size_t eq = item.find('=');
        int64_t value = 0;
        try {
            value = eq == std::string::npos ? 0 : std::stoll(item.substr(eq + 1));
        } catch (const std::exception&) {
            value = 0;
        }
        const std::string key = item.substr(0, eq);
        if (value < 1 || (key != "pp" && key != "dp" && key != "ep"))
            fail("--layout", "expected pp=N,dp=N,ep=N (each at least 1), got \"" + text + "\"");
        (key == "pp" ? l.pp : key == "dp" ? l.dp : l.ep) = value;
    }
    return l;
}

}  // namespace

TrainBenchResult benchTrain(const TrainBenchRequest& r) {
    if (r.seqLen < 2 || r.microBatch < 1 || r.accumulation < 1 || r.steps < 1)
        fail("bench train", "--seq-len must be >= 2, --micro-batch, --accumulation and --steps >= 1");
    if (r.threads > 0) at::set_num_threads(r.threads);
    const ModelConfig config = resolveModelSource(r.source).config;
    const Layout layout = parseLayout(r.layout);
    const DistEnv env = readDistEnv();
    const Mesh mesh(layout, env.worldSize, static_cast<int>(config.num_experts), static_cast<int>(config.num_hidden_layers));
    Distributed dist(env, mesh, DistTimeouts{}, false);
    const MeshPosition& pos = dist.position();

    ModelOptions options;
    options.dtype = parseDtype(r.dtype);
    options.activationCheckpointing = r.activationCheckpointing;
    const auto stages = pipelineStages(config, layout.pp, r.seqLen);
    std::tie(options.layerFirst, options.layerLast) = stages[static_cast<size_t>(pos.stage)];
    std::tie(options.expertFirst, options.expertLast) = mesh.expertRange(env.rank);
    if (layout.ep > 1) options.expertExchange = makeExpertExchange(dist);
    // Weights do not change the cost: initialised, whatever the source.
    Hy3Model model(config, options);
    model->initializeWeights(0);
    std::vector<std::pair<std::string, torch::Tensor>> params;
    for (auto& item : model->named_parameters(true)) params.emplace_back(item.key(), item.value());
    GradientBuffers gradients(params);
    std::unique_ptr<StepComm> comm = env.worldSize > 1 ? std::unique_ptr<StepComm>(std::make_unique<DistStepComm>(dist)) : std::make_unique<StepComm>();
    const std::vector<size_t> owned = comm->ownedParameters(gradients);
    AdamW optimizer(gradients, AdamWOptions{0.9, 0.95, 1e-8, 0.01}, owned);
    StepContext context{*model, gradients, optimizer, *comm, owned};

    // The stages of one replica must see the same tokens; replicas see different ones.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(1234 + static_cast<uint64_t>(pos.dpRank));
    std::vector<MicroBatch> batches;
    for (int64_t i = 0; i < r.accumulation; ++i) batches.push_back(randomMicroBatch(config, r.microBatch, r.seqLen, gen));
    StepSettings settings;
    settings.lr = 1e-5;
    settings.gradClip = 1.0;
    settings.expertBiasUpdate = 1e-3;
    for (int i = 0; i < r.warmup; ++i) trainStep(context, batches, settings);
    dist.expertParallel().takeAllToAllBytes();

    const int64_t tokens = layout.dp * r.accumulation * r.microBatch * r.seqLen;  // the whole global batch
    std::vector<double> seconds, peak, ratio;
    double allToAll = 0;
    for (int i = 0; i < r.steps; ++i) {
        std::vector<double> step{trainStep(context, batches, settings).seconds};
        allToAll += static_cast<double>(dist.expertParallel().takeAllToAllBytes());
        std::vector<double> rankPeak{measureMatmulGflops(2048, at::get_num_threads(), 1) * 1e9};
        // The step takes as long as its slowest rank; the peak is every rank's together.
        torch::Tensor slowest = torch::tensor(step, torch::kDouble);
        dist.world().allReduceMax(slowest);
        sumOver(dist.world(), rankPeak);
        seconds.push_back(slowest.item<double>());
        peak.push_back(rankPeak[0]);
        ratio.push_back(modelFlopsUtilization(config, r.seqLen, tokens, seconds.back(), peak.back()));
    }
    // Every rank's own figures, gathered (each fills its slot of a sum).
    const int world = env.worldSize;
    std::vector<double> rows(static_cast<size_t>(world) * 6, 0.0);
    double* mine = rows.data() + static_cast<size_t>(env.rank) * 6;
    std::vector<double> own = seconds;
    mine[0] = pos.stage, mine[1] = pos.dpRank, mine[2] = pos.epRank, mine[3] = median(own) * 1e3;
    mine[4] = allToAll / r.steps, mine[5] = static_cast<double>(peakRssBytes());
    sumOver(dist.world(), rows);

    TrainBenchResult out;
    out.source = r.source;
    out.seqLen = r.seqLen;
    out.microBatch = r.microBatch;
    out.accumulation = r.accumulation;
    out.threads = at::get_num_threads();
    out.dtype = r.dtype;
    out.pp = layout.pp, out.dp = layout.dp, out.ep = layout.ep;
    out.stepMs = median(seconds) * 1e3;
    out.tokensPerSecond = static_cast<double>(tokens) / median(seconds);
    out.trainingFlopsPerToken = trainingFlopsPerToken(config, r.seqLen);
    out.flopsPerSecond = out.trainingFlopsPerToken * out.tokensPerSecond;
    out.peakFlopsPerSecond = median(peak);
    out.mfu = median(ratio);
    for (int rank = 0; rank < world; ++rank) {
        const double* row = rows.data() + static_cast<size_t>(rank) * 6;
        out.ranks.push_back({rank, static_cast<int>(row[0]), static_cast<int>(row[1]), static_cast<int>(row[2]), row[3], row[4],
                             static_cast<uint64_t>(row[5])});
        out.peakRssBytes = std::max(out.peakRssBytes, static_cast<uint64_t>(row[5]));
    }
    out.printer = env.rank == 0;
    return out;
}

std::string formatTrainBench(const TrainBenchResult& b) {
    std::ostringstream o;
    o << "train " << b.source << " (" << b.dtype << "), " << b.accumulation << " x micro-batch " << b.microBatch << " x seq "
      << b.seqLen << ", " << b.threads << " thread(s)";
    if (b.ranks.size() > 1) o << ", " << b.ranks.size() << " ranks: pp " << b.pp << " x dp " << b.dp << ", ep " << b.ep;
    o << "\n";
    o << "step               " << fixed(b.stepMs, 1) << " ms  (forward, backward, clipping, AdamW, bias update)\n";
    o << "tokens/s           " << fixed(b.tokensPerSecond, 0) << "\n";
    o << "achieved           " << fixed(b.flopsPerSecond / 1e9, 1) << " GFLOP/s of model FLOPs (" << siUnits(b.trainingFlopsPerToken, "FLOP")
      << "/token)\n";
    o << "matmul peak        " << fixed(b.peakFlopsPerSecond / 1e9, 1) << " GFLOP/s (2048^3 fp32, same threads, timed between steps)\n";
    o << "MFU                " << fixed(100 * b.mfu, 1) << " % (median of per-step ratios)\n";
    o << "peak RSS           " << fixed(static_cast<double>(b.peakRssBytes) / (1 << 20), 0) << " MiB" << (b.ranks.size() > 1 ? " (the largest rank)" : "") << "\n";
    if (b.ranks.size() > 1) {
        o << "rank  stage  dp  ep   step ms   all-to-all MB/step   peak RSS MiB\n";
        for (const RankBench& k : b.ranks) {
            char line[128];
            std::snprintf(line, sizeof line, "%4d  %5d  %2d  %2d  %8.1f  %19.2f  %13.0f\n", k.rank, k.stage, k.dpRank, k.epRank, k.stepMs,
                          k.allToAllBytesPerStep / 1e6, static_cast<double>(k.peakRssBytes) / (1 << 20));
            o << line;
        }
    }
    return o.str();
}

std::string trainBenchJson(const TrainBenchResult& b) {
    return json{{"source", b.source},         {"dtype", b.dtype},
                {"seq_len", b.seqLen},        {"micro_batch", b.microBatch},
                {"accumulation", b.accumulation}, {"threads", b.threads},
                {"step_ms", b.stepMs},        {"tokens_per_s", b.tokensPerSecond},
                {"flops_per_s", b.flopsPerSecond}, {"peak_flops_per_s", b.peakFlopsPerSecond},
                {"mfu", b.mfu},               {"training_flops_per_token", b.trainingFlopsPerToken},
                {"peak_rss_bytes", b.peakRssBytes},
                {"layout", {{"pp", b.pp}, {"dp", b.dp}, {"ep", b.ep}}},
                {"ranks", [&] {
                     json ranks = json::array();
                     for (const RankBench& k : b.ranks)
                         ranks.push_back({{"rank", k.rank}, {"stage", k.stage}, {"dp_rank", k.dpRank}, {"ep_rank", k.epRank},
                                          {"step_ms", k.stepMs}, {"all_to_all_bytes_per_step", k.allToAllBytesPerStep},
                                          {"peak_rss_bytes", k.peakRssBytes}});
                     return ranks;
                 }()}}
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
