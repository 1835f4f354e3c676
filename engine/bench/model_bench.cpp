#include "bench/model_bench.h"

#include "bench/time_split.h"

#include "config/model_cost.h"
#include "config/model_source.h"
#include "model/dtype.h"
#include "model/eager_reference.h"
#include "model/hy3_model.h"
#include "runtime/device.h"
#include "runtime/system_info.h"
#include "util/error.h"
#include "util/stats.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <functional>

namespace hy3 {
namespace {

// Wall time of fn, the device's queued work included.
double secondsOf(const torch::Device& device, const std::function<void()>& fn) {
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    fn();
    synchronize(device);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

ModelBenchResult benchModel(const ModelBenchRequest& r) {
    if (r.seqLen < 2 || r.batch < 1) fail("bench", "--seq-len must be >= 2 and --batch >= 1");
    if (r.threads > 0) at::set_num_threads(r.threads);
    ModelOptions options;
    options.dtype = parseDtype(r.dtype);
    options.device = resolveDevice(r.device, 0, "--device");
    useDevice(options.device);
    const torch::Device device = options.device;
    // Weights do not change the cost; a model directory only contributes its config.
    Hy3Model model(firstLayers(resolveModelSource(r.source).config, r.layers, "--layers"), options);
    model->initializeWeights(0);
    const ModelConfig& c = model->config();

    auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
    Batch batch;
    batch.input_ids = torch::randint(c.vocab_size, {r.batch, r.seqLen}, gen, torch::kLong);
    batch.labels = batch.input_ids.clone();

    auto runForward = [&] {
        torch::NoGradGuard noGrad;
        if (r.reference) eagerReferenceForward(*model, batch);
        else model->forward(batch);
    };
    auto runTraining = [&] {
        model->zero_grad(true);
        const ForwardOutput out = r.reference ? eagerReferenceForward(*model, batch) : model->forward(batch);
        (out.lossSum / static_cast<double>(std::max<int64_t>(out.labelTokens, 1))).backward();
    };
    for (int i = 0; i < r.warmup; ++i) {
        runForward();
        runTraining();
    }
    // The peak is timed between the steps, so a machine whose speed drifts (a shared VM) affects
    // both alike; MFU is the median of the per-iteration ratios.
    std::vector<double> fwd, fwdBwd, peak, ratio;
    const double flopsPerStep = trainingFlopsPerToken(c, r.seqLen) * static_cast<double>(r.batch * r.seqLen);
    const int64_t tokensPerStep = r.batch * r.seqLen;
    for (int i = 0; i < std::max(1, r.iterations); ++i) {
        fwd.push_back(secondsOf(device, runForward));
        fwdBwd.push_back(secondsOf(device, runTraining));
        peak.push_back(measurePeakFlops(device, options.dtype));
        ratio.push_back(modelFlopsUtilization(trainingFlopsPerToken(c, r.seqLen), tokensPerStep, fwdBwd.back(), peak.back()));
    }

    ModelBenchResult out;
    out.source = r.source;
    out.implementation = r.reference ? "eager reference" : "engine";
    out.seqLen = r.seqLen;
    out.batch = r.batch;
    out.threads = at::get_num_threads();
    out.device = device.str();
    out.dtype = r.dtype;
    out.forwardMs = median(fwd) * 1e3;
    out.forwardBackwardMs = median(fwdBwd) * 1e3;
    out.trainingFlopsPerToken = trainingFlopsPerToken(c, r.seqLen);
    out.tokensPerSecond = static_cast<double>(r.batch * r.seqLen) / (out.forwardBackwardMs / 1e3);
    out.flopsPerSecond = flopsPerStep / (out.forwardBackwardMs / 1e3);
    out.peakFlopsPerSecond = median(peak);
    out.mfu = median(ratio);
    if (!r.reference)
        out.split = timeSplit(r.iterations, [&] { synchronize(device); }, [&](PhaseTimer& timer) {
            model->zero_grad(true);
            ForwardOptions fo;
            fo.phases = &timer;
            const ForwardOutput o = model->forward(batch, fo);
            (o.lossSum / static_cast<double>(std::max<int64_t>(o.labelTokens, 1))).backward();
        });
    return out;
}

}  // namespace hy3
