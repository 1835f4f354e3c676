#include "model/generate.h"

#include "util/error.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

namespace hy3 {

std::vector<int32_t> generateTokens(Hy3ModelImpl& model, const std::vector<int32_t>& prompt, const GenerateOptions& o) {
    if (prompt.empty()) fail("generate", "the prompt has no tokens");
    model.eval();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
    KvCache cache;
    std::vector<int64_t> promptIds(prompt.begin(), prompt.end());
    torch::Tensor logits = model.decode(torch::tensor(promptIds, torch::kLong).unsqueeze(0), cache);
    std::vector<int32_t> out;
    for (int64_t i = 0; i < o.maxNewTokens; ++i) {
        int64_t next;
        if (o.temperature <= 0) {
            next = logits.argmax().item<int64_t>();
        } else {
            torch::Tensor probs = torch::softmax(logits.cpu() / o.temperature, 0);
            if (o.topP < 1.0) {  // keep the smallest set of tokens whose probability reaches top_p
                const auto sorted = probs.sort(0, true);
                const torch::Tensor values = std::get<0>(sorted), indices = std::get<1>(sorted);
                const torch::Tensor keep = (values.cumsum(0) - values).lt(o.topP);
                probs = torch::zeros_like(probs).index_put_({indices.masked_select(keep)}, values.masked_select(keep));
            }
            next = torch::multinomial(probs, 1, false, gen).item<int64_t>();
        }
        out.push_back(static_cast<int32_t>(next));
        if (std::find(o.stopIds.begin(), o.stopIds.end(), next) != o.stopIds.end()) break;
        logits = model.decode(torch::tensor({next}, torch::kLong).unsqueeze(0), cache);
    }
    return out;
}

}  // namespace hy3
