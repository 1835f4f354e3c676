// `hy3 forward` as a user runs it, against the fixture's independent reference: logits, loss,
// grad norm, every gradient, router logits, selected experts, expert load and the bias after one
// update, within the tolerances of fixtures/hy3-tiny/expected.json. Also: the HF transformers
// layout loads to the same logits, and broken model directories give one clear error.
#include "safetensors_support.h"
#include "test_support.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using hy3::test::Array;
using hy3::test::runHy3;
namespace fs = std::filesystem;

namespace {

QString fixture(const QString& name) { return hy3::test::sharedDir() + "/fixtures/hy3-tiny/" + name; }

double maxAbs(const Array& a) {
    double m = 0;
    for (double v : a.values) m = std::max(m, std::abs(v));
    return m;
}

double maxDiff(const Array& a, const Array& b) {
    double m = 0;
    for (size_t i = 0; i < a.values.size(); ++i) m = std::max(m, std::abs(a.values[i] - b.values[i]));
    return m;
}

// Copies the fixture checkpoint into `dir` so a test can break one thing.
void copyCheckpoint(const QString& dir) {
    for (const auto& entry : fs::directory_iterator(fixture("checkpoint").toStdString()))
        fs::copy_file(entry.path(), fs::path(dir.toStdString()) / entry.path().filename());
    for (const auto& entry : fs::directory_iterator(dir.toStdString()))
        fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
}

// Runs hy3 forward on a model directory; returns exit status and stderr.
hy3::test::CliResult forward(const QString& model, const QString& input, const QString& output, QStringList extra = {}) {
    return runHy3(QStringList{"forward", "--model", model, "--input", input, "--output", output} + extra);
}

}  // namespace

