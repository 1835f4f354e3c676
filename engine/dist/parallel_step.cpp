#include "dist/parallel_step.h"

#include "config/tensor_names.h"
#include "model/ops.h"

#include <numeric>

namespace hy3 {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Tags of pipeline messages: each micro-batch's activation and gradient have their own.
int activationTag(int microBatch) { return 2 * microBatch; }
int gradientTag(int microBatch) { return 2 * microBatch + 1; }

// all-to-all as an autograd function: the backward sends the gradients back the way rows came.
struct AllToAllFunction : torch::autograd::Function<AllToAllFunction> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& rows, int64_t commAddress, std::vector<int64_t> send,
                                 std::vector<int64_t> receive) {
        Comm* comm = reinterpret_cast<Comm*>(commAddress);
        ctx->saved_data["comm"] = commAddress;
        ctx->saved_data["send"] = send;
        ctx->saved_data["receive"] = receive;
        torch::Tensor out = torch::empty({std::accumulate(receive.begin(), receive.end(), int64_t(0)), rows.size(1)}, rows.options());
        comm->allToAll(out, rows, receive, send);
        return out;
    }
    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        Comm* comm = reinterpret_cast<Comm*>(ctx->saved_data["comm"].toInt());
        const std::vector<int64_t> send = ctx->saved_data["send"].toIntVector(), receive = ctx->saved_data["receive"].toIntVector();
        const torch::Tensor grad = grads[0].contiguous();
        torch::Tensor back = torch::empty({std::accumulate(send.begin(), send.end(), int64_t(0)), grad.size(1)}, grad.options());
        comm->allToAll(back, grad, send, receive);
        return {back, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

// Expert parallelism over the expert-parallel group: rank q holds experts [q*local, (q+1)*local).
class DistExpertExchange : public ExpertExchange {
public:
    explicit DistExpertExchange(Comm& comm) : comm_(comm) {}
    int64_t ranks() const override { return comm_.size(); }

    torch::Tensor run(const torch::Tensor& xs, const torch::Tensor& ws, const std::vector<int64_t>& perExpert,
                      const LocalExpertsFn& experts) override {
        const int64_t ranks = comm_.size(), local = static_cast<int64_t>(perExpert.size()) / ranks;
        // The slots are sorted by expert, so rank q's experts are contiguous: one split per rank.
        const std::vector<int64_t> received = exchangeCounts(perExpert);  // [source rank, local expert]
        std::vector<int64_t> sendSplits(static_cast<size_t>(ranks), 0), recvSplits(static_cast<size_t>(ranks), 0);
        for (int64_t q = 0; q < ranks; ++q)
            for (int64_t e = 0; e < local; ++e) {
                sendSplits[static_cast<size_t>(q)] += perExpert[static_cast<size_t>(q * local + e)];
                recvSplits[static_cast<size_t>(q)] += received[static_cast<size_t>(q * local + e)];
            }
        const torch::Tensor xr = exchange(xs, sendSplits, recvSplits);
        const torch::Tensor wr = exchange(ws.unsqueeze(1), sendSplits, recvSplits).squeeze(1);
        // Rows arrive by source rank, each source's by expert; the experts want them by expert.
        const torch::Tensor count_QE = torch::tensor(received, torch::kLong).view({ranks, local});
        const torch::Tensor byExpert = ops::toDevice(expertOrder(count_QE), xs.device());
        const torch::Tensor ys = experts(xr.index_select(0, byExpert), wr.index_select(0, byExpert), count_QE.sum(0));
        // Back into source order, and home.
        const torch::Tensor bySource = torch::empty_like(byExpert).index_copy_(0, byExpert, torch::arange(byExpert.numel(), byExpert.options()));
        return exchange(ys.index_select(0, bySource), recvSplits, sendSplits);
    }

private:
    // Every rank tells every other how many of its slots go to each of that rank's experts.
    std::vector<int64_t> exchangeCounts(const std::vector<int64_t>& counts) {
        const torch::Tensor in = torch::tensor(counts, torch::kLong);
        torch::Tensor out = torch::empty_like(in);
        const std::vector<int64_t> equal(static_cast<size_t>(comm_.size()), in.numel() / comm_.size());
        comm_.allToAll(out, in, equal, equal);
        return std::vector<int64_t>(out.data_ptr<int64_t>(), out.data_ptr<int64_t>() + out.numel());
    }

    torch::Tensor exchange(const torch::Tensor& rows, const std::vector<int64_t>& send, const std::vector<int64_t>& receive) {
        return AllToAllFunction::apply(rows, reinterpret_cast<int64_t>(&comm_), send, receive);
    }

    // The received rows' indices in expert-major order: for each local expert, each source's
    // rows for it. count_QE [sources, local experts] is how many rows came from q for expert e.
    static torch::Tensor expertOrder(const torch::Tensor& count_QE) {
        const torch::Tensor flat = count_QE.flatten();
        const torch::Tensor start_QE = (flat.cumsum(0) - flat).view(count_QE.sizes());  // where (q, e)'s rows begin
        const torch::Tensor length = count_QE.t().flatten(), start = start_QE.t().flatten();
        const torch::Tensor placed = length.cumsum(0) - length;  // where (e, q)'s rows go
        const int64_t total = flat.sum().item<int64_t>();
        return torch::arange(total, torch::kLong) + (start - placed).repeat_interleave(length);
    }

    Comm& comm_;
};

}  // namespace

