#include "dist/comm.h"

#include "dist/comm_impl.h"
#include "util/error.h"

namespace hy3 {

Comm::Comm() : members_{0} {}
Comm::Comm(std::string name, std::vector<int> members, int rank, std::shared_ptr<Impl> impl)
    : name_(std::move(name)), members_(std::move(members)), rank_(rank), impl_(std::move(impl)) {}
Comm::~Comm() = default;
Comm::Comm(Comm&&) noexcept = default;
Comm& Comm::operator=(Comm&&) noexcept = default;

namespace {

// Runs one c10d operation; a failure becomes one line naming the group and the operation.
template <typename F>
void guarded(const std::string& group, const char* what, F&& operation) {
    try {
        operation();
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        const std::string message = e.what();
        fail("process group " + group, std::string(what) + " failed: " + message.substr(0, message.find('\n')));
    }
}

// Gloo reduces and exchanges only the common numeric types; half-precision values travel as fp32
// (exact: every bf16 and fp16 value is an fp32 value). NCCL takes them as they are.
torch::Tensor transportable(const Comm::Impl& impl, const torch::Tensor& t) {
    const auto type = t.scalar_type();
    const bool half = type == torch::kBFloat16 || type == torch::kHalf;
    return half && impl.glooCarries(t) ? t.to(torch::kFloat) : t;
}

// Runs `collective` on one flat buffer per dtype of `tensors` (a collective needs one shape and one
// type), then copies the buffer back into the tensors unless `copyBack` is false.
template <typename F>
void onFlatBuffers(const Comm::Impl& impl, const std::vector<torch::Tensor>& tensors, bool copyBack, F&& collective) {
    std::map<std::pair<c10::ScalarType, bool>, std::vector<torch::Tensor>> byType;  // by dtype and host/device
    for (const torch::Tensor& t : tensors) byType[{t.scalar_type(), t.is_cpu()}].push_back(t);
    for (auto& [type, group] : byType) {
        std::vector<torch::Tensor> flat;
        for (const torch::Tensor& t : group) flat.push_back(t.reshape({-1}));
        std::vector<torch::Tensor> buffer{transportable(impl, torch::cat(flat))};
        collective(buffer);
        if (!copyBack) continue;
        int64_t offset = 0;
        for (const torch::Tensor& t : group) {
            t.view({-1}).copy_(buffer[0].narrow(0, offset, t.numel()));
            offset += t.numel();
        }
    }
}

}  // namespace

void Comm::allReduceSum(const std::vector<torch::Tensor>& tensors) {
    if (size() == 1 || tensors.empty()) return;
    onFlatBuffers(*impl_, tensors, true, [&](std::vector<torch::Tensor>& buffer) {
        guarded(name_, "all-reduce", [&] { impl_->backendFor(buffer[0]).allreduce(buffer)->wait(); });
    });
}

std::function<void()> Comm::startAllReduceSum(const torch::Tensor& tensor) {
    if (size() == 1) return [] {};
    std::vector<torch::Tensor> buffer{tensor};
    c10::intrusive_ptr<c10d::Work> work;
    guarded(name_, "all-reduce", [&] { work = impl_->backendFor(tensor).allreduce(buffer); });
    return [work, name = name_] { guarded(name, "all-reduce", [&] { work->wait(); }); };
}

void Comm::allReduceMax(torch::Tensor& tensor) {
    if (size() == 1) return;
    std::vector<torch::Tensor> buffer{tensor};
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::MAX;
    guarded(name_, "all-reduce", [&] { impl_->backendFor(tensor).allreduce(buffer, options)->wait(); });
}

void Comm::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
    if (size() == 1 || tensors.empty()) return;
    c10d::BroadcastOptions options;
    options.rootRank = root;
    onFlatBuffers(*impl_, tensors, rank_ != root, [&](std::vector<torch::Tensor>& buffer) {
        guarded(name_, "broadcast", [&] { impl_->backendFor(buffer[0]).broadcast(buffer, options)->wait(); });
    });
}

