#pragma once
// Watching a run's router load for a collapsing MoE layer: an expert that gets no token for
// kIdleSteps steps in a row, or one that takes kOverload times the mean load over the last
// kWindow steps. Each becomes one warning (an alert) when it starts; it is raised again only after
// the layer has recovered. The trainer writes alerts as warning log events (store and stream);
// followers read them back with parseRouterAlert, so the text below is the one place their
// format lives. No torch.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hy3 {

struct RouterAlert {
    int64_t step = 0, layer = 0, expert = 0;
    std::string kind;  // "idle" or "overloaded"
    double value = 0;  // idle: steps without a token; overloaded: the expert's load over the mean
    std::string text() const;
};

// The alert a warning's text holds, or nothing for any other text.
std::optional<RouterAlert> parseRouterAlert(int64_t step, const std::string& text);

class RouterWatch {
public:
    static constexpr int64_t kIdleSteps = 20;
    static constexpr size_t kWindow = 20;
    static constexpr double kOverload = 3.0;

    // One step's token-slot counts per expert of MoE layer `layer`; returns the alerts it raises.
    std::vector<RouterAlert> observe(int64_t step, int64_t layer, const std::vector<int64_t>& load);

private:
    struct Layer {
        std::vector<int64_t> idleSteps;             // per expert: steps in a row without a token
        std::deque<std::vector<int64_t>> window;    // the last kWindow steps' loads
        bool overloadRaised = false;
    };
    std::map<int64_t, Layer> layers_;
};

}  // namespace hy3