void sumOver(Comm& comm, std::vector<double>& values) {
    if (comm.size() == 1 || values.empty()) return;
    torch::Tensor t = torch::tensor(values, torch::kDouble);
    comm.allReduceSum({t});
    for (size_t i = 0; i < values.size(); ++i) values[i] = t[static_cast<int64_t>(i)].item<double>();
}

DistStepComm::DistStepComm(Distributed& dist) : dist_(dist) {}

void DistStepComm::exchange(std::vector<Transfer>& transfers) {
    std::vector<Comm::PointToPoint> operations;
    for (const Transfer& t : transfers) {
        const PipeMessage& m = t.message;
        const int peer = m.towardNextStage() ? dist_.mesh().nextStageRank(dist_.rank()) : dist_.mesh().previousStageRank(dist_.rank());
        const bool activation = m.kind == PipeMessage::Kind::SendActivation || m.kind == PipeMessage::Kind::ReceiveActivation;
        operations.push_back({m.isSend(), t.tensor, peer, activation ? activationTag(m.microBatch) : gradientTag(m.microBatch)});
    }
    dist_.world().exchange(operations);
}

void DistStepComm::finishSends() { dist_.world().waitSends(); }

void DistStepComm::sumOverReplicas(std::vector<double>& values) { sumOver(dist_.dataParallel(), values); }

void DistStepComm::sumOverWorld(std::vector<double>& values) { sumOver(dist_.world(), values); }

GradientSync& DistStepComm::syncFor(GradientBuffers& g) {
    const bool same = sync_ && &sync_->gradients() == &g && g.size() == sync_->gradients().size();
    if (!same) sync_ = std::make_unique<GradientSync>(g, dist_.dataParallel(), dist_.expertData());
    return *sync_;
}

void DistStepComm::beforeLastBackward(GradientBuffers& g) { syncFor(g).arm(); }

GradientSumStats DistStepComm::sumGradients(GradientBuffers& g) { return syncFor(g).finish(); }

void DistStepComm::sumLoads(std::vector<torch::Tensor>& loads) { dist_.dataParallel().allReduceSum(loads); }

void DistStepComm::assignOwners(const GradientBuffers& g) {
    // Greedy by size in parameter order: the same on every rank, and balanced to within one tensor.
    owner_.assign(g.size(), 0);
    std::vector<int64_t> replicatedLoad(static_cast<size_t>(dist_.dataParallel().size()), 0);
    std::vector<int64_t> expertLoad(static_cast<size_t>(dist_.expertData().size()), 0);
    for (size_t i = 0; i < g.size(); ++i) {
        std::vector<int64_t>& load = isRoutedExpert(g.name(i)) ? expertLoad : replicatedLoad;
        const size_t least = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
        owner_[i] = static_cast<int>(least);
        load[least] += g.parameter(i).numel();
    }
}

std::vector<size_t> DistStepComm::ownedParameters(const GradientBuffers& g) {
    assignOwners(g);
    std::vector<size_t> mine;
    for (size_t i = 0; i < g.size(); ++i) {
        const int me = isRoutedExpert(g.name(i)) ? dist_.expertData().rank() : dist_.dataParallel().rank();
        if (owner_[i] == me) mine.push_back(i);
    }
    return mine;
}

void DistStepComm::shareUpdatedParameters(const GradientBuffers& g) {
    torch::NoGradGuard noGrad;
    for (bool experts : {false, true}) {
        Comm& group = experts ? dist_.expertData() : dist_.dataParallel();
        if (group.size() == 1) continue;
        for (int owner = 0; owner < group.size(); ++owner) {
            std::vector<torch::Tensor> tensors;
            for (size_t i = 0; i < g.size(); ++i)
                if (isRoutedExpert(g.name(i)) == experts && owner_[i] == owner) tensors.push_back(g.parameter(i));
            group.broadcast(tensors, owner);
        }
    }
}

void DistStepComm::gatherRouterState(std::vector<std::vector<double>>& rows) {
    if (rows.empty() || dist_.worldSize() == 1) return;
    // Replicas of a stage hold the same (summed) load and bias: one of them speaks for the stage.
    const bool speaks = dist_.position().dpRank == 0;
    const int64_t width = static_cast<int64_t>(rows[0].size());
    torch::Tensor all = torch::zeros({static_cast<int64_t>(rows.size()), width}, torch::kDouble);
    double* data = all.data_ptr<double>();
    if (speaks)
        for (size_t r = 0; r < rows.size(); ++r) std::copy(rows[r].begin(), rows[r].end(), data + static_cast<int64_t>(r) * width);
    dist_.world().allReduceSum({all});
    for (size_t r = 0; r < rows.size(); ++r) std::copy(data + static_cast<int64_t>(r) * width, data + static_cast<int64_t>(r + 1) * width, rows[r].begin());
}

std::shared_ptr<ExpertExchange> makeExpertExchange(Distributed& dist) { return std::make_shared<DistExpertExchange>(dist.expertParallel()); }

}  // namespace hy3
