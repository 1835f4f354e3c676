#include "dist/gradient_sync.h"

#include "config/tensor_names.h"

#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

namespace hy3 {

namespace {

// DistributedDataParallel's default bucket_cap_mb.
constexpr int64_t kBucketBytes = 25 << 20;
// A gradient this large is summed where it lies (packing it would copy it twice).
constexpr int64_t kInPlaceBytes = 1 << 20;

int64_t bytesOf(const torch::Tensor& t) { return t.numel() * 4; }  // gradients are fp32

}  // namespace

// The hooks outlive nothing they point to: they reach the sync through this block, which the
// destructor empties.
struct GradientSync::Control {
    GradientSync* sync = nullptr;
};

GradientSync::GradientSync(GradientBuffers& gradients, Comm& replicas, Comm& expertReplicas)
    : gradients_(gradients), replicas_(replicas), expertReplicas_(expertReplicas), groupOrder_(2), nextToStart_(2, 0),
      control_(std::make_shared<Control>()) {
    control_->sync = this;
    bucketOf_.assign(gradients.size(), kNone);
    buildBuckets(0);
    buildBuckets(1);
    for (size_t i = 0; i < gradients.size(); ++i) {
        // The accumulator is the autograd node that adds a backward's gradient into .grad; its
        // post-hook runs once that gradient is complete. Holding it keeps the same node (and hook)
        // for every step.
        std::shared_ptr<torch::autograd::Node> accumulator = torch::autograd::impl::grad_accumulator(gradients.parameter(i));
        std::shared_ptr<Control> control = control_;
        accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
            [control, i](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
                if (control->sync) control->sync->onGradientReady(i);
                return outputs;
            }));
        keepAlive_.push_back(accumulator);
    }
}

GradientSync::~GradientSync() { control_->sync = nullptr; }

void GradientSync::buildBuckets(int group) {
    if (comm(group).size() == 1) return;  // nothing to sum
    const bool experts = group == 1;
    Bucket packing;
    packing.group = group;
    int64_t packedBytes = 0;
    auto close = [&](Bucket& bucket) {
        if (bucket.params.empty()) return;
        groupOrder_[static_cast<size_t>(group)].push_back(buckets_.size());
        for (size_t i : bucket.params) bucketOf_[i] = buckets_.size();
        buckets_.push_back(std::move(bucket));
        bucket = Bucket{};
        bucket.group = group;
    };
    for (size_t k = gradients_.size(); k-- > 0;) {
        if (isRoutedExpert(gradients_.name(k)) != experts) continue;
        const int64_t bytes = bytesOf(gradients_.parameter(k));
        if (bytes >= kInPlaceBytes) {
            Bucket alone;
            alone.group = group;
            alone.params.push_back(k);
            close(alone);
            continue;
        }
        packing.params.push_back(k);
        packedBytes += bytes;
        if (packedBytes >= kBucketBytes) close(packing), packedBytes = 0;
    }
    close(packing);
}

void GradientSync::arm() {
    armed_ = true;
    startedDuringBackward_ = 0;
}

void GradientSync::onGradientReady(size_t param) {
    if (!armed_) return;
    gradients_.accumulate(param);  // a bf16 parameter's gradient joins its fp32 accumulator now
    if (bucketOf_[param] == kNone) return;
    Bucket& bucket = buckets_[bucketOf_[param]];
    if (++bucket.ready < bucket.params.size()) return;
    const size_t before = nextToStart_[static_cast<size_t>(bucket.group)];
    startInOrder(bucket.group);
    startedDuringBackward_ += static_cast<int>(nextToStart_[static_cast<size_t>(bucket.group)] - before);
}

void GradientSync::startInOrder(int group) {
    const std::vector<size_t>& order = groupOrder_[static_cast<size_t>(group)];
    size_t& next = nextToStart_[static_cast<size_t>(group)];
    while (next < order.size() && buckets_[order[next]].ready >= buckets_[order[next]].params.size()) start(buckets_[order[next++]]);
}

void GradientSync::start(Bucket& bucket) {
    torch::NoGradGuard noGrad;
    if (bucket.params.size() == 1 && gradients_.gradientOrZeros(bucket.params[0]).is_contiguous()) {
        bucket.buffer = gradients_.gradientOrZeros(bucket.params[0]);
    } else {
        std::vector<torch::Tensor> flat;
        for (size_t i : bucket.params) flat.push_back(gradients_.gradientOrZeros(i).reshape({-1}));
        bucket.buffer = torch::cat(flat);
    }
    bucket.wait = comm(bucket.group).startAllReduceSum(bucket.buffer);
}

GradientSumStats GradientSync::finish() {
    armed_ = false;
    // Whatever the backward left (parameters that got no gradient this micro-batch) starts now,
    // in the same order on every rank.
    for (Bucket& bucket : buckets_) bucket.ready = bucket.params.size();
    startInOrder(0);
    startInOrder(1);
    torch::NoGradGuard noGrad;
    for (Bucket& bucket : buckets_) {
        bucket.wait();
        if (!bucket.buffer.is_same(gradients_.gradientOrZeros(bucket.params[0]))) {
            int64_t offset = 0;
            for (size_t i : bucket.params) {
                torch::Tensor g = gradients_.gradientOrZeros(i);
                g.view({-1}).copy_(bucket.buffer.narrow(0, offset, g.numel()));
                offset += g.numel();
            }
        }
        bucket.ready = 0;
        bucket.buffer = torch::Tensor();
        bucket.wait = nullptr;
    }
    nextToStart_.assign(2, 0);
    return {static_cast<int>(buckets_.size()), startedDuringBackward_};
}

}  // namespace hy3
