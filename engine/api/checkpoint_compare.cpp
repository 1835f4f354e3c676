// `hy3 checkpoint compare`: two models on one probe batch, compared by their logits.
#include "api/checkpoint_tools.h"

#include "checkpoint/batch_file.h"
#include "checkpoint/runnable_model.h"
#include "model/dtype.h"
#include "util/error.h"
#include "util/format.h"

namespace hy3::api {
namespace {

constexpr int64_t kProbeRows = 4, kProbeLength = 64;

// The built-in probe: token ids over the whole vocabulary from a fixed-seed generator
// (splitmix64, so the batch is the same with every LibTorch version), every position a label.
Batch builtinProbe(int64_t vocab) {
    torch::Tensor ids = torch::empty({kProbeRows, kProbeLength}, torch::kLong);
    uint64_t state = 0x4879335f70726f62ull;  // fixed seed
    int64_t* out = ids.data_ptr<int64_t>();
    for (int64_t i = 0; i < ids.numel(); ++i) {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        out[i] = static_cast<int64_t>((z ^ (z >> 31)) % static_cast<uint64_t>(vocab));
    }
    Batch b;
    b.input_ids = ids;
    b.labels = ids.clone();
    return b;
}

struct ProbeResult {
    torch::Tensor logits;  // [positions, V] fp32, only the real (unpadded) positions
    bool hasLoss = false;
    double loss = 0;
    int64_t expertsReached = 0, expertsTotal = 0;
};

// Loads one model, runs the probe, and lets the model go before returning.
ProbeResult runProbe(const RunnableSpec& spec, const Batch& batch, torch::Dtype dtype) {
    torch::NoGradGuard noGrad;
    ModelOptions options;
    options.dtype = dtype;
    Hy3Model model = openRunnable(spec, options);
    model->eval();
    ForwardOptions fo;
    fo.logitsToKeep = 0;
    fo.recordRouting = true;
    const ForwardOutput out = model->forward(batch, fo);
    ProbeResult r;
    r.logits = out.logits.reshape({-1, out.logits.size(-1)});
    if (batch.attention_mask.defined()) r.logits = r.logits.index_select(0, batch.attention_mask.reshape({-1}).nonzero().squeeze(1));
    if (out.lossSum.defined() && out.labelTokens > 0) {
        r.hasLoss = true;
        r.loss = out.lossSum.item<double>() / static_cast<double>(out.labelTokens);
    }
    for (const LayerRouting& lr : out.routing) {
        r.expertsReached += lr.load_E.gt(0).sum().item<int64_t>();
        r.expertsTotal += lr.load_E.numel();
    }
    return r;
}

}  // namespace

CompareReport compareCheckpoints(const CompareRequest& request) {
    if (!(request.tolerance >= 0)) fail("--tolerance", "must be zero or positive");
    const torch::Dtype dtype = parseDtype(request.dtype);
    const RunnableSpec a = resolveRunnable(request.a, request.adapterA), b = resolveRunnable(request.b, request.adapterB);
    if (a.config().vocab_size != b.config().vocab_size)
        fail(b.description, "vocabulary of " + std::to_string(b.config().vocab_size) + " tokens, but " + a.description + " has " +
                                std::to_string(a.config().vocab_size) + ": the logits cannot be compared");

    CompareReport report;
    report.a = a.description;
    report.b = b.description;
    report.tolerance = request.tolerance;
    Batch batch;
    if (request.input.empty()) {
        batch = builtinProbe(a.config().vocab_size);
        report.probe = "built-in probe: " + std::to_string(kProbeRows) + " x " + std::to_string(kProbeLength) + " tokens";
    } else {
        batch = readBatchFile(request.input, a.config());
        report.probe = request.input;
    }

    const ProbeResult ra = runProbe(a, batch, dtype);
    const ProbeResult rb = runProbe(b, batch, dtype);

    const torch::Tensor la = ra.logits.to(torch::kDouble), lb = rb.logits.to(torch::kDouble);
    const torch::Tensor diff = (la - lb).abs();
    report.positions = la.size(0);
    report.maxAbsDiff = diff.max().item<double>();
    report.meanAbsDiff = diff.mean().item<double>();
    const torch::Tensor logPa = torch::log_softmax(la, -1), logPb = torch::log_softmax(lb, -1);
    report.meanKl = (logPa.exp() * (logPa - logPb)).sum(-1).mean().item<double>();
    report.top1Agreement = la.argmax(-1).eq(lb.argmax(-1)).to(torch::kDouble).mean().item<double>();
    report.hasLoss = ra.hasLoss && rb.hasLoss;
    report.lossA = ra.loss;
    report.lossB = rb.loss;
    report.expertsReached = ra.expertsReached;
    report.expertsTotal = ra.expertsTotal;
    report.withinTolerance = report.maxAbsDiff <= request.tolerance;
    return report;
}

std::string formatCompareReport(const CompareReport& r) {
    std::string o;
    o += "A: " + r.a + "\n";
    o += "B: " + r.b + "\n";
    o += "probe: " + r.probe + ", " + groupDigits(r.positions) + " positions";
    if (r.expertsTotal > 0)
        o += ", reached " + groupDigits(r.expertsReached) + " of " + groupDigits(r.expertsTotal) + " routed experts (all layers)";
    o += "\n";
    o += "max |logit difference|   " + significant(r.maxAbsDiff, 4) + "\n";
    o += "mean |logit difference|  " + significant(r.meanAbsDiff, 4) + "\n";
    o += "mean KL(A || B)          " + significant(r.meanKl, 4) + " nats\n";
    o += "top-1 agreement          " + fixed(100.0 * r.top1Agreement, 2) + "%\n";
    if (r.hasLoss) o += "loss A / B               " + fixed(r.lossA, 6) + " / " + fixed(r.lossB, 6) + "\n";
    o += r.withinTolerance ? "result: the same model within tolerance " + significant(r.tolerance, 3) + "\n"
                           : "result: the models differ: max |logit difference| " + significant(r.maxAbsDiff, 4) + " > tolerance " +
                                 significant(r.tolerance, 3) + "\n";
    if (r.expertsReached < r.expertsTotal)
        o += "note: the probe sent no token to " + groupDigits(r.expertsTotal - r.expertsReached) +
             " routed experts; damage confined to those would not show (give a larger --input)\n";
    return o;
}

}  // namespace hy3::api
