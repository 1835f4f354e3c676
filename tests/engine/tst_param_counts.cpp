// Parameter counts and FLOPs per token: the released config's published figures, the fixture's
// figure from an independent reference, and consistency of the per-component breakdown.
#include "config/model_cost.h"
#include "config/resources.h"
#include "test_support.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

class TestParamCounts : public QObject {
    Q_OBJECT
private slots:
    void releasedConfig() {
        const auto c = hy3::loadModelConfig(hy3::presetConfigPath("hy3-preview"));
        const hy3::ParameterCount p = hy3::countParameters(c);
        QCOMPARE(p.total, Q_INT64_C(295033528320));
        QCOMPARE(p.active, Q_INT64_C(20675715072));
        QCOMPARE(p.total + p.mtp, Q_INT64_C(298786140416));  // as stored on disk, with the MTP block
        QCOMPARE(p.buffers, Q_INT64_C(79 * 192));
    }

    // The workbench's live trainable count: frozen components drop out, norms and dense MLP always train.
    void trainableUnderFreezeSettings() {
        const hy3::ParameterCount p = hy3::countParameters(hy3::loadModelConfig(hy3::presetConfigPath("hy3-preview")));
        auto row = [&](const std::string& name) {
            for (const auto& r : p.rows)
                if (r.component == name) return r.total;
            return int64_t(-1);
        };
        hy3::FreezeSettings freeze;
        QCOMPARE(hy3::trainableParameters(p, freeze), p.total);
        freeze.experts = true;
        QCOMPARE(hy3::trainableParameters(p, freeze), p.total - row("routed experts"));
        freeze = {true, true, true, true, true, true};
        QCOMPARE(hy3::trainableParameters(p, freeze), row("norms") + row("dense MLP"));
        // The freeze flags name the components the counts and the trainer's map share.
        QVERIFY(hy3::isFrozen(freeze, hy3::Component::Embeddings) && hy3::isFrozen(freeze, hy3::Component::SharedExpert) &&
                !hy3::isFrozen(freeze, hy3::Component::Norms));
    }

    void releasedFlopsPerToken() {
        const auto c = hy3::loadModelConfig(hy3::presetConfigPath("hy3-preview"));
        const double flops = hy3::trainingFlopsPerToken(c, 4096);
        // The doc's formula evaluated by hand: 36.24e9 + 16.11e9 + 81.50e9 + 2.97e9.
        QVERIFY2(std::abs(flops - 136.813e9) < 0.01e9, qPrintable(QString::number(flops)));
        QCOMPARE(hy3::forwardFlopsPerToken(c, 4096) * 3.0, flops);
        // Attention grows with the sequence: 6*L*heads*hd per extra token of context.
        QCOMPARE(hy3::trainingFlopsPerToken(c, 4097) - flops, 6.0 * 80 * 64 * 128);
    }

    void fixtureMatchesReference() {
        // The fixture's reference implementation counted trainable parameters plus bias buffers.
        QFile file(hy3::test::sharedDir() + "/fixtures/hy3-tiny/expected.json");
        QVERIFY(file.open(QIODevice::ReadOnly));
        const qint64 expected = QJsonDocument::fromJson(file.readAll()).object()["trainable_and_buffer_params_without_mtp"].toInteger();
        QVERIFY(expected > 0);
        const auto c = hy3::loadModelConfig(hy3::test::fixtureCheckpoint().toStdString());
        const hy3::ParameterCount p = hy3::countParameters(c);
        QCOMPARE(p.total + p.buffers, expected);
        // The shards hold F32 tensors of the model, the MTP block and the biases:
        // model.safetensors.index.json total_size 849248 bytes.
        QCOMPARE((p.total + p.mtp + p.buffers + c.num_experts * c.num_nextn_predict_layers) * 4, Q_INT64_C(849248));
    }

    void tinyPresetByHand() {
        const auto c = hy3::loadModelConfig(hy3::presetConfigPath("hy3-tiny"));
        const hy3::ParameterCount p = hy3::countParameters(c);
        // V=320 H=128 L=4 (1 dense + 3 MoE), 4 heads x 32, 2 KV heads, I=384, E=8 x 96, top-2, 1 shared.
        const qint64 embed = 320 * 128;
        const qint64 attention = 4 * (2 * 128 * 128 + 2 * 64 * 128 + 2 * 32);
        const qint64 norms = (2 * 4 + 1) * 128;
        const qint64 dense = 3 * 128 * 384;
        const qint64 moe = 3 * (8 * 128 + 8 * 3 * 128 * 96 + 3 * 128 * 96);
        QCOMPARE(p.total, 2 * embed + attention + norms + dense + moe);
        const qint64 moeActive = 3 * (8 * 128 + 2 * 3 * 128 * 96 + 3 * 128 * 96);
        QCOMPARE(p.active, 2 * embed + attention + norms + dense + moeActive);
        QCOMPARE(p.mtp, 0);
    }

    void breakdownSumsToTotals() {
        for (const std::string& preset : hy3::listPresets()) {
            const hy3::ParameterCount p = hy3::countParameters(hy3::loadModelConfig(hy3::presetConfigPath(preset)));
            qint64 total = 0, active = 0;
            for (const auto& row : p.rows) {
                QVERIFY(row.active <= row.total);
                total += row.total;
                active += row.active;
            }
            QCOMPARE(total, p.total);
            QCOMPARE(active, p.active);
        }
    }

    void tiedEmbeddingsDropLmHead() {
        auto c = hy3::loadModelConfig(hy3::presetConfigPath("hy3-tiny"));
        const qint64 untied = hy3::countParameters(c).total;
        c.tie_word_embeddings = true;
        QCOMPARE(hy3::countParameters(c).total, untied - c.vocab_size * c.hidden_size);
    }
};

QTEST_GUILESS_MAIN(TestParamCounts)
#include "tst_param_counts.moc"
