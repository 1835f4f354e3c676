// The model in process: grouped experts against a plain loop, hand-written CPU kernels against
// ATen, the model against the eager reference, activation checkpointing, packing, padding, bf16,
// the chunked loss, logits_to_keep, initialisation, the expert-bias update, the auxiliary loss and
// expert-range loading. The torch side lives in tests/torch/model_checks.cpp.
#include "model/kernels/cpu_kernels.h"
#include "model_checks.h"
#include "test_support.h"

#include <QtTest>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

using namespace hy3::checks;

namespace {

std::string fixtureDir() { return (hy3::test::sharedDir() + "/fixtures/hy3-tiny").toStdString(); }

QString describe(const Differences& d) {
    QStringList parts;
    for (const auto& [name, value] : d) parts << QString("%1=%2").arg(QString::fromStdString(name)).arg(value, 0, 'g', 3);
    return parts.join(", ");
}

}  // namespace

class TestModel : public QObject {
    Q_OBJECT
private slots:
    void groupedExpertsEqualPlainLoop() {
        for (uint64_t seed : {1u, 2u, 3u}) {
            const Differences d = groupedExpertsVersusLoop(seed);
            for (const auto& [name, value] : d) QVERIFY2(value < 1e-5, qPrintable(describe(d)));
        }
    }

    // at::_grouped_mm (the experts' kernel on GPUs) over device-side offsets: the same outputs and
    // gradients as the loop, empty experts' weight gradients zero, LoRA's adapters included.
    void groupedMmExpertsEqualPlainLoop() {
        for (uint64_t seed : {1u, 2u, 3u}) {
            const Differences d = groupedExpertsVersusLoop(seed, true);
            for (const auto& [name, value] : d) QVERIFY2(value < 1e-5, qPrintable(describe(d)));
        }
    }

    // The whole model on the kernels CUDA takes (grouped GEMM, SDPA), on the CPU, against the CPU's:
    // a plain batch (SDPA's causal path), the packed row and a padded batch (its masked path).
    void deviceKernelsEqualCpuKernels() {
        const Differences d = deviceKernelsVersusCpuKernels(fixtureDir());
        qInfo("%s", qPrintable(describe(d)));  // not all zero: the other kernels really ran
        for (const char* c : {"batch", "packed", "padded"}) {
            const std::string k = c;
            QVERIFY2(d.at(k + "_logits") < 1e-5 && d.at(k + "_loss") < 1e-4 && d.at(k + "_grads") < 1e-5, qPrintable(describe(d)));
        }
    }

#if defined(__x86_64__) || defined(__i386__)
    // Inside the kernels a denormal counts as zero (a denormal operand costs x86 a microcode
    // assist per instruction, and the vectorised silu met one in every lane); the caller's
    // floating-point mode is the same afterwards.
    void kernelsFlushDenormalsAndKeepTheCallersMode() {
        const unsigned before = _mm_getcsr();
        float h[16], a[8];
        for (int i = 0; i < 16; ++i) h[i] = 1.f;  // gate | up
        const float weight[1] = {1e-39f};         // a denormal: w * silu(1) * 1 would be one too
        hy3::kernels::kernels().weightedSwigluForward(h, weight, a, 0, 1, 8);
        for (float v : a) QCOMPARE(v, 0.f);
        QCOMPARE(_mm_getcsr(), before);
        const float normal[1] = {2.f};
        hy3::kernels::kernels().weightedSwigluForward(h, normal, a, 0, 1, 8);
        QVERIFY(std::abs(a[0] - 2.f / (1.f + std::exp(-1.f))) < 1e-6f);
    }
#endif

    void fusedKernelsEqualAtenPath() {
        const Differences d = fusedVersusAten(fixtureDir());
        QVERIFY2(d.at("logits") < 1e-5 && d.at("loss") < 1e-4 && d.at("grads") < 1e-5, qPrintable(describe(d)));
    }

