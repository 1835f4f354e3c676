// Benchmark of the Train page at the released model's size (not a test: it asserts nothing and is
// not run by CTest). Writes a run store with 5,000 steps of synthetic router load for 79 MoE
// layers x 192 experts, opens it on the Train page, feeds more steps and redraws everything
// (heatmap, 79 imbalance lines, charts), then reads one expert's whole history on the worker.
//
//   QT_QPA_PLATFORM=offscreen build/tests/bench_train_page [UPDATES]
#include "main_window.h"
#include "pages/train_page.h"
#include "run_monitor.h"
#include "synthetic_run.h"
#include "ui_support.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>
#include <random>

using hy3::ui::MainWindow;
using hy3::ui::TrainPage;

namespace {

double msSince(const QElapsedTimer& t) { return static_cast<double>(t.nsecsElapsed()) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    hy3::test::isolateSettings();
    const int updates = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
    constexpr int kLayers = 79, kExperts = 192, kSteps = 5000;

    QTemporaryDir dir;
    const QString runDir = dir.path() + "/synthetic";
    QElapsedTimer timer;
    timer.start();
    hy3::test::writeSyntheticRun(runDir, kSteps, kLayers, kExperts, "finished");
    const double writeMs = msSince(timer);

    MainWindow window;
    window.resize(1400, 1000);
    window.openProject(hy3::test::scratchProject(dir));
    window.showPage("Train");
    TrainPage* page = window.trainPage();
    timer.restart();
    QSignalSpy read(page->monitor(), &hy3::ui::RunMonitor::storeRead);
    page->openRun(runDir);
    if (!read.wait(600000)) {
        std::fprintf(stderr, "bench_train_page: the run store was not read\n");
        return 1;
    }
    page->refreshNow();
    const double openMs = msSince(timer);

    std::vector<double> updateMs, heatmapMs;
    std::mt19937 rng(9);
    for (int i = 0; i < updates; ++i) {
        timer.restart();
        for (int layer = 1; layer <= kLayers; ++layer) {
            std::vector<double> counts(kExperts);
            for (double& c : counts) c = static_cast<double>(rng() % 4096);
            page->monitor()->addRouterLoad(kSteps + 1 + i, layer, counts);
        }
        page->refreshNow();
        updateMs.push_back(msSince(timer));
        heatmapMs.push_back(page->lastHeatmapMs());
    }

    timer.restart();
    QSignalSpy shown(page, &TrainPage::expertShown);
    page->showExpert(40, 100);
    if (!shown.wait(600000)) {
        std::fprintf(stderr, "bench_train_page: the expert history did not arrive\n");
        return 1;
    }
    const double historyMs = msSince(timer);

    std::sort(updateMs.begin(), updateMs.end());
    std::sort(heatmapMs.begin(), heatmapMs.end());
    std::printf("Train page, %d MoE layers x %d experts, %d steps in run.sqlite\n", kLayers, kExperts, kSteps);
    std::printf("  store written                  %8.0f ms\n", writeMs);
    std::printf("  opened (every step read, drawn) %7.0f ms\n", openMs);
    std::printf("  update of one step, %d runs:    median %.0f ms, slowest %.0f ms\n", updates, updateMs[updateMs.size() / 2],
                updateMs.back());
    std::printf("    of which heatmap + imbalance  median %.0f ms, slowest %.0f ms\n", heatmapMs[heatmapMs.size() / 2], heatmapMs.back());
    std::printf("  one expert's history (worker)  %8.0f ms\n", historyMs);
    return 0;
}
