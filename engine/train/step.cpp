#include "train/step.h"

#include "util/error.h"

#include <chrono>
#include <cmath>
#include <limits>

namespace hy3 {

namespace {

std::vector<std::vector<int64_t>> toCounts(const std::vector<torch::Tensor>& load) {
    std::vector<std::vector<int64_t>> out;
    for (const torch::Tensor& t : load) {
        const torch::Tensor c = t.to(torch::kLong).contiguous();
        out.emplace_back(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
    }
    return out;
}

}  // namespace

StepResult trainStep(Hy3ModelImpl& model, AdamW& optimizer, const std::vector<MicroBatch>& batches, const StepSettings& s) {
    const auto started = std::chrono::steady_clock::now();
    StepResult r;
    int64_t rows = 0;
    for (const MicroBatch& m : batches) {
        r.tokens += m.tokens, r.realTokens += m.realTokens, r.labelTokens += m.labelTokens;
        rows += m.batch.input_ids.size(0);
    }
    // Every micro-batch's summed loss is divided by the global batch's label count, so the
    // accumulated gradient is that of the mean over the whole global batch.
    const double divisor = static_cast<double>(std::max<int64_t>(r.labelTokens, 1));
    model.train();
    double lossSum = 0;
    for (const MicroBatch& m : batches) {
        const ForwardOutput out = model.forward(m.batch);
        if (out.labelTokens != m.labelTokens)
            fail("training step", "the model counted " + std::to_string(out.labelTokens) + " label tokens, the batch " +
                                      std::to_string(m.labelTokens) + " (internal inconsistency)");
        torch::Tensor loss = out.lossSum / divisor;
        // The balance loss is a per-sequence mean; weigh each micro-batch by its share of rows.
        if (out.auxLoss.defined()) loss = loss + out.auxLoss * (static_cast<double>(m.batch.input_ids.size(0)) / static_cast<double>(rows));
        if (s.injectNan) loss = loss * std::numeric_limits<double>::quiet_NaN();
        loss.backward();
        optimizer.accumulateGradients();
        lossSum += s.injectNan ? std::numeric_limits<double>::quiet_NaN() : out.lossSum.item<double>();
    }
    r.loss = lossSum / divisor;
    r.gradNorm = optimizer.gradientNorm();
    r.load = toCounts(model.loadSinceUpdate());

    if (!std::isfinite(r.loss) || !std::isfinite(r.gradNorm)) {
        r.skipped = true;
        r.skipReason = !std::isfinite(r.loss) ? "non-finite loss" : "non-finite gradient norm";
        optimizer.zeroGradients();
        model.updateExpertBias(0.0);  // forget this step's load
    } else {
        // torch.nn.utils.clip_grad_norm_'s rule: scale by max_norm / (norm + 1e-6) when that is < 1.
        if (s.gradClip > 0) {
            const double factor = s.gradClip / (r.gradNorm + 1e-6);
            if (factor < 1.0) optimizer.scaleGradients(factor);
        }
        optimizer.step(s.lr);
        model.updateExpertBias(s.expertBiasUpdate);
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
}

EvalResult evaluate(Hy3ModelImpl& model, const std::vector<MicroBatch>& batches) {
    torch::NoGradGuard noGrad;
    const std::vector<torch::Tensor> load = model.loadSinceUpdate();
    model.eval();
    double sum = 0;
    EvalResult r;
    for (const MicroBatch& m : batches) {
        const ForwardOutput out = model.forward(m.batch);
        sum += out.lossSum.item<double>();
        r.labelTokens += out.labelTokens;
    }
    model.train();
    model.setLoadSinceUpdate(load);
    r.loss = r.labelTokens > 0 ? sum / static_cast<double>(r.labelTokens) : 0.0;
    return r;
}

}  // namespace hy3
