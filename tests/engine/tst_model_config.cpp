// Config parsing: every field of docs/hy3-model.md, both spellings of the dense-layer plan and of
// rope theta, unknown fields kept, and one clear error for each kind of bad input.
#include "config/model_config.h"
#include "config/resources.h"
#include "test_support.h"
#include "util/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using hy3::ModelConfig;
using json = nlohmann::json;

namespace {

json tinyConfig() {
    return json::parse(R"({
      "model_type": "hy_v3", "vocab_size": 320, "hidden_size": 48, "intermediate_size": 96,
      "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
      "num_experts": 8, "num_experts_per_tok": 2, "num_shared_experts": 1, "moe_intermediate_size": 32,
      "router_scaling_factor": 2.826, "first_k_dense_replace": 1,
      "rope_parameters": {"rope_theta": 11158840.0, "rope_type": "default"},
      "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0
    })");
}

}  // namespace

class TestModelConfig : public QObject {
    Q_OBJECT
private slots:
    void releasedPresetHasEveryField() {
        const ModelConfig c = hy3::loadModelConfig(hy3::presetConfigPath("hy3-preview"));
        QCOMPARE(c.vocab_size, 120832);
        QCOMPARE(c.hidden_size, 4096);
        QCOMPARE(c.num_hidden_layers, 80);
        QCOMPARE(c.num_attention_heads, 64);
        QCOMPARE(c.num_key_value_heads, 8);
        QCOMPARE(c.head_dim, 128);
        QCOMPARE(c.intermediate_size, 13312);
        QCOMPARE(c.denseLayerCount(), 1);
        QVERIFY(c.dense_layers[0] && !c.dense_layers[1]);
        QCOMPARE(c.num_experts, 192);
        QCOMPARE(c.num_experts_per_tok, 8);
        QCOMPARE(c.num_shared_experts, 1);
        QCOMPARE(c.moe_intermediate_size, 1536);
        QCOMPARE(c.router_scaling_factor, 2.826);
        QVERIFY(c.route_norm);
        QVERIFY(c.moe_router_enable_expert_bias);
        QCOMPARE(c.rms_norm_eps, 1e-5);
        QCOMPARE(c.rope_theta, 11158840.0);
        QCOMPARE(c.max_position_embeddings, 262144);
        QVERIFY(!c.tie_word_embeddings);
        QCOMPARE(c.num_nextn_predict_layers, 1);
        QVERIFY(!c.enable_moe_fp32_combine);
        QCOMPARE(c.bos_token_id, 120000);
        QCOMPARE(c.eos_token_id, 120025);
        QCOMPARE(c.pad_token_id, 120002);
        QCOMPARE(QString::fromStdString(c.dtype), QString("bfloat16"));
    }

    void fixtureDirectoryLoads() {
        const ModelConfig c = hy3::loadModelConfig(hy3::test::fixtureCheckpoint().toStdString());
        QCOMPARE(c.num_hidden_layers, 3);
        QCOMPARE(c.head_dim, 16);
        QVERIFY(c.num_attention_heads * c.head_dim != c.hidden_size);
        QCOMPARE(QString::fromStdString(hy3::describeLayerPlan(c)), QString("0: dense, 1-2: MoE"));
    }

    // Fields the file lacks take HF transformers' values and are listed; qk_norm false is refused.
    void absentFieldsTakeHfDefaults() {
        json doc = tinyConfig();
        doc.erase("router_scaling_factor");
        doc.erase("first_k_dense_replace");
        const ModelConfig c = hy3::parseModelConfig(doc, "config.json");
        QCOMPARE(c.router_scaling_factor, 2.826);
        QVERIFY(c.route_norm && c.enable_moe_fp32_combine && c.qk_norm && !c.enable_lm_head_fp32);
        QVERIFY(c.dense_layers[0] && !c.dense_layers[1]);
        QStringList absent;
        for (const std::string& line : c.absentFields) absent << QString::fromStdString(line.substr(0, line.find(':')));
        QCOMPARE(absent, QStringList({"mlp_layer_types and first_k_dense_replace", "router_scaling_factor", "route_norm",
                                      "enable_moe_fp32_combine", "enable_lm_head_fp32", "qk_norm"}));
        doc["qk_norm"] = false;
        QVERIFY_THROWS_EXCEPTION(hy3::Error, hy3::parseModelConfig(doc, "config.json"));
        QVERIFY(hy3::loadModelConfig(hy3::presetConfigPath("hy3-preview")).absentFields.empty());
    }

    void mlpLayerTypesWinsOverFirstKDense() {
        json doc = tinyConfig();
        doc["mlp_layer_types"] = {"dense", "sparse", "dense", "sparse"};  // one extra entry: the MTP block
        const ModelConfig c = hy3::parseModelConfig(doc, "config.json");
        QCOMPARE(c.denseLayerCount(), 2);
        QVERIFY(c.dense_layers[0] && !c.dense_layers[1] && c.dense_layers[2]);
        QCOMPARE(QString::fromStdString(hy3::describeLayerPlan(c)), QString("0: dense, 1: MoE, 2: dense"));
    }