void Comm::broadcastString(std::string& text, int root) {
    if (size() == 1) return;
    torch::Tensor length = torch::tensor({static_cast<int64_t>(text.size())}, torch::kLong);
    broadcast({length}, root);
    if (length.item<int64_t>() == 0) {
        text.clear();
        return;
    }
    torch::Tensor chars = torch::zeros({length.item<int64_t>()}, torch::kInt);
    if (rank_ == root)
        for (size_t i = 0; i < text.size(); ++i) chars[static_cast<int64_t>(i)] = static_cast<int>(static_cast<unsigned char>(text[i]));
    broadcast({chars}, root);
    if (rank_ == root) return;
    text.resize(static_cast<size_t>(chars.numel()));
    const int* data = chars.data_ptr<int>();
    for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>(data[i]);
}

void Comm::allToAll(torch::Tensor& out, const torch::Tensor& in, const std::vector<int64_t>& outSplits,
                    const std::vector<int64_t>& inSplits) {
    if (size() == 1) {
        out.copy_(in);
        return;
    }
    torch::Tensor input = transportable(*impl_, in).contiguous();
    torch::Tensor output = transportable(*impl_, out);
    std::vector<int64_t> o = outSplits, i = inSplits;
    const int64_t rowBytes = in.dim() > 0 && in.size(0) > 0 ? in.numel() / in.size(0) * in.element_size() : 0;
    for (int r = 0; r < size(); ++r)
        if (r != rank_) allToAllBytes_ += i[static_cast<size_t>(r)] * rowBytes;
    guarded(name_, "all-to-all", [&] { impl_->backendFor(input).alltoall_base(output, input, o, i)->wait(); });
    if (!output.is_same(out)) out.copy_(output);
}

void Comm::exchange(const std::vector<PointToPoint>& operations) {
    if (operations.empty()) return;
    c10d::Backend& backend = impl_->backendFor(operations[0].tensor);
    std::vector<std::vector<torch::Tensor>> buffers;
    for (const PointToPoint& op : operations) buffers.push_back({op.send ? op.tensor.contiguous() : op.tensor});
    guarded(name_, "send/receive", [&] {
        if (backend.supportsCoalescing()) {  // NCCL: as PyTorch's batch_isend_irecv does
            backend.startCoalescing();
            for (size_t i = 0; i < operations.size(); ++i) {
                const PointToPoint& op = operations[i];
                if (op.send) backend.send(buffers[i], op.peer, op.tag);
                else backend.recv(buffers[i], op.peer, op.tag);
            }
            const c10::intrusive_ptr<c10d::Work> group = backend.endCoalescing();
            group->wait();  // the receives are ready for the next kernel on this stream
            for (size_t i = 0; i < operations.size(); ++i)
                if (operations[i].send) impl_->pendingSends.push_back({group, buffers[i][0]});
            return;
        }
        // Gloo sends from its own buffers and returns: post them first, then wait for the receives.
        for (size_t i = 0; i < operations.size(); ++i)
            if (operations[i].send) impl_->pendingSends.push_back({backend.send(buffers[i], operations[i].peer, operations[i].tag), buffers[i][0]});
        for (size_t i = 0; i < operations.size(); ++i)
            if (!operations[i].send) backend.recv(buffers[i], operations[i].peer, operations[i].tag)->wait();
    });
}

void Comm::waitSends() {
    if (!impl_) return;
    guarded(name_, "send", [&] {
        for (auto& pending : impl_->pendingSends) pending.work->wait();
    });
    impl_->pendingSends.clear();
}

void Comm::barrier() {
    if (size() == 1) return;
    guarded(name_, "barrier", [&] { (impl_->host ? impl_->host : impl_->backend)->barrier()->wait(); });
}

int64_t Comm::takeAllToAllBytes() {
    const int64_t bytes = allToAllBytes_;
    allToAllBytes_ = 0;
    return bytes;
}

}  // namespace hy3
