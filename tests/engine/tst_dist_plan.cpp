// The torch-free parts of distributed training: reading torchrun and Slurm environments, the
// device mesh and its groups, pipeline stage balancing, the pipeline schedule's messages, and the
// layout planner's arithmetic.
#include "config/layout_plan.h"
#include "config/model_cost.h"
#include "config/resources.h"
#include "dist/env.h"
#include "dist/mesh.h"
#include "train/pipeline_schedule.h"
#include "test_support.h"
#include "util/error.h"

#include <QtTest>

#include <algorithm>
#include <map>
#include <string>

using namespace hy3;

namespace {

std::function<std::optional<std::string>(const std::string&)> envFrom(std::map<std::string, std::string> values) {
    return [values](const std::string& name) -> std::optional<std::string> {
        auto it = values.find(name);
        return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
}

QString errorOf(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

ModelConfig preset(const std::string& name) { return loadModelConfig(presetConfigPath(name)); }

// hy3-cpu-256 as the CPU tests run it: fp32, 4 rows of 256 tokens, 8 rows a step, on 2 devices.
PlanSettings cpuSettings() {
    PlanSettings s;
    s.device = "cpu";
    s.dtype = "fp32";
    s.seqLen = 256;
    s.microBatch = 4;
    s.globalBatch = 8;
    s.devices = 2;
    return s;
}


using Actions = std::vector<PipelineAction>;

// The message a neighbour posts to answer `m`.
PipeMessage answer(const PipeMessage& m) {
    using K = PipeMessage::Kind;
    switch (m.kind) {
        case K::SendActivation: return {K::ReceiveActivation, m.microBatch};
        case K::ReceiveActivation: return {K::SendActivation, m.microBatch};
        case K::SendGradient: return {K::ReceiveGradient, m.microBatch};
        case K::ReceiveGradient: return {K::SendGradient, m.microBatch};
    }
    return m;
}

bool answers(const PipelineAction& mine, const PipelineAction& theirs) {
    if (theirs.kind != PipelineAction::Kind::Exchange || theirs.messages.size() != mine.messages.size()) return false;
    for (const PipeMessage& m : mine.messages) {
        const PipeMessage want = answer(m);
        const bool found = std::any_of(theirs.messages.begin(), theirs.messages.end(),
                                       [&](const PipeMessage& t) { return t.kind == want.kind && t.microBatch == want.microBatch; });
        if (!found) return false;
    }
    return true;
}

// Runs every stage's actions under the strictest transport: a group completes only when the
// neighbour's current action is the group that answers it, message for message (nothing is
// buffered, as NCCL may do with large messages). Returns "" when every stage finishes, else
// where they stopped.
std::string runWithoutBuffering(const std::vector<Actions>& stages) {
    std::vector<size_t> at(stages.size(), 0);
    for (bool moved = true; moved;) {
        moved = false;
        for (size_t s = 0; s < stages.size(); ++s) {
            if (at[s] == stages[s].size()) continue;
            const PipelineAction& a = stages[s][at[s]];
            if (a.kind != PipelineAction::Kind::Exchange) {
                ++at[s], moved = true;
                continue;
            }
            const size_t peer = a.messages[0].towardNextStage() ? s + 1 : s - 1;
            if (peer < stages.size() && at[peer] < stages[peer].size() && answers(a, stages[peer][at[peer]])) {
                ++at[s], ++at[peer], moved = true;
            }
        }
    }
    std::string stuck;
    for (size_t s = 0; s < stages.size(); ++s)
        if (at[s] != stages[s].size()) stuck += "stage " + std::to_string(s) + " at action " + std::to_string(at[s]) + "; ";
    return stuck;
}

// The same schedule with every group split into single messages (how the step posted them before).
std::vector<Actions> ungrouped(const std::vector<Actions>& stages) {
    std::vector<Actions> out;
    for (const Actions& actions : stages) {
        Actions split;
        for (const PipelineAction& a : actions) {
            if (a.kind != PipelineAction::Kind::Exchange) split.push_back(a);
            else
                for (const PipeMessage& m : a.messages) split.push_back({PipelineAction::Kind::Exchange, -1, {m}});
        }
        out.push_back(split);
    }
    return out;
}

// One stage's actions use each micro-batch as 1F1B must: every forward and backward once, a
// forward after its activation arrived, a backward after its forward and its gradient, each send
// after what it sends exists.
std::string checkDataFlow(const Actions& actions, int stages, int stage, int microBatches) {
    using K = PipeMessage::Kind;
    const bool first = stage == 0, last = stage == stages - 1;
    std::vector<int> forwards(static_cast<size_t>(microBatches)), backwards(forwards), got(forwards), grads(forwards);
    for (const PipelineAction& a : actions) {
        const size_t i = static_cast<size_t>(a.microBatch);
        if (a.kind == PipelineAction::Kind::Forward) {
            if (!first && !got[i]) return "forward " + std::to_string(i) + " before its activation";
            ++forwards[i];
        } else if (a.kind == PipelineAction::Kind::Backward) {
            if (!forwards[i] || (!last && !grads[i])) return "backward " + std::to_string(i) + " too early";
            ++backwards[i];
        } else {
            for (const PipeMessage& m : a.messages) {
                const size_t b = static_cast<size_t>(m.microBatch);
                if (m.kind == K::ReceiveActivation) ++got[b];
                if (m.kind == K::ReceiveGradient) ++grads[b];
                if (m.kind == K::SendActivation && !forwards[b]) return "activation sent before its forward";
                if (m.kind == K::SendGradient && !backwards[b]) return "gradient sent before its backward";
            }
        }
    }
    for (int i = 0; i < microBatches; ++i)
        if (forwards[static_cast<size_t>(i)] != 1 || backwards[static_cast<size_t>(i)] != 1) return "micro-batch " + std::to_string(i) + " not run once";
    return "";
}

}  // namespace

class TestDistPlan : public QObject {
    Q_OBJECT
private slots:
    void singleProcessWithoutVariables() {
        const DistEnv env = readDistEnv(envFrom({}));
        QCOMPARE(env.worldSize, 1);
        QVERIFY(!env.distributed());
    }

    void torchrunVariables() {
        const DistEnv env = readDistEnv(envFrom({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                                                 {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29400"}}));
        QCOMPARE(env.rank, 3);
        QCOMPARE(env.worldSize, 8);
        QCOMPARE(env.localRank, 1);
        QCOMPARE(env.localWorldSize, 2);
        QCOMPARE(env.masterAddr, std::string("node7"));
        QCOMPARE(env.masterPort, 29400);
        QCOMPARE(env.source, std::string("torchrun"));
    }

    void slurmVariables() {
        const DistEnv env = readDistEnv(envFrom({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                                                 {"SLURM_NTASKS_PER_NODE", "4(x2)"}, {"SLURM_JOB_NODELIST", "gpu[007-008]"}}));
        QCOMPARE(env.rank, 5);
        QCOMPARE(env.worldSize, 8);
        QCOMPARE(env.localRank, 1);
        QCOMPARE(env.localWorldSize, 4);
        QCOMPARE(env.masterAddr, std::string("gpu007"));
        QCOMPARE(env.source, std::string("slurm"));
    }

    void slurmNodeLists() {
        QCOMPARE(firstSlurmHost("gpu[003-006,9],cpu1"), std::string("gpu003"));
        QCOMPARE(firstSlurmHost("node12"), std::string("node12"));
        QCOMPARE(firstSlurmHost("a[1,3],b[2-4]"), std::string("a1"));
        QCOMPARE(firstSlurmHost("rack1-n[10-11]-ib"), std::string("rack1-n10-ib"));
    }

    void badEnvironmentNamesTheVariable() {
        QVERIFY(errorOf([] { readDistEnv(envFrom({{"RANK", "4"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "x"}})); }).startsWith("RANK"));
        QVERIFY(errorOf([] { readDistEnv(envFrom({{"RANK", "0"}, {"WORLD_SIZE", "two"}})); }).startsWith("WORLD_SIZE"));
        QVERIFY(errorOf([] { readDistEnv(envFrom({{"RANK", "0"}, {"WORLD_SIZE", "2"}})); }).startsWith("MASTER_ADDR"));
        QVERIFY(errorOf([] {
                    readDistEnv(envFrom({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}));
                }).startsWith("MASTER_PORT"));
    }

    void meshGroups() {
        // pp 2 x dp 4, ep 2: ranks 0-3 are stage 0, 4-7 stage 1.
        const Mesh mesh({2, 4, 2}, 8, 8, 4);
        const MeshPosition p = mesh.position(6);
        QCOMPARE(p.stage, 1);
        QCOMPARE(p.dpRank, 2);
        QCOMPARE(p.epRank, 0);
        QCOMPARE(p.edpRank, 1);
        QCOMPARE(mesh.dataParallelGroup(6), (std::vector<int>{4, 5, 6, 7}));
        QCOMPARE(mesh.expertParallelGroup(6), (std::vector<int>{6, 7}));
        QCOMPARE(mesh.expertDataGroup(6), (std::vector<int>{4, 6}));
        QCOMPARE(mesh.previousStageRank(6), 2);
        QCOMPARE(mesh.nextStageRank(6), -1);
        QCOMPARE(mesh.expertRange(7), (std::pair<int64_t, int64_t>{4, 8}));
    }

    void invalidLayoutsNameTheField() {
        QVERIFY(errorOf([] { Mesh({1, 2, 1}, 4, 8, 4); }).startsWith("layout"));
        QVERIFY(errorOf([] { Mesh({1, 4, 3}, 4, 8, 4); }).startsWith("layout.ep"));
        QVERIFY(errorOf([] { Mesh({1, 4, 4}, 4, 6, 4); }).contains("experts"));
        QVERIFY(errorOf([] { Mesh({8, 1, 1}, 8, 8, 4); }).startsWith("layout.pp"));
    }

    void pipelineStagesAreContiguousAndBalanced() {
        const ModelConfig c = preset("hy3-preview");
        for (int64_t pp : {1, 2, 4, 8, 16}) {
            const auto stages = pipelineStages(c, pp, 4096);
            QCOMPARE(static_cast<int64_t>(stages.size()), pp);
            QCOMPARE(stages.front().first, int64_t(0));
            QCOMPARE(stages.back().second, c.num_hidden_layers);
            double largest = 0, total = 0;
            for (size_t s = 0; s < stages.size(); ++s) {
                if (s > 0) QCOMPARE(stages[s].first, stages[s - 1].second);
                QVERIFY(stages[s].second > stages[s].first);
                double cost = s + 1 == stages.size() ? headForwardFlopsPerToken(c) : 0;
                for (int64_t l = stages[s].first; l < stages[s].second; ++l) cost += layerForwardFlopsPerToken(c, l, 4096);
                largest = std::max(largest, cost);
                total += cost;
            }
            // The largest stage is within one layer of an even split.
            QVERIFY(largest <= total / static_cast<double>(pp) + layerForwardFlopsPerToken(c, 1, 4096) + 1);
        }
        // The per-layer FLOPs add up to the model's.
        double sum = headForwardFlopsPerToken(c);
        for (int64_t l = 0; l < c.num_hidden_layers; ++l) sum += layerForwardFlopsPerToken(c, l, 4096);
        QCOMPARE(sum, forwardFlopsPerToken(c, 4096));
    }

    void plannerCoversTheReleasedModel() {
        const ModelConfig c = preset("hy3-preview");
        PlanSettings s;
        s.devices = 64;
        s.deviceMemoryBytes = 80.0 * 1073741824.0;
        const LayoutPlanResult plan = planLayouts(c, s);
        QVERIFY(!plan.layouts.empty());
        for (const LayoutEstimate& e : plan.layouts) {
            QCOMPARE(e.layout.pp * e.layout.dp, int64_t(64));
            if (e.valid()) QVERIFY(e.memory.total(true) < e.memory.total(false));
        }
        // Model state alone: 295B parameters of bf16 weights, fp32 gradients and sharded Adam do
        // not fit 64 x 80 GB; twice the devices do, with checkpointing.
        QCOMPARE(plan.recommended, -1);
        QVERIFY2(plan.summary.find("no layout fits") == 0, plan.summary.c_str());
        s.devices = 128;
        const LayoutPlanResult bigger = planLayouts(c, s);
        QVERIFY2(bigger.recommended >= 0, bigger.summary.c_str());
        const LayoutEstimate& best = bigger.layouts[static_cast<size_t>(bigger.recommended)];
        QVERIFY(best.fitsCheckpointed);
        QCOMPARE(best.relativeTime, 1.0);
    }

    // What trains: frozen routed experts keep their weights but lose gradients and optimizer
    // state; LoRA freezes the whole base and adds its fp32 adapters, so the released model fits one
    // node of 8 x 141 GB where full fine-tuning needs many.
    void plannerCountsWhatTrains() {
        const ModelConfig c = preset("hy3-preview");
        PlanSettings s;
        s.devices = 8;
        s.deviceMemoryBytes = 141e9;
        const MemoryBreakdown full = estimateRankMemory(c, {1, 8, 1}, 0, s);
        s.freeze.experts = true;
        const MemoryBreakdown frozen = estimateRankMemory(c, {1, 8, 1}, 0, s);
        QCOMPARE(frozen.weights, full.weights);  // the experts are 97% of the model
        QVERIFY(frozen.gradients < 0.05 * full.gradients && frozen.optimizer < 0.05 * full.optimizer);
        s.freeze = {};
        s.lora = true;
        s.loraSpec.rank = 16;
        s.loraSpec.targets = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
        s.loraSpec.attention = s.loraSpec.dense_mlp = s.loraSpec.shared_expert = s.loraSpec.routed_experts = true;
        const MemoryBreakdown lora = estimateRankMemory(c, {1, 8, 1}, 0, s);
        const double adapters = static_cast<double>(loraParameterCount(c, s.loraSpec));
        // dp 8: every rank holds every adapter: fp32 weights and gradients, AdamW moments over 8.
        QCOMPARE(lora.adapters, adapters * 8 + adapters * 8 / 8);
        QCOMPARE(lora.weights, full.weights + adapters * 4);
        QCOMPARE(lora.gradients, adapters * 4);
        QCOMPARE(planLayouts(c, PlanSettings{8, 141e9}).recommended, -1);
        const LayoutPlanResult plan = planLayouts(c, s);
        QVERIFY2(plan.recommended >= 0, plan.summary.c_str());
    }

    void plannerShardsWhatItShould() {
        const ModelConfig c = preset("hy3-cpu-256");
        PlanSettings s = cpuSettings();
        const MemoryBreakdown dp2 = estimateRankMemory(c, {1, 2, 1}, 0, s);
        const MemoryBreakdown ep2 = estimateRankMemory(c, {1, 2, 2}, 0, s);
        const MemoryBreakdown pp2first = estimateRankMemory(c, {2, 1, 1}, 0, s);
        s.devices = 1;
        const MemoryBreakdown one = estimateRankMemory(c, {1, 1, 1}, 0, s);
        const double state = static_cast<double>(countParameters(c).total) * 4;
        QVERIFY(std::abs(one.weights - state) < 1e3);         // fp32 weights: 4 bytes each
        QVERIFY(std::abs(one.optimizer - 2 * state) < 1e3);   // two fp32 moments
        QVERIFY(std::abs(dp2.optimizer - state) < 1e3);       // ZeRO-1 over 2 replicas
        QVERIFY(ep2.weights < dp2.weights);                   // half the routed experts
        QCOMPARE(ep2.optimizer, dp2.optimizer);               // experts: dp/ep = 1 replica each
        QVERIFY(ep2.allToAll > 0 && dp2.allToAll == 0);
        QVERIFY(pp2first.weights < one.weights);
        // Layouts the planner rejects say why.
        s.devices = 6;
        s.globalBatch = 24;
        int checked = 0;
        for (const LayoutEstimate& e : planLayouts(c, s).layouts)
            if (e.layout.ep == 3) {
                QVERIFY2(e.problem.find("does not divide the 16 experts") != std::string::npos, e.problem.c_str());
                ++checked;
            }
        QVERIFY(checked > 0);
    }

    // The gradient all-reduce runs during the last micro-batch's backward: a slower link costs it
    // nothing while the backward is longer, and all of it once the backward is short. The ZeRO-1
    // parameter sharing after the update always shows.
    void plannerHidesTheGradientSumBehindTheBackward() {
        const ModelConfig c = preset("hy3-cpu-256");
        PlanSettings s = cpuSettings();
        const double params = static_cast<double>(countParameters(c).total);
        const double sharing = params * 4, gradients = params * 4 * 2 / 2;  // bytes: fp32, ring all-reduce over 2
        auto stepOfDp2 = [&](double flops, double link) {
            s.achievedFlopsPerSecond = flops;
            s.linkBytesPerSecond = link;
            for (const LayoutEstimate& e : planLayouts(c, s).layouts)
                if (e.layout.pp == 1 && e.layout.dp == 2 && e.layout.ep == 1) return e.stepSeconds;
            return -1.0;
        };
        const double link = 1e9;
        // Slow compute: the backward hides the gradients; halving the link adds the sharing only.
        const double hidden = stepOfDp2(1e6, link / 2) - stepOfDp2(1e6, link);
        QVERIFY2(std::abs(hidden - sharing / link) < 1e-9 * stepOfDp2(1e6, link), qPrintable(QString::number(hidden)));
        // Fast compute: nothing hides the gradients.
        const double exposed = stepOfDp2(1e18, link / 2) - stepOfDp2(1e18, link);
        QVERIFY2(std::abs(exposed - (sharing + gradients) / link) < 1e-6 * exposed, qPrintable(QString::number(exposed)));
    }

    // The 1F1B schedule's messages cannot deadlock even where nothing is buffered, for any number
    // of stages and micro-batches; the same messages posted one by one do (the schedule before).
    void pipelineMessagesNeverWaitOnEachOther() {
        for (int stages = 1; stages <= 6; ++stages)
            for (int microBatches = 1; microBatches <= 10; ++microBatches) {
                std::vector<Actions> train, eval;
                for (int stage = 0; stage < stages; ++stage) {
                    train.push_back(oneForwardOneBackward(stages, stage, microBatches));
                    eval.push_back(forwardOnly(stages, stage, microBatches));
                    const std::string flow = checkDataFlow(train.back(), stages, stage, microBatches);
                    QVERIFY2(flow.empty(), qPrintable(QString("pp=%1 M=%2 stage %3: %4").arg(stages).arg(microBatches).arg(stage).arg(QString::fromStdString(flow))));
                }
                const QString shape = QString("pp=%1 M=%2: ").arg(stages).arg(microBatches);
                QVERIFY2(runWithoutBuffering(train).empty(), qPrintable(shape + QString::fromStdString(runWithoutBuffering(train))));
                QVERIFY2(runWithoutBuffering(eval).empty(), qPrintable(shape + QString::fromStdString(runWithoutBuffering(eval))));
                // One stage has no steady state with a neighbour's gradient; from two on it has.
                if (stages >= 2 && microBatches > stages - 1) QVERIFY2(!runWithoutBuffering(ungrouped(train)).empty(), qPrintable(shape));
            }
        // One stage: forward, backward, in turn, and no message.
        const Actions alone = oneForwardOneBackward(1, 0, 2);
        QCOMPARE(alone.size(), size_t(4));
        QVERIFY(alone[0].kind == PipelineAction::Kind::Forward && alone[1].kind == PipelineAction::Kind::Backward);
    }
};

QTEST_GUILESS_MAIN(TestDistPlan)
#include "tst_dist_plan.moc"