class TestForwardCli : public QObject {
    Q_OBJECT
private slots:
    void batchCaseMatchesReference() {
        QTemporaryDir dir;
        const QString out = dir.path() + "/out.safetensors";
        const auto r = forward(fixture("checkpoint"), fixture("case_batch.safetensors"), out, {"--grads", "--bias-update", "1e-3"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const auto ref = hy3::test::readAllArrays(fixture("case_batch.safetensors").toStdString());
        const auto got = hy3::test::readAllArrays(out.toStdString());

        QVERIFY(maxDiff(got.at("logits"), ref.at("logits")) <= 1e-4);
        const double loss = ref.at("loss").values[0];
        QVERIFY(std::abs(got.at("loss").values[0] - loss) <= 1e-5 * std::abs(loss));
        QVERIFY(std::abs(got.at("grad_norm").values[0] - ref.at("grad_norm").values[0]) <= 1e-4 * ref.at("grad_norm").values[0]);
        int grads = 0;
        for (const auto& [name, expected] : ref) {
            if (name.rfind("grad.", 0) == 0) {
                QVERIFY2(got.count(name), name.c_str());
                QVERIFY2(maxDiff(got.at(name), expected) <= 1e-4 * maxAbs(expected), name.c_str());
                ++grads;
            }
        }
        // Every trainable tensor: embeddings, 3 x (2 norms, q/k/v/o, q/k norms), the dense MLP's 3,
        // 2 x (router, 8 experts x 3, shared x 3), final norm and lm_head.
        QCOMPARE(grads, 1 + 3 * 8 + 3 + 2 * (1 + 24 + 3) + 2);
        for (const char* layer : {"layer1.", "layer2."}) {
            const std::string p = layer;
            QVERIFY(maxDiff(got.at(p + "router_logits"), ref.at(p + "router_logits")) <= 1e-4);
            QVERIFY(got.at(p + "topk_sorted").values == ref.at(p + "topk_sorted").values);
            QVERIFY(got.at(p + "expert_load").values == ref.at(p + "expert_load").values);
            QVERIFY(maxDiff(got.at(p + "expert_bias_after_update"), ref.at(p + "expert_bias_after_update_1e-3")) <= 1e-6);
        }
    }

    void packedCaseMatchesReference() {
        QTemporaryDir dir;
        const QString out = dir.path() + "/out.safetensors";
        const auto r = forward(fixture("checkpoint"), fixture("case_packed.safetensors"), out);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const auto ref = hy3::test::readAllArrays(fixture("case_packed.safetensors").toStdString());
        const auto got = hy3::test::readAllArrays(out.toStdString());
        QVERIFY(maxDiff(got.at("logits"), ref.at("logits")) <= 1e-4);
        QVERIFY(!got.count("loss"));  // no labels, no loss
    }

    void transformersLayoutLoadsTheSame() {
        // Rewrite the fixture in HF transformers' in-memory layout: grouped experts, mlp.gate,
        // e_score_correction_bias, shared_experts.
        QTemporaryDir dir;
        std::map<std::string, hy3::test::RawTensor> all;
        for (const auto& file : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
            for (auto& [name, t] : hy3::test::readRaw(fixture(QString("checkpoint/") + file).toStdString())) all[name] = t;
        std::map<std::string, hy3::test::RawTensor> hf;
        const int experts = 8;
        for (auto& [name, t] : all) {
            std::string key = name;
            auto replace = [&](const std::string& from, const std::string& to) {
                const auto at = key.find(from);
                if (at != std::string::npos) key.replace(at, from.size(), to);
            };
            if (key.find(".mlp.experts.") != std::string::npos) continue;  // grouped below
            replace(".mlp.router.gate.weight", ".mlp.gate.weight");
            replace(".mlp.expert_bias", ".mlp.e_score_correction_bias");
            replace(".mlp.shared_mlp.", ".mlp.shared_experts.");
            hf[key] = t;
        }
        for (int layer = 1; layer <= 3; ++layer) {  // layer 3 is the MTP block: must still be skipped
            const std::string p = "model.layers." + std::to_string(layer) + ".mlp.experts.";
            hy3::test::RawTensor gateUp{hy3::DType::F32, {experts, 64, 48}, {}}, down{hy3::DType::F32, {experts, 48, 32}, {}};
            for (int e = 0; e < experts; ++e) {
                const std::string ep = p + std::to_string(e) + ".";
                for (const char* part : {"gate_proj.weight", "up_proj.weight"}) {
                    const auto& bytes = all.at(ep + part).bytes;
                    gateUp.bytes.insert(gateUp.bytes.end(), bytes.begin(), bytes.end());
                }
                const auto& bytes = all.at(ep + "down_proj.weight").bytes;
                down.bytes.insert(down.bytes.end(), bytes.begin(), bytes.end());
            }
            hf[p + "gate_up_proj"] = gateUp;
            hf[p + "down_proj"] = down;
        }
        hy3::test::writeRaw(fs::path(dir.path().toStdString()) / "model.safetensors", hf);
        fs::copy_file(fixture("checkpoint/config.json").toStdString(), fs::path(dir.path().toStdString()) / "config.json");

        const QString a = dir.path() + "/released.safetensors", b = dir.path() + "/hf.safetensors";
        QCOMPARE(forward(fixture("checkpoint"), fixture("case_batch.safetensors"), a).exitCode, 0);
        const auto r = forward(dir.path(), fixture("case_batch.safetensors"), b);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(maxDiff(hy3::test::readAllArrays(a.toStdString()).at("logits"),
                         hy3::test::readAllArrays(b.toStdString()).at("logits")),
                 0.0);
    }

    void brokenModelDirectories_data() {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing tensor") << "drop:model.layers.2.mlp.experts.5.up_proj.weight"
                                        << "model.layers.2.mlp.experts.5.up_proj.weight: missing tensor";
        QTest::newRow("unexpected tensor") << "add:model.layers.0.mlp.extra.weight" << "unexpected tensor";
        QTest::newRow("wrong shape") << "reshape:model.layers.0.self_attn.q_proj.weight"
                                     << "shape [32, 96] does not match the config (expected [64, 48])";
        QTest::newRow("integer weight") << "int:model.norm.weight" << "dtype I32 is not a floating-point weight";
        QTest::newRow("missing shard") << "delete-shard" << "names shard model-00002-of-00002.safetensors, which does not exist";
        QTest::newRow("index names wrong file") << "misindex:model.norm.weight" << "but the file does not hold it";
        QTest::newRow("truncated shard") << "truncate" << "past the end of the data";
        QTest::newRow("header past end") << "header-length" << "runs past the end of the file";
    }

    void brokenModelDirectories() {
        QFETCH(QString, damage);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        copyCheckpoint(dir.path());
        const fs::path root = dir.path().toStdString();
        const fs::path shard1 = root / "model-00001-of-00002.safetensors", shard2 = root / "model-00002-of-00002.safetensors";
        const QString kind = damage.section(':', 0, 0), key = damage.section(':', 1);
        auto rewrite = [&](const fs::path& shard, const std::function<void(std::map<std::string, hy3::test::RawTensor>&)>& edit) {
            auto tensors = hy3::test::readRaw(shard);
            edit(tensors);
            hy3::test::writeRaw(shard, tensors);
        };
        auto indexed = [&](const std::string& name) {
            const auto index = nlohmann::json::parse(std::ifstream(root / "model.safetensors.index.json"));
            return root / index["weight_map"][name].get<std::string>();
        };
        if (kind == "drop") {
            rewrite(indexed(key.toStdString()), [&](auto& t) { t.erase(key.toStdString()); });
            auto index = nlohmann::json::parse(std::ifstream(root / "model.safetensors.index.json"));
            index["weight_map"].erase(key.toStdString());
            std::ofstream(root / "model.safetensors.index.json") << index.dump();
        } else if (kind == "add") {
            rewrite(shard1, [&](auto& t) { t[key.toStdString()] = {hy3::DType::F32, {2}, std::vector<uint8_t>(8, 0)}; });
            auto index = nlohmann::json::parse(std::ifstream(root / "model.safetensors.index.json"));
            index["weight_map"][key.toStdString()] = "model-00001-of-00002.safetensors";
            std::ofstream(root / "model.safetensors.index.json") << index.dump();
        } else if (kind == "reshape") {
            rewrite(indexed(key.toStdString()), [&](auto& t) { t[key.toStdString()].shape = {32, 96}; });
        } else if (kind == "int") {
            rewrite(indexed(key.toStdString()), [&](auto& t) { t[key.toStdString()].dtype = hy3::DType::I32; });
        } else if (kind == "delete-shard") {
            fs::remove(shard2);
        } else if (kind == "misindex") {
            auto index = nlohmann::json::parse(std::ifstream(root / "model.safetensors.index.json"));
            const std::string holder = index["weight_map"][key.toStdString()];
            index["weight_map"][key.toStdString()] = holder == "model-00001-of-00002.safetensors"
                                                         ? "model-00002-of-00002.safetensors"
                                                         : "model-00001-of-00002.safetensors";
            std::ofstream(root / "model.safetensors.index.json") << index.dump();
        } else if (kind == "truncate") {
            fs::resize_file(shard1, fs::file_size(shard1) - 100);
        } else if (kind == "header-length") {
            std::fstream f(shard2, std::ios::in | std::ios::out | std::ios::binary);
            const uint64_t huge = 1ull << 40;
            f.write(reinterpret_cast<const char*>(&huge), 8);
        }
        const auto r = forward(dir.path(), fixture("case_batch.safetensors"), dir.path() + "/out.safetensors");
        QVERIFY(!r.crashed);
        QCOMPARE(r.exitCode, 2);
        const QString err = QString::fromUtf8(r.err).trimmed();
        QVERIFY2(!err.contains('\n'), qPrintable(err));
        QVERIFY2(err.contains(expected), qPrintable(err));
        QVERIFY2(err.contains(dir.path()), qPrintable(err));  // names the file
    }

    void badInputFile() {
        QTemporaryDir dir;
        const QString input = dir.path() + "/in.safetensors";
        std::map<std::string, hy3::test::RawTensor> t;
        std::vector<uint8_t> ids(8 * 4, 0);
        const int64_t big = 999;
        std::memcpy(ids.data() + 8, &big, 8);
        t["input_ids"] = {hy3::DType::I64, {1, 4}, ids};
        hy3::test::writeRaw(input.toStdString(), t);
        const auto r = forward(fixture("checkpoint"), input, dir.path() + "/out.safetensors");
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("input_ids: ids must lie in [0, 320), found 999"), r.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestForwardCli)
#include "tst_forward_cli.moc"
