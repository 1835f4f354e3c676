#pragma once
// A run store filled with synthetic router load and a loss curve, for the Train page's tests and
// its benchmark: the size of the released model's router is 79 MoE layers x 192 experts.
#include "store/run_store.h"

#include <QDir>
#include <QString>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace hy3::test {

// `steps` steps of `layers` MoE layers (numbered from 1) x `experts`, the run left in `state`.
inline void writeSyntheticRun(const QString& runDir, int64_t steps, int layers, int experts, const std::string& state) {
    QDir().mkpath(runDir);
    RunStore store = RunStore::open((runDir + "/run.sqlite").toStdString(), RunStore::Mode::ReadWrite);
    const int64_t run = store.createRun("synthetic", "{}", steps);
    std::mt19937 rng(7);
    std::vector<uint32_t> counts(static_cast<size_t>(experts));
    for (int64_t first = 1; first <= steps; first += 100) {
        store.transaction([&] {
            for (int64_t step = first; step < std::min(steps + 1, first + 100); ++step) {
                for (int64_t layer = 1; layer <= layers; ++layer) {
                    for (auto& c : counts) c = rng() % 4096;  // 4096 x 8 slots spread unevenly
                    store.addRouterLoad(run, step, layer, counts, {});
                }
                store.addMetrics(run, step, {{"loss", 2.0 + 1.0 / static_cast<double>(step)}});
            }
        });
    }
    store.setRunState(run, state);
}

}  // namespace hy3::test
