#include "config/layout_plan.h"

#include "config/layout_rules.h"
#include "config/model_cost.h"
#include "config/tensor_names.h"
#include "util/format.h"

#include <algorithm>
#include <cmath>

namespace hy3 {

// What a CPU rank holds before the model: PyTorch 2.11's LibTorch with its CUDA libraries loaded
// (relocated data, kernel registrations: about 260 MB anonymous and 190 MB of library pages
// resident; Debian's CPU-only LibTorch 1.13 held about 200 MB in all).
constexpr double kCpuProcessBytes = 450.0 * 1048576;

namespace {

constexpr double kLossChunkRows = 1024;  // rows of logits the loss computes at once (ModelOptions::lossChunkRows)

// Parameters of one pipeline stage, split by whether they train (see PlanSettings).
struct StageParams {
    double replicated = 0, replicatedTrains = 0;  // every replica of the stage holds these (in the model dtype)
    double fp32 = 0, fp32Trains = 0;              // of which always fp32 (router)
    double experts = 0, expertsTrain = 0;         // routed experts: each expert-parallel rank holds 1/ep of them
    double adapters = 0, expertAdapters = 0;      // LoRA, fp32: replicated ones, and the routed experts' (all)
};

StageParams stageParameters(const ModelConfig& c, int64_t first, int64_t last, const PlanSettings& s) {
    StageParams p;
    const bool lora = s.lora;
    const auto trains = [&](Component component) {
        if (lora) return component == Component::Router && s.loraSpec.train_router;
        return !isFrozen(s.freeze, component);
    };
    const auto add = [&](Component component, double count) {
        p.replicated += count;
        if (trains(component)) p.replicatedTrains += count;
    };
    const double H = static_cast<double>(c.hidden_size);
    for (int64_t i = first; i < last; ++i) {
        add(Component::Attention, static_cast<double>(attentionParams(c)));
        add(Component::Norms, 2 * H);
        if (c.isMoeLayer(i)) {
            add(Component::Router, static_cast<double>(routerParams(c)));
            add(Component::SharedExpert, static_cast<double>(sharedExpertParams(c)));
            p.fp32 += static_cast<double>(routerParams(c));
            if (trains(Component::Router)) p.fp32Trains += static_cast<double>(routerParams(c));
            p.experts += static_cast<double>(c.num_experts * routedExpertParams(c));
            if (trains(Component::RoutedExperts)) p.expertsTrain += static_cast<double>(c.num_experts * routedExpertParams(c));
        } else {
            add(Component::DenseMlp, static_cast<double>(denseMlpParams(c)));
        }
        if (lora) {
            const LoraLayerParameters a = loraLayerParameters(c, s.loraSpec, i);
            p.adapters += static_cast<double>(a.replicated);
            p.expertAdapters += static_cast<double>(a.experts);
        }
    }
    const double embedding = static_cast<double>(c.vocab_size) * H;
    if (first == 0) add(Component::Embeddings, embedding);
    if (last == c.num_hidden_layers) {
        add(Component::Norms, H);
        if (!c.tie_word_embeddings) add(Component::LmHead, embedding);
    }
    return p;
}

std::string gib(double bytes) { return fixed(bytes / 1073741824.0, 1); }

}  // namespace

double activationBytesPerToken(const ModelConfig& c, int64_t layer, double b) {
    // What the engine's kernels keep for backward, per token: norms' inputs and outputs, the
    // residual stream, q/k/v before and after their norms and RoPE, the attention output, and
    // for the MLP its input and SwiGLU halves; a MoE layer also keeps each routed slot's input row
    // and output row and its SwiGLU halves, plus fp32 router logits, scores and weights.
    const double H = static_cast<double>(c.hidden_size);
    const double qkv = static_cast<double>((c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim);
    const double attentionOut = static_cast<double>(c.num_attention_heads * c.head_dim);
    double values = 6 * H + 3 * qkv + 2 * attentionOut;
    double fp32 = 0;
    if (c.isMoeLayer(layer)) {
        const double k = static_cast<double>(c.num_experts_per_tok), F = static_cast<double>(c.moe_intermediate_size);
        values += k * (2 * H + 3 * F) + 3 * F * static_cast<double>(c.num_shared_experts);
        fp32 += 3 * static_cast<double>(c.num_experts);
    } else {
        values += 3 * static_cast<double>(c.intermediate_size);
    }
    return values * b + fp32 * 4;
}

MemoryBreakdown estimateRankMemory(const ModelConfig& c, const Layout& layout, int64_t stage, const PlanSettings& s) {
    return estimateRankMemory(c, layout, pipelineStages(c, layout.pp, s.seqLen), stage, s);
}

MemoryBreakdown estimateRankMemory(const ModelConfig& c, const Layout& layout, const std::vector<std::pair<int64_t, int64_t>>& stages,
                                   int64_t stage, const PlanSettings& s) {
    const double w = s.dtype == "fp32" ? 4.0 : 2.0;
    const auto [first, last] = stages[static_cast<size_t>(stage)];
    const StageParams p = stageParameters(c, first, last, s);
    const double ep = static_cast<double>(layout.ep), expertReplicas = static_cast<double>(layout.dp / layout.ep);
    const double experts = p.experts / ep, expertsTrain = p.expertsTrain / ep;
    const double trains = p.replicatedTrains + expertsTrain;
    MemoryBreakdown m;
    m.weights = (p.replicated - p.fp32) * w + p.fp32 * 4 + experts * w;
    // Of what trains: fp32 gradients (the .grad of fp32 tensors, or fp32 accumulators), plus the
    // bf16 .grad a micro-batch's backward leaves before it is added in.
    m.gradients = trains * 4 + (w < 4 ? (trains - p.fp32Trains) * w : 0);
    // AdamW moments (and fp32 master weights for bf16) of what trains, sharded over the replicas (ZeRO-1).
    const double perParam = 8 + (w < 4 ? 4 : 0);
    m.optimizer = perParam * (p.replicatedTrains / static_cast<double>(layout.dp) + expertsTrain / expertReplicas);
    // LoRA adapters: fp32 weights and gradients, AdamW moments sharded the same way (no master copy).
    const double adapters = p.adapters + p.expertAdapters / ep;
    m.adapters = adapters * 8 + 8 * (p.adapters / static_cast<double>(layout.dp) + p.expertAdapters / ep / expertReplicas);
    m.weights += adapters * 4;
    m.gradients += adapters * 4;
    m.optimizer += m.adapters - adapters * 8;

    const int64_t globalBatch = s.globalBatch > 0 ? s.globalBatch : s.devices * s.microBatch * 4;
    const double microBatches = std::max(1.0, std::floor(static_cast<double>(globalBatch) / static_cast<double>(layout.dp * s.microBatch)));
    const double inFlight = std::min(static_cast<double>(layout.pp - stage), microBatches);  // 1F1B
    const double tokens = static_cast<double>(s.microBatch * s.seqLen);
    double perMicroBatch = 0, largestLayer = 0;
    for (int64_t i = first; i < last; ++i) {
        const double layerBytes = tokens * activationBytesPerToken(c, i, w);
        perMicroBatch += layerBytes;
        largestLayer = std::max(largestLayer, layerBytes);
    }
    double loss = 0;
    if (last == c.num_hidden_layers)  // the final norm's output, and the fp32 logits of one chunk with their gradient
        loss = tokens * static_cast<double>(c.hidden_size) * 2 * w + std::min(tokens, kLossChunkRows) * static_cast<double>(c.vocab_size) * 4 * 2;
    m.activations = inFlight * perMicroBatch + loss;
    // Checkpointing keeps each layer's input; one layer's activations exist while it is recomputed.
    m.activationsCheckpointed =
        inFlight * tokens * static_cast<double>(c.hidden_size) * w * static_cast<double>(last - first) + largestLayer + loss;
    if (layout.ep > 1) {
        int64_t moeLayers = 0;
        for (int64_t i = first; i < last; ++i) moeLayers += c.isMoeLayer(i);
        // The rows received for this rank's experts and their outputs, kept for backward.
        const double perLayer = tokens * static_cast<double>(c.num_experts_per_tok * c.hidden_size) * w * 2;
        m.allToAll = inFlight * perLayer * static_cast<double>(moeLayers);
        m.allToAllCheckpointed = moeLayers > 0 ? perLayer : 0;
    }
    m.overhead = s.overheadBytes >= 0 ? s.overheadBytes : (s.device == "cpu" ? kCpuProcessBytes : 1073741824.0);
    return m;
}

LayoutPlanResult planLayouts(const ModelConfig& c, const PlanSettings& s) {
    LayoutPlanResult result;
    result.settings = s;
    const int64_t globalBatch = s.globalBatch > 0 ? s.globalBatch : s.devices * s.microBatch * 4;
    const double w = s.dtype == "fp32" ? 4.0 : 2.0;
    for (int64_t pp = 1; pp <= s.devices; ++pp) {
        if (s.devices % pp != 0) continue;
        const int64_t dp = s.devices / pp;
        for (int64_t ep = 1; ep <= dp; ++ep) {
            if (dp % ep != 0) continue;
            LayoutEstimate e;
            e.layout = {pp, dp, ep};
            e.problem = firstLayoutProblem(e.layout, {s.devices, c.num_experts, c.num_hidden_layers, globalBatch, s.microBatch});
            if (!e.valid()) {
                result.layouts.push_back(e);
                continue;
            }
            const auto stages = pipelineStages(c, pp, s.seqLen);
            for (int64_t stage = 0; stage < pp; ++stage) {
                const MemoryBreakdown m = estimateRankMemory(c, e.layout, stages, stage, s);
                if (stage == 0 || m.total(false) > e.memory.total(false)) {
                    e.memory = m;
                    e.stage = stage;
                    e.stageLayers = stages[static_cast<size_t>(stage)].second - stages[static_cast<size_t>(stage)].first;
                }
            }
            e.fits = e.memory.total(false) <= s.deviceMemoryBytes;
            e.fitsCheckpointed = e.memory.total(true) <= s.deviceMemoryBytes;

            // Time: compute shared by every device, the pipeline bubble, and communication not
            // overlapped. The gradient all-reduce runs during the last micro-batch's backward
            // (two thirds of its compute; with checkpointing the recomputed forward too) and shows
            // only where it outlasts it; the rest of the communication is exposed.
            const double tokensPerStep = static_cast<double>(globalBatch * s.seqLen);
            const double compute = tokensPerStep * trainingFlopsPerToken(c, s.seqLen) / static_cast<double>(s.devices) / s.achievedFlopsPerSecond;
            const double microBatches = static_cast<double>(globalBatch) / static_cast<double>(dp * s.microBatch);
            const double bubble = (microBatches + static_cast<double>(pp) - 1) / microBatches;
            double largestStageParams = 0, largestStageExperts = 0, moeLayersOnStage = 0;
            for (const auto& [first, last] : stages) {
                // Only what trains is all-reduced and shared: the trained parameters and the adapters.
                const StageParams p = stageParameters(c, first, last, s);
                const double replicated = p.replicatedTrains + p.adapters, experts = (p.expertsTrain + p.expertAdapters) / static_cast<double>(ep);
                if (replicated + experts > largestStageParams + largestStageExperts) {
                    largestStageParams = replicated;
                    largestStageExperts = experts;
                }
                double moe = 0;
                for (int64_t i = first; i < last; ++i) moe += c.isMoeLayer(i);
                moeLayersOnStage = std::max(moeLayersOnStage, moe);
            }
            const double edp = static_cast<double>(dp / ep);
            const double gradientBytes = largestStageParams * 4 * 2 * (static_cast<double>(dp) - 1) / static_cast<double>(dp) +
                                         largestStageExperts * 4 * 2 * (edp - 1) / edp;  // ring all-reduce of fp32 gradients
            double bytes = 0;
            bytes += (largestStageParams + largestStageExperts) * w;                        // ZeRO-1 parameter sharing
            const double tokensPerRank = tokensPerStep / static_cast<double>(dp);
            e.allToAllBytesPerStep = ep > 1 ? tokensPerRank * static_cast<double>(c.num_experts_per_tok * c.hidden_size) * w * 4 *
                                                  moeLayersOnStage * (static_cast<double>(ep) - 1) / static_cast<double>(ep)
                                            : 0;
            bytes += e.allToAllBytesPerStep;
            bytes += pp > 1 ? tokensPerRank * static_cast<double>(c.hidden_size) * w * 2 : 0;  // activations and their gradients between stages
            const double communication = bytes / s.linkBytesPerSecond, gradientSum = gradientBytes / s.linkBytesPerSecond;
            const double lastBackward = compute / microBatches * (2.0 / 3.0), lastBackwardCheckpointed = compute / microBatches;
            e.stepSeconds = compute * bubble + communication + std::max(0.0, gradientSum - lastBackward);
            e.stepSecondsCheckpointed = compute * (4.0 / 3.0) * bubble + communication +  // the forward runs twice
                                        std::max(0.0, gradientSum - lastBackwardCheckpointed);
            result.layouts.push_back(e);
        }
    }
    // The fastest layout that fits, without checkpointing when it fits that way.
    double best = 0;
    for (size_t i = 0; i < result.layouts.size(); ++i) {
        const LayoutEstimate& e = result.layouts[i];
        if (!e.valid() || !(e.fits || e.fitsCheckpointed)) continue;
        const double t = e.fits ? e.stepSeconds : e.stepSecondsCheckpointed;
        if (result.recommended < 0 || t < best) best = t, result.recommended = static_cast<int>(i), result.recommendCheckpointing = !e.fits;
    }
    for (LayoutEstimate& e : result.layouts)
        if (e.valid() && best > 0) e.relativeTime = (e.fits || !e.fitsCheckpointed ? e.stepSeconds : e.stepSecondsCheckpointed) / best;
    if (result.recommended >= 0) {
        const LayoutEstimate& r = result.layouts[static_cast<size_t>(result.recommended)];
        result.summary = "recommended: pp " + std::to_string(r.layout.pp) + " x dp " + std::to_string(r.layout.dp) + ", ep " +
                         std::to_string(r.layout.ep) + (result.recommendCheckpointing ? " with activation checkpointing" : "") + ", " +
                         gib(r.memory.total(result.recommendCheckpointing)) + " GiB of " + gib(s.deviceMemoryBytes) + " GiB per device";
    } else {
        double smallest = 0;
        const LayoutEstimate* least = nullptr;
        for (const LayoutEstimate& e : result.layouts)
            if (e.valid() && (!least || e.memory.total(true) < smallest)) smallest = e.memory.total(true), least = &e;
        result.summary = least ? "no layout fits in " + gib(s.deviceMemoryBytes) + " GiB per device; the smallest (pp " +
                                     std::to_string(least->layout.pp) + " x dp " + std::to_string(least->layout.dp) + ", ep " +
                                     std::to_string(least->layout.ep) + ", checkpointing) needs " + gib(smallest) + " GiB"
                               : "no valid layout for " + std::to_string(s.devices) + " devices";
    }
    return result;
}

}  // namespace hy3
