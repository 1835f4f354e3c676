#include "store/router_watch.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace hy3 {
namespace {

constexpr const char* kIdleFormat = "router collapse: layer %lld, expert %lld got no token for %lld steps";
constexpr const char* kOverloadFormat = "router collapse: layer %lld, expert %lld took %.2fx the mean load over %lld steps";
constexpr const char* kOverloadScan = "router collapse: layer %lld, expert %lld took %lfx the mean load over %lld steps";  // scanf has no precision

}  // namespace

std::string RouterAlert::text() const {
    char buffer[160];
    if (kind == "idle")
        std::snprintf(buffer, sizeof buffer, kIdleFormat, static_cast<long long>(layer), static_cast<long long>(expert),
                      static_cast<long long>(value));
    else
        std::snprintf(buffer, sizeof buffer, kOverloadFormat, static_cast<long long>(layer), static_cast<long long>(expert), value,
                      static_cast<long long>(RouterWatch::kWindow));
    return buffer;
}

std::optional<RouterAlert> parseRouterAlert(int64_t step, const std::string& text) {
    long long layer = 0, expert = 0, steps = 0;
    double ratio = 0;
    RouterAlert a;
    a.step = step;
    if (std::sscanf(text.c_str(), kIdleFormat, &layer, &expert, &steps) == 3) {
        a.kind = "idle";
        a.value = static_cast<double>(steps);
    } else if (std::sscanf(text.c_str(), kOverloadScan, &layer, &expert, &ratio, &steps) == 4) {
        a.kind = "overloaded";
        a.value = ratio;
    } else {
        return std::nullopt;
    }
    a.layer = layer;
    a.expert = expert;
    return a;
}

std::vector<RouterAlert> RouterWatch::observe(int64_t step, int64_t layer, const std::vector<int64_t>& load) {
    std::vector<RouterAlert> alerts;
    Layer& l = layers_[layer];
    if (l.idleSteps.size() != load.size()) l = Layer{std::vector<int64_t>(load.size(), 0), {}, false};
    for (size_t e = 0; e < load.size(); ++e) {
        l.idleSteps[e] = load[e] == 0 ? l.idleSteps[e] + 1 : 0;
        // Raised once, on the step the stretch reaches kIdleSteps; a token ends the stretch.
        if (l.idleSteps[e] == kIdleSteps) alerts.push_back({step, layer, static_cast<int64_t>(e), "idle", static_cast<double>(kIdleSteps)});
    }
    l.window.push_back(load);
    if (l.window.size() > kWindow) l.window.pop_front();
    if (l.window.size() < kWindow || load.empty()) return alerts;
    std::vector<int64_t> sum(load.size(), 0);
    for (const auto& counts : l.window)
        for (size_t e = 0; e < counts.size() && e < sum.size(); ++e) sum[e] += counts[e];
    const double mean = static_cast<double>(std::accumulate(sum.begin(), sum.end(), int64_t{0})) / static_cast<double>(sum.size());
    const auto top = std::max_element(sum.begin(), sum.end());
    const double ratio = mean > 0 ? static_cast<double>(*top) / mean : 0;
    if (ratio >= kOverload && !l.overloadRaised) {
        alerts.push_back({step, layer, static_cast<int64_t>(top - sum.begin()), "overloaded", ratio});
        l.overloadRaised = true;
    } else if (ratio < kOverload) {
        l.overloadRaised = false;  // recovered: a later overload is news again
    }
    return alerts;
}

}  // namespace hy3