    void modelEqualsEagerReference() {
        const Differences d = modelVersusEagerReference(fixtureDir());
        QVERIFY2(d.at("logits") < 1e-5 && d.at("loss") < 1e-4 && d.at("grads") < 1e-5 && d.at("label_tokens") == 0,
                 qPrintable(describe(d)));
    }

    void activationCheckpointingGivesSameGradients() {
        const Differences d = checkpointingVersusPlain(fixtureDir());
        QVERIFY2(d.at("loss") < 1e-6 && d.at("grads") < 1e-6, qPrintable(describe(d)));
    }

    // The benchmarks' time split: its marks change no value, and every phase the fixture has
    // (both kinds of layer, a shared expert) gets time; the optimizer is not in a forward+backward.
    void phaseMarksChangeNothingAndChargeEveryPhase() {
        const Differences d = phaseMarksVersusPlain(fixtureDir());
        QVERIFY2(d.at("loss") == 0 && d.at("grads") == 0, qPrintable(describe(d)));
        for (const char* phase : {"attention", "dispatch", "routed experts", "mlp", "other"})
            QVERIFY2(d.at(std::string("phase ") + phase) > 0, qPrintable(describe(d)));
        QCOMPARE(d.at("phase optimizer"), 0.0);
        QVERIFY2(d.at("waits") > 10, qPrintable(describe(d)));  // forward and backward both crossed the marks
    }

    void packedRowEqualsDocumentsAlone() {
        const double worst = packedVersusSeparate(fixtureDir());
        QVERIFY2(worst < 1e-5, qPrintable(QString::number(worst)));
    }

    void paddingDoesNotChangeRealPositions() {
        const Differences d = paddingInvariance(fixtureDir());
        for (const char* side : {"left", "right"}) {
            QVERIFY2(d.at(std::string("logits_") + side) < 1e-5, qPrintable(describe(d)));
            QVERIFY2(d.at(std::string("loss_") + side) < 1e-4, qPrintable(describe(d)));
            QCOMPARE(d.at(std::string("label_tokens_") + side), 0.0);
        }
    }

    void bf16StaysNearFp32() {
        // Documented tolerance (README): mean |logit difference| within 2% of the largest logit,
        // loss within 1%. The largest single difference is reported, not bounded: a top-k near
        // tie that bf16 rounding flips sends a token to other experts.
        const Differences d = bf16VersusFp32(fixtureDir());
        qInfo("bf16 vs fp32: %s", qPrintable(describe(d)));
        QVERIFY2(d.at("logits_mean") < 0.02 * d.at("logits_scale"), qPrintable(describe(d)));
        QVERIFY2(d.at("loss_relative") < 0.01, qPrintable(describe(d)));
    }

    // enable_lm_head_fp32: with the flag the bf16 head equals fp32 arithmetic on the same values;
    // without it the bf16 matmul rounds (the flag is what makes the difference).
    void fp32HeadIsFp32Arithmetic() {
        const Differences d = fp32HeadVersusReference(11);
        QVERIFY2(d.at("fp32_loss") < 1e-5 && d.at("fp32_grad_h") < 1e-2 && d.at("fp32_grad_w") < 1e-2, qPrintable(describe(d)));
        QVERIFY2(d.at("bf16_loss") > 10 * d.at("fp32_loss"), qPrintable(describe(d)));
    }

    // LoRA, routed experts included: B = 0 changes nothing, bit for bit; random A and B give the
    // logits, loss and adapter gradients of the merged model W + s B A.
    void loraEqualsTheMergedModel() {
        const Differences d = loraVersusMerged(fixtureDir());
        qInfo("lora: %s", qPrintable(describe(d)));
        QCOMPARE(d.at("zero_b_logits"), 0.0);
        QCOMPARE(d.at("zero_b_loss"), 0.0);
        // 3 layers x 4 attention + 3 dense + 2 MoE layers x (3 shared + 8 experts x 3).
        QCOMPARE(d.at("adapters"), 3.0 * 4 + 3 + 2 * (3 + 8 * 3));
        QVERIFY2(d.at("merged_logits") < 1e-4 && d.at("merged_loss") < 1e-5, qPrintable(describe(d)));
        QVERIFY2(d.at("grad_A") < 1e-3 && d.at("grad_B") < 1e-3, qPrintable(describe(d)));
    }