    void olderSpellings() {
        json doc = tinyConfig();
        doc.erase("rope_parameters");
        doc["rope_theta"] = 500000.0;
        doc["torch_dtype"] = "bfloat16";
        const ModelConfig c = hy3::parseModelConfig(doc, "config.json");
        QCOMPARE(c.rope_theta, 500000.0);
        QCOMPARE(QString::fromStdString(c.dtype), QString("bfloat16"));
    }

    void unknownFieldsAreKept() {
        json doc = tinyConfig();
        doc["some_future_field"] = {{"nested", 1}};
        const ModelConfig c = hy3::parseModelConfig(doc, "config.json");
        QCOMPARE(c.raw["some_future_field"]["nested"].get<int>(), 1);
    }

    void headDimDefaultsToHiddenOverHeads() {
        json doc = tinyConfig();
        doc.erase("head_dim");
        QCOMPARE(hy3::parseModelConfig(doc, "config.json").head_dim, 12);
    }

    void badConfig_data() {
        QTest::addColumn<QString>("patch");    // JSON merge patch applied to the tiny config
        QTest::addColumn<QString>("removed");  // a field to delete, or empty
        QTest::addColumn<QString>("expected"); // text the error must contain
        QTest::newRow("wrong model_type") << R"({"model_type": "llama"})" << "" << "model_type: \"llama\" is not a Hy3 model";
        QTest::newRow("missing model_type") << "{}" << "model_type" << "model_type: required field is missing";
        QTest::newRow("heads not divisible") << R"({"num_attention_heads": 5})" << ""
                                             << "num_attention_heads: 5 is not divisible by num_key_value_heads (2)";
        QTest::newRow("top-k above experts") << R"({"num_experts_per_tok": 9})" << ""
                                             << "num_experts_per_tok: 9 is larger than num_experts (8)";
        QTest::newRow("missing hidden_size") << "{}" << "hidden_size" << "hidden_size: required field is missing";
        QTest::newRow("string for integer") << R"({"vocab_size": "320"})" << "" << "vocab_size: expected an integer, got \"320\"";
        QTest::newRow("zero layers") << R"({"num_hidden_layers": 0})" << "" << "num_hidden_layers: must be a positive integer";
        QTest::newRow("dense beyond layers") << R"({"first_k_dense_replace": 7})" << ""
                                             << "first_k_dense_replace: must be between 0 and num_hidden_layers (3)";
        QTest::newRow("layer type typo") << R"({"mlp_layer_types": ["dense", "spares", "sparse"]})" << ""
                                         << "mlp_layer_types[1]: expected \"dense\" or \"sparse\"";
        QTest::newRow("layer types too short") << R"({"mlp_layer_types": ["dense"]})" << ""
                                               << "mlp_layer_types: has 1 entries, expected 3";
        QTest::newRow("unsupported rope") << R"({"rope_parameters": {"rope_theta": 1.0, "rope_type": "yarn"}})" << ""
                                          << "rope_parameters.rope_type: \"yarn\" is not supported";
        QTest::newRow("odd head_dim") << R"({"head_dim": 15})" << "" << "head_dim: must be even";
        QTest::newRow("eos outside vocab") << R"({"eos_token_id": 400})" << "" << "eos_token_id: 400 is outside the vocabulary";
        QTest::newRow("softmax router") << R"({"moe_router_use_sigmoid": false})" << ""
                                        << "moe_router_use_sigmoid: only sigmoid routing is supported";
        QTest::newRow("missing experts") << "{}" << "num_experts" << "num_experts: required field is missing";
    }

    void badConfig() {
        QFETCH(QString, patch);
        QFETCH(QString, removed);
        QFETCH(QString, expected);
        json doc = tinyConfig();
        doc.merge_patch(json::parse(patch.toStdString()));
        if (!removed.isEmpty()) doc.erase(removed.toStdString());
        try {
            hy3::parseModelConfig(doc, "/models/x/config.json");
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            const QString message = QString::fromStdString(e.what());
            QVERIFY2(message.startsWith("/models/x/config.json: "), qPrintable(message));
            QVERIFY2(message.contains(expected), qPrintable(message));
            QVERIFY2(!message.contains('\n'), "one line");
        }
    }

    void badFiles() {
        QTemporaryDir dir;
        const std::string notJson = (dir.path() + "/config.json").toStdString();
        std::ofstream(notJson) << "{ \"model_type\": \"hy_v3\", ";
        QVERIFY_THROWS_EXCEPTION(hy3::Error, hy3::loadModelConfig(notJson));
        try {
            hy3::loadModelConfig(notJson);
        } catch (const hy3::Error& e) {
            QVERIFY(QString(e.what()).contains("not valid JSON"));
            QVERIFY(QString(e.what()).contains(QString::fromStdString(notJson)));
        }
        try {
            hy3::loadModelConfig((dir.path() + "/missing").toStdString());
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY(QString(e.what()).contains("file not found"));
        }
        QTemporaryDir empty;
        try {
            hy3::loadModelConfig(empty.path().toStdString());
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY(QString(e.what()).contains("no config.json in this directory"));
        }
        const std::string array = (dir.path() + "/array.json").toStdString();
        std::ofstream(array) << "[1, 2]";
        try {
            hy3::loadModelConfig(array);
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY(QString(e.what()).contains("expected a JSON object"));
        }
    }
};

QTEST_GUILESS_MAIN(TestModelConfig)
#include "tst_model_config.moc"
