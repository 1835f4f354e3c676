// libFuzzer harness: the event stream of `hy3 train --events jsonl` as the workbench follows it
// (RunFollower, under the Train page's Qt adapter), every line of the input fed in order, then what
// the charts draw read back (router load shares, smoothed series).
#include "api/run_follower.h"
#include "fuzz_support.h"
#include "util/error.h"
#include <string_view>
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    hy3::api::RunFollower follower;
    size_t start = 0;
    while (start <= input.size()) {
        size_t end = input.find('\n', start);
        if (end == std::string_view::npos) end = input.size();
        try {
            (void)follower.feedLine(input.substr(start, end - start));
        } catch (const hy3::Error&) {
        }
        start = end + 1;
    }
    for (const auto& layer : follower.layers()) {
        (void)hy3::api::loadShares(layer, false);
        (void)hy3::api::loadShares(layer, true);
    }
    for (const auto& [name, series] : follower.metrics()) {
        if (series.steps.size() != series.values.size()) __builtin_trap();
        (void)hy3::api::smoothed(series.values);
    }
    return 0;
}