    void padRowGetsNoGradient() {
        const Differences d = paddingRowGradient(fixtureDir());
        QCOMPARE(d.at("pad_row"), 0.0);
        QVERIFY2(d.at("used_row") > 0, qPrintable(describe(d)));
    }

    void chunkedLossEqualsFullCrossEntropy() {
        const Differences d = chunkedLossVersusFull(5);
        for (const auto& [name, value] : d) QVERIFY2(value < 1e-4, qPrintable(describe(d)));
    }

    void logitsToKeepIsTheTail() {
        QVERIFY(logitsToKeepVersusFull(fixtureDir(), 1) < 1e-6);
        QVERIFY(logitsToKeepVersusFull(fixtureDir(), 5) < 1e-6);
    }

    void initialisationIsSeededAndShaped() {
        const InitFacts f = initialisation("hy3-tiny");
        QVERIFY(f.sameSeedIdentical);
        QVERIFY(f.otherSeedDifferent);
        QVERIFY(f.normsAreOne);
        QVERIFY(f.biasIsZero);
        // Truncated at 2 std: the spread is about 0.88 of 0.02, nothing beyond 0.04.
        QVERIFY2(std::abs(f.matrixStd - 0.0176) < 0.001, qPrintable(QString::number(f.matrixStd)));
        QVERIFY(f.matrixMaxAbs <= 0.04 + 1e-6);
    }

    void expertBiasUpdate() {
        const double u = 1e-3;
        const BiasFacts f = expertBiasUpdates(fixtureDir(), u);
        QCOMPARE(f.biasAfterZeroFactor, f.biasBefore);  // factor 0: frozen
        int64_t total = 0;
        for (size_t e = 0; e < f.loadOfOneForward.size(); ++e) {
            QCOMPARE(f.loadAfterTwoForwards[e], 2 * f.loadOfOneForward[e]);  // accumulates over forwards
            total += f.loadOfOneForward[e];
        }
        QCOMPARE(total, int64_t(2 * 17 * 2));  // every token routed to top-2
        const double mean = 2.0 * static_cast<double>(total) / static_cast<double>(f.loadAfterTwoForwards.size());
        for (size_t e = 0; e < f.biasBefore.size(); ++e) {
            const double load = static_cast<double>(f.loadAfterTwoForwards[e]);
            const double sign = mean > load ? 1 : (mean < load ? -1 : 0);
            QVERIFY(std::abs(f.biasAfterUpdate[e] - (f.biasBefore[e] + u * sign)) < 1e-7);
            QCOMPARE(f.loadAfterUpdate[e], int64_t(0));  // consumed by the update
        }
    }

    void auxiliaryLossMatchesFormula() {
        const AuxLossFacts f = auxiliaryLoss(fixtureDir(), 0.01);
        QVERIFY(f.auxLoss > 0);
        QVERIFY2(std::abs(f.auxLoss - f.expected) < 1e-6 * std::max(1.0, f.expected),
                 qPrintable(QString("%1 vs %2").arg(f.auxLoss).arg(f.expected)));
        QVERIFY(f.routerGradNorm > 0);
    }

    void expertRangeReadsOnlyItsExperts() {
        QCOMPARE(expertRangeLoad(fixtureDir(), 2, 6), 0.0);
        QCOMPARE(expertRangeLoad(fixtureDir(), 0, 4), 0.0);
    }
};

QTEST_GUILESS_MAIN(TestModel)
#include "tst_model.moc"
