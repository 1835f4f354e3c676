#pragma once
// One process group over some ranks of the job (LibTorch c10d: Gloo on CPU, NCCL on CUDA). A group
// of one process needs no communication: every operation returns at once. Errors (a peer that
// vanished, a timeout) come back as hy3::Error naming the group and the operation.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hy3 {

class Comm {
public:
    struct Impl;
    Comm();  // the group of this process alone
    Comm(std::string name, std::vector<int> members, int rank, std::shared_ptr<Impl> impl);
    ~Comm();
    Comm(Comm&&) noexcept;
    Comm& operator=(Comm&&) noexcept;

    const std::string& name() const { return name_; }
    int rank() const { return rank_; }  // position in the group
    int size() const { return static_cast<int>(members_.size()); }
    const std::vector<int>& members() const { return members_; }  // global ranks

    // Sums in place across the group. Tensors of any shapes: they travel as one flat buffer per dtype.
    void allReduceSum(const std::vector<torch::Tensor>& tensors);
    void allReduceMax(torch::Tensor& tensor);
    // Starts summing one dense tensor in place and returns at once; the returned function waits
    // for the sum (the tensor must not be touched until then). Every member must start the same
    // tensors in the same order.
    std::function<void()> startAllReduceSum(const torch::Tensor& tensor);
    // Copies `root`'s tensors (group rank) to every member, in place.
    void broadcast(const std::vector<torch::Tensor>& tensors, int root);
    // Copies `root`'s string to every member.
    void broadcastString(std::string& text, int root);
    // out gets outSplits[r] rows from each member r; in sends inSplits[r] rows to member r.
    void allToAll(torch::Tensor& out, const torch::Tensor& in, const std::vector<int64_t>& outSplits,
                  const std::vector<int64_t>& inSplits);
    // Point to point (group ranks): one group of sends and receives, posted together (NCCL: one
    // coalesced group, so a send never waits behind a receive of the same group). Returns when the
    // receives have filled their tensors; the sends may still run until waitSends().
    struct PointToPoint {
        bool send;
        torch::Tensor tensor;  // sent, or filled
        int peer;
        int tag;
    };
    void exchange(const std::vector<PointToPoint>& operations);
    void waitSends();
    void barrier();

    // Bytes this process sent through allToAll since the last call (for benchmarks).
    int64_t takeAllToAllBytes();

private:
    std::string name_;
    std::vector<int> members_;
    int rank_ = 0;
    std::shared_ptr<Impl> impl_;
    int64_t allToAllBytes_ = 0;
};

}  // namespace hy3
