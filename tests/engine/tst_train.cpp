// The training pieces in process: the LR schedule, router load summaries, AdamW against LibTorch's
// own, gradient accumulation against one big batch, clipping, the non-finite skip, the KV cache
// against the full forward, and train state round trips. The torch side is tests/torch/train_checks.cpp.
#include "test_support.h"
#include "store/run_events.h"
#include "train/schedule.h"
#include "train_checks.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace hy3::checks;

namespace {

QString describe(const Figures& f) {
    QStringList parts;
    for (const auto& [name, value] : f) parts << QString("%1=%2").arg(QString::fromStdString(name)).arg(value, 0, 'g', 4);
    return parts.join(", ");
}

}  // namespace

class TestTrain : public QObject {
    Q_OBJECT
private slots:
    void scheduleWarmsUpThenDecays_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<int>("step");
        QTest::addColumn<double>("expected");
        // peak 1e-3, minimum 1e-4, 10 warm-up steps, 110 steps in all (100 of decay).
        QTest::newRow("warm-up start") << "cosine" << 1 << 1e-4;
        QTest::newRow("warm-up middle") << "cosine" << 5 << 5e-4;
        QTest::newRow("peak") << "cosine" << 10 << 1e-3;
        QTest::newRow("cosine half-way") << "cosine" << 60 << 1e-4 + 0.9e-3 * 0.5;
        QTest::newRow("cosine quarter") << "cosine" << 35 << 1e-4 + 0.9e-3 * 0.5 * (1 + std::cos(M_PI / 4));
        QTest::newRow("cosine end") << "cosine" << 110 << 1e-4;
        QTest::newRow("linear half-way") << "linear" << 60 << 1e-4 + 0.9e-3 * 0.5;
        QTest::newRow("linear end") << "linear" << 110 << 1e-4;
        QTest::newRow("constant after warm-up") << "constant" << 80 << 1e-3;
        QTest::newRow("constant in warm-up") << "constant" << 2 << 2e-4;
        QTest::newRow("past the end stays at the minimum") << "cosine" << 200 << 1e-4;
    }
    void scheduleWarmsUpThenDecays() {
        QFETCH(QString, kind);
        QFETCH(int, step);
        QFETCH(double, expected);
        hy3::LrSchedule s;
        s.kind = kind.toStdString();
        s.peak = 1e-3;
        s.minimum = 1e-4;
        s.warmupSteps = 10;
        s.totalSteps = 110;
        QVERIFY2(std::abs(s.at(step) - expected) < 1e-12, qPrintable(QString::number(s.at(step), 'g', 12)));
    }

    void scheduleWithoutWarmupStartsAtThePeak() {
        hy3::LrSchedule s;
        s.kind = "cosine";
        s.peak = 2e-3;
        s.totalSteps = 4;
        QVERIFY(s.at(1) < 2e-3 && s.at(1) > 1.5e-3);
        QCOMPARE(s.at(4), 0.0);
    }

    void routerSummaries() {
        const hy3::RouterSummary even = hy3::summarizeLoad({5, 5, 5, 5});
        QCOMPARE(even.maxOverMean, 1.0);
        QCOMPARE(even.cv, 0.0);
        QCOMPARE(even.idle, int64_t(0));
        const hy3::RouterSummary skewed = hy3::summarizeLoad({8, 0, 0, 0});
        QCOMPARE(skewed.maxOverMean, 4.0);
        QCOMPARE(skewed.idle, int64_t(3));
        QVERIFY(std::abs(skewed.cv - std::sqrt(3.0)) < 1e-12);  // std 2*sqrt(3) over mean 2
    }

    void adamwEqualsLibTorchAdamW() {
        const Figures f = adamwVersusTorch(5);
        // The fused CPU pass computes torch's formula with other roundings (fused multiply-adds,
        // float scalars): after 5 steps of updates near 1e-3, within a few float ulps of torch's.
        QVERIFY2(f.at("fp32") < 1e-6, qPrintable(describe(f)));
        QVERIFY2(f.at("moved") > 1e-3, qPrintable(describe(f)));
        // bf16 parameters: the fp32 master weights follow torch's AdamW as closely (given the same
        // bf16 start and gradients), and the bf16 parameters are the rounded master weights.
        QVERIFY2(f.at("bf16_master") < 1e-6, qPrintable(describe(f)));
        QVERIFY2(f.at("bf16_param_is_master") == 0.0, qPrintable(describe(f)));
    }

    // PyTorch's fused AdamW (the kernel CUDA parameters take) runs on the CPU too: the same
    // tolerances against torch::optim::AdamW, and against our CPU loop with a clipping factor.
    void fusedAdamWEqualsLibTorchAdamWAndOurLoop() {
        const Figures f = adamwVersusTorch(5, true);
        QVERIFY2(f.at("fp32") < 1e-6 && f.at("bf16_master") < 1e-6, qPrintable(describe(f)));
        QVERIFY2(f.at("moved") > 1e-3 && f.at("bf16_param_is_master") == 0.0, qPrintable(describe(f)));
        QVERIFY2(f.at("scaled_vs_loop") < 1e-6, qPrintable(describe(f)));
    }

    // The gradient norm of device tensors (torch::_foreach_norm, no host wait) equals the CPU pass
    // to fp32 accumulation (each tensor's norm is summed in fp32, as torch's clip_grad_norm_ does on a
    // GPU; the CPU pass sums chunks in double): 2.4e-6 relative over these 400,000 values.
    void foreachNormEqualsCpuPass() {
        const double d = foreachSquaresVersusCpuPass(5);
        QVERIFY2(d < 1e-5, qPrintable(QString::number(d)));
    }

    void fourMicroBatchesEqualOneBatch() {
        const Figures f = accumulationVersusOneBatch("hy3-tiny");
        QVERIFY2(f.at("label_tokens") == 0, qPrintable(describe(f)));
        QVERIFY2(f.at("loss") < 1e-5 && f.at("grad_norm") < 1e-5 && f.at("grads") < 1e-5, qPrintable(describe(f)));
        QVERIFY2(f.at("loss_value") > 1.0, qPrintable(describe(f)));  // a real loss, not an empty batch
    }

    void clippingScalesTheGlobalNorm() {
        const Figures f = clipping("hy3-tiny");
        const double norm = f.at("unclipped");
        QVERIFY2(std::abs(norm - f.at("norm")) / norm < 1e-5, qPrintable(describe(f)));
        QVERIFY2(std::abs(f.at("clipped_half") - norm / 2) / norm < 1e-5, qPrintable(describe(f)));
        QVERIFY2(std::abs(f.at("clipped_double") - norm) / norm < 1e-5, qPrintable(describe(f)));
    }

    void nonFiniteStepIsSkipped() {
        const Figures f = nanStepIsSkipped("hy3-tiny");
        QVERIFY2(f.at("skipped") == 1 && f.at("reason_is_loss") == 1, qPrintable(describe(f)));
        QVERIFY2(f.at("weights_changed") == 0 && f.at("state_changed") == 0, qPrintable(describe(f)));
        QVERIFY2(f.at("optimizer_steps_before") == 1 && f.at("optimizer_steps_after") == 1, qPrintable(describe(f)));
        QVERIFY2(f.at("load_after") == 0, qPrintable(describe(f)));  // the skipped step's routing does not steer the bias
    }

    void kvCacheDecodingEqualsFullForward() {
        const double d = kvCacheVersusFullForward((hy3::test::sharedDir() + "/fixtures/hy3-tiny").toStdString());
        QVERIFY2(d < 1e-4, qPrintable(QString::number(d)));
    }

    void trainStateRoundTrips() {
        QTemporaryDir dir;
        const Figures f = trainStateRoundTrip(dir.path().toStdString());
        QVERIFY2(f.at("tensors_equal") == 1 && f.at("rng_restored") == 1, qPrintable(describe(f)));
        QVERIFY2(f.at("step") == 12 && f.at("optimizer_steps") == 11 && f.at("epoch") == 1 && f.at("row") == 40 &&
                     f.at("best_eval_loss") == 1.25,
                 qPrintable(describe(f)));
    }
};

QTEST_GUILESS_MAIN(TestTrain)
#include "tst_train.moc"
