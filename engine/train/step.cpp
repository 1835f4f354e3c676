#include "train/step.h"

#include "train/pipeline_schedule.h"

#include "util/error.h"

#include <chrono>
#include <cmath>
#include <limits>

namespace hy3 {

namespace {

// An empty [B*S, H] buffer for the hidden states of a micro-batch between stages.
torch::Tensor hiddenLike(const Hy3ModelImpl& model, const MicroBatch& m) {
    return torch::empty({m.batch.input_ids.numel(), model.config().hidden_size},
                        torch::TensorOptions().dtype(model.options().dtype).device(model.options().device));
}

// Every MoE layer's load and bias after the step, as rows [load..., bias...] for the whole model;
// each stage fills its own layers and the rows are combined over the stages.
std::vector<LayerRouterState> routerState(Hy3ModelImpl& model, StepComm& comm, const std::vector<torch::Tensor>& loads) {
    const ModelConfig& c = model.config();
    std::vector<int64_t> all;
    for (int64_t i = 0; i < c.num_hidden_layers; ++i)
        if (c.isMoeLayer(i)) all.push_back(i);
    const int64_t E = c.num_experts;
    std::vector<std::vector<double>> rows(all.size(), std::vector<double>(static_cast<size_t>(2 * E), 0.0));
    const std::vector<int64_t> held = model.moeLayers();
    // Every held layer's load and bias in one copy to the host (one wait on a GPU, not one per layer).
    std::vector<torch::Tensor> parts;
    for (size_t h = 0; h < held.size(); ++h) {
        parts.push_back(loads[h].to(torch::kDouble));
        const torch::Tensor bias = model.tensor("layers." + std::to_string(held[h]) + ".expert_bias");
        parts.push_back(bias.defined() ? bias.to(loads[h].device(), torch::kDouble) : torch::zeros_like(parts.back()));
    }
    const torch::Tensor host = parts.empty() ? torch::Tensor() : torch::cat(parts).to(torch::kCPU).contiguous();
    for (size_t h = 0; h < held.size(); ++h) {
        const size_t row = static_cast<size_t>(std::find(all.begin(), all.end(), held[h]) - all.begin());
        const double* values = host.data_ptr<double>() + static_cast<int64_t>(h) * 2 * E;
        std::copy(values, values + 2 * E, rows[row].begin());
    }
    comm.gatherRouterState(rows);
    std::vector<LayerRouterState> out;
    for (size_t i = 0; i < all.size(); ++i) {
        LayerRouterState s;
        s.layer = all[i];
        for (int64_t e = 0; e < E; ++e) s.load.push_back(static_cast<int64_t>(std::llround(rows[i][static_cast<size_t>(e)])));
        if (c.moe_router_enable_expert_bias)
            for (int64_t e = 0; e < E; ++e) s.bias.push_back(static_cast<float>(rows[i][static_cast<size_t>(E + e)]));
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace

StepResult trainStep(StepContext& ctx, const std::vector<MicroBatch>& batches, const StepSettings& s) {
    const auto started = std::chrono::steady_clock::now();
    Hy3ModelImpl& model = ctx.model;
    StepComm& comm = ctx.comm;
    StepResult r;
    std::vector<double> counts{0, 0, 0, 0};  // label tokens, tokens, real tokens, rows
    for (const MicroBatch& m : batches) {
        counts[0] += static_cast<double>(m.labelTokens);
        counts[1] += static_cast<double>(m.tokens);
        counts[2] += static_cast<double>(m.realTokens);
        counts[3] += static_cast<double>(m.batch.input_ids.size(0));
    }
    comm.sumOverReplicas(counts);
    r.labelTokens = static_cast<int64_t>(counts[0]);
    r.tokens = static_cast<int64_t>(counts[1]);
    r.realTokens = static_cast<int64_t>(counts[2]);
    // Every micro-batch's summed loss is divided by the label count of the whole global batch, so
    // the accumulated (and rank-summed) gradient is that of the mean over the global batch.
    const double divisor = std::max(counts[0], 1.0);
    const double rows = counts[3];

    model.train();
    struct InFlight {
        torch::Tensor input;       // the received hidden states (stages after the first)
        torch::Tensor output;      // hidden states sent on (stages before the last)
        torch::Tensor outputGrad;  // their gradient, received from the next stage
        torch::Tensor loss;        // the last stage's scaled loss
        torch::Tensor aux;         // this stage's balance loss
    };
    std::vector<InFlight> inFlight(batches.size());
    // The summed loss stays on the device until the step's one read of its figures.
    torch::Tensor lossSum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(model.options().device));

    auto forward = [&](size_t i) {
        const MicroBatch& m = batches[i];
        InFlight& f = inFlight[i];
        ForwardOptions fo;
        fo.phases = s.phases;
        if (!comm.firstStage()) fo.hiddenIn = f.input.requires_grad_(true);
        const ForwardOutput out = model.forward(m.batch, fo);
        // The balance loss is a per-sequence mean; weigh each micro-batch by its share of rows.
        if (out.auxLoss.defined()) f.aux = out.auxLoss * (static_cast<double>(m.batch.input_ids.size(0)) / rows);
        if (!comm.lastStage()) {
            f.output = out.hidden;
            return;
        }
        f.loss = out.lossSum / divisor;
        if (f.aux.defined()) f.loss = f.loss + f.aux;
        if (s.injectNan) f.loss = f.loss * std::numeric_limits<double>::quiet_NaN();
        lossSum += s.injectNan ? out.lossSum.detach() * std::numeric_limits<double>::quiet_NaN() : out.lossSum.detach();
    };
    auto backward = [&](size_t i) {
        InFlight& f = inFlight[i];
        if (i + 1 == batches.size() && s.overlapGradientSync) comm.beforeLastBackward(ctx.gradients);
        if (comm.lastStage()) {
            f.loss.backward();
        } else {
            std::vector<torch::Tensor> outputs{f.output}, grads{f.outputGrad};
            if (f.aux.defined() && f.aux.requires_grad()) outputs.push_back(f.aux), grads.push_back(torch::ones_like(f.aux));
            torch::autograd::backward(outputs, grads);
        }
        ctx.gradients.accumulate();
        f.output = f.outputGrad = f.loss = f.aux = torch::Tensor();
    };
    auto exchange = [&](const std::vector<PipeMessage>& messages) {
        std::vector<StepComm::Transfer> transfers;
        for (const PipeMessage& message : messages) {
            InFlight& f = inFlight[static_cast<size_t>(message.microBatch)];
            torch::Tensor tensor;
            switch (message.kind) {
                case PipeMessage::Kind::ReceiveActivation: tensor = f.input = hiddenLike(model, batches[static_cast<size_t>(message.microBatch)]); break;
                case PipeMessage::Kind::ReceiveGradient: tensor = f.outputGrad = torch::empty_like(f.output); break;
                case PipeMessage::Kind::SendActivation: tensor = f.output.detach(); break;
                case PipeMessage::Kind::SendGradient: tensor = f.input.grad(); break;
            }
            transfers.push_back({message, tensor});
        }
        comm.exchange(transfers);
        for (const PipeMessage& message : messages)
            if (message.kind == PipeMessage::Kind::SendGradient) inFlight[static_cast<size_t>(message.microBatch)] = InFlight{};
    };
    for (const PipelineAction& a : oneForwardOneBackward(comm.stages(), comm.stage(), static_cast<int>(batches.size()))) {
        switch (a.kind) {
            case PipelineAction::Kind::Forward: forward(static_cast<size_t>(a.microBatch)); break;
            case PipelineAction::Kind::Backward: backward(static_cast<size_t>(a.microBatch)); break;
            case PipelineAction::Kind::Exchange: exchange(a.messages); break;
        }
    }
    comm.finishSends();

    const auto syncStarted = std::chrono::steady_clock::now();
    r.gradientSum = comm.sumGradients(ctx.gradients);
    std::vector<torch::Tensor> loads = model.loadSinceUpdate();
    comm.sumLoads(loads);
    model.setLoadSinceUpdate(loads);
    const auto updateStarted = std::chrono::steady_clock::now();
    r.gradientSyncSeconds = std::chrono::duration<double>(updateStarted - syncStarted).count();

    // Each parameter's squared norm counted once over the job: by the rank that owns its update.
    std::vector<torch::Tensor> owned;
    for (size_t i : ctx.owned) {
        const torch::Tensor g = ctx.gradients.gradient(i);
        if (g.defined()) owned.push_back(g);
    }
    // The step's one wait for the device: the loss and the squared norm, read together.
    const torch::Tensor figures = torch::stack({comm.lastStage() ? lossSum : torch::zeros_like(lossSum),
                                                sumOfSquares(owned).to(lossSum.device())})
                                      .cpu();
    std::vector<double> sums{figures[0].item<double>(), figures[1].item<double>()};
    comm.sumOverWorld(sums);
    r.loss = sums[0] / divisor;
    r.gradNorm = std::sqrt(sums[1]);

    if (!std::isfinite(r.loss) || !std::isfinite(r.gradNorm)) {
        r.skipped = true;
        r.skipReason = !std::isfinite(r.loss) ? "non-finite loss" : "non-finite gradient norm";
        ctx.gradients.zero();
        model.updateExpertBias(0.0);  // forget this step's load
    } else {
        // torch.nn.utils.clip_grad_norm_'s rule: scale by max_norm / (norm + 1e-6) when that is < 1.
        // AdamW applies the factor as it reads each gradient (no pass of its own).
        double factor = 1.0;
        if (s.gradClip > 0) factor = std::min(1.0, s.gradClip / (r.gradNorm + 1e-6));
        if (s.phases) s.phases->switchTo(Phase::Optimizer);
        ctx.optimizer.step(s.lr, ctx.gradients, factor);
        if (s.phases) s.phases->switchTo(Phase::Other);
        comm.shareUpdatedParameters(ctx.gradients);
        ctx.gradients.zero();
        model.updateExpertBias(s.expertBiasUpdate);
        r.router = routerState(model, comm, loads);
    }
    const auto finished = std::chrono::steady_clock::now();
    r.updateSeconds = std::chrono::duration<double>(finished - updateStarted).count();
    r.seconds = std::chrono::duration<double>(finished - started).count();
    return r;
}

EvalResult evaluate(Hy3ModelImpl& model, StepComm& comm, const std::vector<MicroBatch>& batches) {
    torch::NoGradGuard noGrad;
    const std::vector<torch::Tensor> load = model.loadSinceUpdate();
    model.eval();
    std::vector<double> sums{0, 0};  // loss sum, label tokens
    torch::Tensor lossSum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(model.options().device));
    torch::Tensor received, sent;  // hidden states from the previous stage and for the next
    for (const PipelineAction& a : forwardOnly(comm.stages(), comm.stage(), static_cast<int>(batches.size()))) {
        if (a.kind == PipelineAction::Kind::Exchange) {
            const PipeMessage& message = a.messages[0];
            if (!message.isSend()) received = hiddenLike(model, batches[static_cast<size_t>(message.microBatch)]);
            std::vector<StepComm::Transfer> transfers{{message, message.isSend() ? sent : received}};
            comm.exchange(transfers);
            continue;
        }
        ForwardOptions fo;
        fo.hiddenIn = received;
        const ForwardOutput out = model.forward(batches[static_cast<size_t>(a.microBatch)].batch, fo);
        received = torch::Tensor();
        sent = out.hidden;
        if (comm.lastStage()) {
            lossSum += out.lossSum;
            sums[1] += static_cast<double>(out.labelTokens);
        }
    }
    sums[0] = lossSum.item<double>();  // one wait for the whole evaluation
    comm.finishSends();
    comm.sumOverWorld(sums);
    model.train();
    model.setLoadSinceUpdate(load);
    EvalResult r;
    r.labelTokens = static_cast<int64_t>(sums[1]);
    r.loss = r.labelTokens > 0 ? sums[0] / sums[1] : 0.0;
    return r;
}

}  // namespace hy3
