#include "bench/train_bench.h"

#include "bench/time_split.h"

#include "config/model_cost.h"
#include "config/model_source.h"
#include "dist/distributed.h"
#include "dist/parallel_step.h"
#include "model/dtype.h"
#include "runtime/device.h"
#include "runtime/process_setup.h"
#include "runtime/system_info.h"
#include "train/adamw.h"
#include "train/gradients.h"
#include "train/parameters.h"
#include "train/step.h"
#include "util/error.h"
#include "util/stats.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>

namespace hy3 {
namespace {

// Full rows of random tokens, every position in the loss (what a packed SFT batch costs).
MicroBatch randomMicroBatch(const ModelConfig& c, int64_t rows, int64_t seqLen, at::Generator& gen) {
    MicroBatch m;
    m.batch.input_ids = torch::randint(c.vocab_size, {rows, seqLen}, gen, torch::kLong);
    m.batch.labels = m.batch.input_ids.clone();
    m.tokens = m.realTokens = rows * seqLen;
    m.labelTokens = rows * (seqLen - 1);
    return m;
}

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
    const ModelConfig config = firstLayers(resolveModelSource(r.source).config, r.layers, "--layers");
    const Layout layout = parseLayout(r.layout);
    const DistEnv env = readDistEnv();
    const Mesh mesh(layout, env.worldSize, static_cast<int>(config.num_experts), static_cast<int>(config.num_hidden_layers));
    const torch::Device device = resolveDevice(r.device, env.localRank, "--device");
    useDevice(device);
    Distributed dist(env, mesh, DistTimeouts{}, device.is_cuda());
    const MeshPosition& pos = dist.position();

    ModelOptions options;
    options.dtype = parseDtype(r.dtype);
    options.device = device;
    options.activationCheckpointing = r.activationCheckpointing;
    const auto stages = pipelineStages(config, layout.pp, r.seqLen);
    std::tie(options.layerFirst, options.layerLast) = stages[static_cast<size_t>(pos.stage)];
    std::tie(options.expertFirst, options.expertLast) = mesh.expertRange(env.rank);
    if (layout.ep > 1) options.expertExchange = makeExpertExchange(dist);
    // Weights do not change the cost: initialised, whatever the source.
    Hy3Model model(config, options);
    model->initializeWeights(0);
    std::vector<std::pair<std::string, torch::Tensor>> params;
    LoraSpec lora;
    LoraAdapters adapters{nullptr};
    if (r.loraRank > 0) {
        lora.rank = r.loraRank;
        lora.alpha = 2.0 * static_cast<double>(r.loraRank);
        lora.targets = {std::begin(kLoraModules), std::end(kLoraModules)};
        lora.attention = lora.dense_mlp = lora.shared_expert = lora.routed_experts = true;
        adapters = LoraAdapters(config, loraSettingsOf(lora), options.layerFirst, options.layerLast, options.expertFirst,
                                options.expertLast < 0 ? config.num_experts : options.expertLast, options.device, 0);
        {  // a trained adapter's cost, not an untouched one's (B = 0 is no cheaper, but be fair)
            torch::NoGradGuard noGrad;
            for (const LoraPair& p : adapters->pairs()) p.B.normal_(0, 1e-3);
        }
        model->attachAdapters(adapters);
        params = applyLora(*model, adapters, false);
    } else {
        for (auto& item : model->named_parameters(true)) params.emplace_back(item.key(), item.value());
    }
    const double flopsPerToken = r.loraRank > 0 ? loraTrainingFlopsPerToken(config, r.seqLen, lora) : trainingFlopsPerToken(config, r.seqLen);
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
    settings.overlapGradientSync = r.overlapGradientSync;
    for (int i = 0; i < r.warmup; ++i) trainStep(context, batches, settings);
    dist.expertParallel().takeAllToAllBytes();

    const int64_t tokens = layout.dp * r.accumulation * r.microBatch * r.seqLen;  // the whole global batch
    std::vector<double> seconds, peak, ratio, sync, update;
    double allToAll = 0;
    GradientSumStats buckets;
    for (int i = 0; i < r.steps; ++i) {
        const StepResult result = trainStep(context, batches, settings);
        sync.push_back(result.gradientSyncSeconds);
        update.push_back(result.updateSeconds);
        buckets = result.gradientSum;
        std::vector<double> step{result.seconds};
        allToAll += static_cast<double>(dist.expertParallel().takeAllToAllBytes());
        std::vector<double> rankPeak{measurePeakFlops(device, options.dtype)};
        // The step takes as long as its slowest rank; the peak is every rank's together.
        torch::Tensor slowest = torch::tensor(step, torch::kDouble);
        dist.world().allReduceMax(slowest);
        sumOver(dist.world(), rankPeak);
        seconds.push_back(slowest.item<double>());
        peak.push_back(rankPeak[0]);
        ratio.push_back(modelFlopsUtilization(flopsPerToken, tokens, seconds.back(), peak.back()));
    }
    // Every rank's own figures, gathered (each fills its slot of a sum).
    const int world = env.worldSize;
    constexpr size_t kFields = 10;
    std::vector<double> rows(static_cast<size_t>(world) * kFields, 0.0);
    double* mine = rows.data() + static_cast<size_t>(env.rank) * kFields;
    std::vector<double> own = seconds;
    mine[0] = pos.stage, mine[1] = pos.dpRank, mine[2] = pos.epRank, mine[3] = median(own) * 1e3;
    mine[4] = allToAll / r.steps, mine[5] = static_cast<double>(peakRssBytes());
    mine[6] = median(sync) * 1e3, mine[7] = median(update) * 1e3, mine[8] = buckets.buckets, mine[9] = buckets.startedEarly;
    sumOver(dist.world(), rows);

    TrainBenchResult out;
    out.source = r.source;
    out.seqLen = r.seqLen;
    out.microBatch = r.microBatch;
    out.accumulation = r.accumulation;
    out.threads = at::get_num_threads();
    out.device = device.str();
    out.dtype = r.dtype;
    out.pp = layout.pp, out.dp = layout.dp, out.ep = layout.ep;
    out.stepMs = median(seconds) * 1e3;
    out.tokensPerSecond = static_cast<double>(tokens) / median(seconds);
    out.trainingFlopsPerToken = flopsPerToken;
    out.loraRank = r.loraRank;
    out.overlapGradientSync = r.overlapGradientSync;
    out.flopsPerSecond = out.trainingFlopsPerToken * out.tokensPerSecond;
    out.peakFlopsPerSecond = median(peak);
    out.mfu = median(ratio);
    for (int rank = 0; rank < world; ++rank) {
        const double* row = rows.data() + static_cast<size_t>(rank) * kFields;
        out.ranks.push_back({rank, static_cast<int>(row[0]), static_cast<int>(row[1]), static_cast<int>(row[2]), row[3], row[4],
                             row[6], static_cast<int>(row[8]), static_cast<int>(row[9]), row[7], static_cast<uint64_t>(row[5])});
        out.peakRssBytes = std::max(out.peakRssBytes, static_cast<uint64_t>(row[5]));
    }
    out.updateMs = out.ranks.front().updateMs;  // rank 0's
    out.printer = env.rank == 0;
    // Extra steps with the phase marks: every rank runs them (they exchange), rank 0 reports its own.
    out.split = timeSplit(r.steps, [&] { synchronize(device); }, [&](PhaseTimer& timer) {
        StepSettings timed = settings;
        timed.phases = &timer;
        trainStep(context, batches, timed);
    });
    return out;
}

}  // namespace hy3
