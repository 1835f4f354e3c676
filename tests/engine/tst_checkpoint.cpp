// Checkpoint export, inspect and verify as a user runs them: a bit-exact round trip of the fixture,
// both source layouts, sharding with an index, companion files, every kind of damage reported
// by verify (one line each, exit 1), and export's peak memory on a model of a few hundred MB.
#include "checkpoint/key_names.h"
#include "config/model_config.h"
#include "export_config_check.h"
#include "safetensors_support.h"
#include "test_support.h"

#include <nlohmann/json.hpp>

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>

using hy3::test::runHy3;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

QString fixture(const QString& name) { return hy3::test::sharedDir() + "/fixtures/hy3-tiny/" + name; }

// name -> raw bytes of every tensor in a model directory (any number of shards).
std::map<std::string, hy3::test::RawTensor> allTensors(const fs::path& dir) {
    std::map<std::string, hy3::test::RawTensor> out;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".safetensors")
            for (auto& [name, t] : hy3::test::readRaw(entry.path())) out[name] = t;
    return out;
}

json readJson(const fs::path& file) { return json::parse(std::ifstream(file)); }

hy3::test::CliResult exportTo(const QString& src, const QString& dst, QStringList extra = {}) {
    return runHy3(QStringList{"checkpoint", "export", src, dst} + extra);
}

QStringList problemLines(const hy3::test::CliResult& r) {
    return QString::fromUtf8(r.out).split('\n', Qt::SkipEmptyParts);
}

// A checkpoint folder (meta.json + model/) made by exporting the fixture and listing hashes.
QString makeCheckpoint(const QTemporaryDir& dir) {
    const QString ckpt = dir.path() + "/step-00000001";
    QDir().mkpath(ckpt);
    if (exportTo(fixture("checkpoint"), ckpt + "/model", {"--dtype", "fp32", "--shard-size", "300KB"}).exitCode != 0) return {};
    json files = json::object();
    for (const auto& entry : fs::recursive_directory_iterator(ckpt.toStdString()))
        if (entry.is_regular_file()) {
            const auto rel = fs::relative(entry.path(), ckpt.toStdString()).generic_string();
            QProcess sha;
            sha.start("sha256sum", {QString::fromStdString(entry.path().string())});
            sha.waitForFinished();
            files[rel] = {{"bytes", entry.file_size()}, {"sha256", QString(sha.readAllStandardOutput()).section(' ', 0, 0).toStdString()}};
        }
    std::ofstream(ckpt.toStdString() + "/meta.json") << json{{"step", 1}, {"files", files}}.dump(2);
    return ckpt;
}

}  // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT
private slots:
    void roundTripIsBitExact() {
        QTemporaryDir dir;
        const QString out = dir.path() + "/export";
        const auto r = exportTo(fixture("checkpoint"), out, {"--dtype", "fp32"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const auto source = allTensors(fixture("checkpoint").toStdString());
        const auto exported = allTensors(out.toStdString());
        int compared = 0;
        int mtp = 0;
        for (const auto& [name, t] : source) {
            QVERIFY2(exported.count(name), name.c_str());
            if (hy3::layerOfKey(name) >= 3) ++mtp;  // the MTP block, copied unchanged
            QVERIFY2(exported.at(name).bytes == t.bytes, name.c_str());
            QVERIFY(exported.at(name).dtype == t.dtype);
            ++compared;
        }
        QCOMPARE(compared, static_cast<int>(exported.size()));
        QVERIFY(mtp > 0);
        QCOMPARE(static_cast<int>(hy3::test::readRaw(out.toStdString() + "/model-mtp.safetensors").size()), mtp);
        // The same logits from both directories.
        QCOMPARE(runHy3({"forward", "--model", fixture("checkpoint"), "--input", fixture("case_batch.safetensors"), "--output", dir.path() + "/a.safetensors"}).exitCode, 0);
        QCOMPARE(runHy3({"forward", "--model", out, "--input", fixture("case_batch.safetensors"), "--output", dir.path() + "/b.safetensors"}).exitCode, 0);
        QVERIFY(hy3::test::readRaw((dir.path() + "/a.safetensors").toStdString()).at("logits").bytes ==
                hy3::test::readRaw((dir.path() + "/b.safetensors").toStdString()).at("logits").bytes);
        // config.json keeps every original field.
        const json original = readJson(fixture("checkpoint/config.json").toStdString());
        const json written = readJson(out.toStdString() + "/config.json");
        for (auto it = original.begin(); it != original.end(); ++it)
            if (it.key() != "dtype") QVERIFY2(written.contains(it.key()) && written[it.key()] == it.value(), it.key().c_str());
        QCOMPARE(written["dtype"].get<std::string>(), std::string("float32"));
        const std::string problem = hy3::test::exportConfigProblem(written, 1);
        QVERIFY2(problem.empty(), problem.c_str());
        QCOMPARE(runHy3({"checkpoint", "verify", out}).exitCode, 0);
    }

    // compare: 0 for an fp32 export against its source; a single expert tensor written transposed
    // (same shape, the bytes of its transpose: what a wrong key map does silently) is found.
    void compareFindsATransposedExpert() {
        QTemporaryDir dir;
        const QString out = dir.path() + "/export";
        QCOMPARE(exportTo(fixture("checkpoint"), out, {"--dtype", "fp32"}).exitCode, 0);
        const auto same = runHy3({"checkpoint", "compare", fixture("checkpoint"), out, "--json"});
        QVERIFY2(same.exitCode == 0, same.err.constData());
        const json report = json::parse(same.out.toStdString());
        QCOMPARE(report["max_abs_logit_diff"].get<double>(), 0.0);
        QCOMPARE(report["mean_kl"].get<double>(), 0.0);
        QCOMPARE(report["top1_agreement"].get<double>(), 1.0);
        QCOMPARE(report["loss_a"].get<double>(), report["loss_b"].get<double>());
        QCOMPARE(report["experts_reached"].get<int>(), 16);  // 2 MoE layers x 8 experts

        // The copy: the same files, one expert's gate_proj transposed in place.
        const fs::path damaged = dir.path().toStdString() + "/damaged";
        fs::copy(out.toStdString(), damaged);
        const std::string key = "model.layers.2.mlp.experts.5.gate_proj.weight";
        const fs::path shard = damaged / "model.safetensors";
        auto tensors = hy3::test::readRaw(shard);
        hy3::test::RawTensor& t = tensors.at(key);
        const int64_t rows = t.shape[0], cols = t.shape[1];
        std::vector<uint8_t> transposed(t.bytes.size());
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) std::memcpy(&transposed[4 * (c * rows + r)], &t.bytes[4 * (r * cols + c)], 4);
        t.bytes = transposed;
        fs::remove(shard);
        hy3::test::writeRaw(shard, tensors);
        const auto differ = runHy3({"checkpoint", "compare", out, QString::fromStdString(damaged.string())});
        QVERIFY2(differ.exitCode == 1, differ.out.constData());
        QVERIFY2(differ.out.contains("the models differ"), differ.out.constData());
        // Bad input: exit 2 with the path named.
        const auto bad = runHy3({"checkpoint", "compare", out, dir.path() + "/nowhere"});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains("nowhere"), bad.err.constData());
    }

    // The router and the expert bias stay F32 (the model holds and computes them so; transformers
    // keeps gate.weight and e_score_correction_bias in fp32 too and saves them so).
    void bf16ExportKeepsRouterAndBiasInF32() {
        QTemporaryDir dir;
        // A source directory with companion files that must travel with the model.
        const QString src = dir.path() + "/src";
        fs::copy(fixture("checkpoint").toStdString(), src.toStdString());
        std::ofstream(src.toStdString() + "/tokenizer.json") << R"({"model": {"type": "BPE"}})";
        std::ofstream(src.toStdString() + "/generation_config.json") << R"({"eos_token_id": 2})";
        const QString out = dir.path() + "/bf16";
        const auto r = exportTo(src, out);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        for (const auto& [name, t] : allTensors(out.toStdString())) {
            const bool fp32 = name.find("expert_bias") != std::string::npos || name.find("router.gate") != std::string::npos;
            if (hy3::layerOfKey(name) >= 3) continue;  // the MTP block keeps its own dtype
            QVERIFY2(t.dtype == (fp32 ? hy3::DType::F32 : hy3::DType::BF16), name.c_str());
        }
        QCOMPARE(readJson(out.toStdString() + "/config.json")["dtype"].get<std::string>(), std::string("bfloat16"));
        for (const char* file : {"tokenizer.json", "generation_config.json"}) {
            std::ifstream a(src.toStdString() + "/" + file), b(out.toStdString() + "/" + file);
            QCOMPARE(std::string(std::istreambuf_iterator<char>(a), {}), std::string(std::istreambuf_iterator<char>(b), {}));
        }
        QCOMPARE(runHy3({"checkpoint", "verify", out}).exitCode, 0);
    }

    void transformersLayoutExportsToReleased() {
        QTemporaryDir dir;
        // Group the fixture's experts the way HF transformers holds them.
        std::map<std::string, hy3::test::RawTensor> hf;
        const auto all = allTensors(fixture("checkpoint").toStdString());
        for (const auto& [name, t] : all) {
            std::string key = name;
            if (key.find(".mlp.experts.") != std::string::npos) continue;
            for (const auto& [from, to] : {std::pair<std::string, std::string>{".mlp.router.gate.weight", ".mlp.gate.weight"},
                                           {".mlp.expert_bias", ".mlp.e_score_correction_bias"},
                                           {".mlp.shared_mlp.", ".mlp.shared_experts."}})
                if (key.find(from) != std::string::npos) key.replace(key.find(from), from.size(), to);
            hf[key] = t;
        }
        for (int layer = 1; layer <= 2; ++layer) {
            const std::string p = "model.layers." + std::to_string(layer) + ".mlp.experts.";
            hy3::test::RawTensor gateUp{hy3::DType::F32, {8, 64, 48}, {}}, down{hy3::DType::F32, {8, 48, 32}, {}};
            for (int e = 0; e < 8; ++e) {
                for (const char* part : {"gate_proj.weight", "up_proj.weight"}) {
                    const auto& bytes = all.at(p + std::to_string(e) + "." + part).bytes;
                    gateUp.bytes.insert(gateUp.bytes.end(), bytes.begin(), bytes.end());
                }
                const auto& bytes = all.at(p + std::to_string(e) + ".down_proj.weight").bytes;
                down.bytes.insert(down.bytes.end(), bytes.begin(), bytes.end());
            }
            hf[p + "gate_up_proj"] = gateUp;
            hf[p + "down_proj"] = down;
        }
        const QString src = dir.path() + "/hf";
        QDir().mkpath(src);
        hy3::test::writeRaw(src.toStdString() + "/model.safetensors", hf);
        fs::copy_file(fixture("checkpoint/config.json").toStdString(), src.toStdString() + "/config.json");
        const QString out = dir.path() + "/released";
        QCOMPARE(exportTo(src, out, {"--dtype", "fp32"}).exitCode, 0);
        const auto exported = allTensors(out.toStdString());
        for (const auto& [name, t] : all)
            if (hy3::layerOfKey(name) < 3) QVERIFY2(exported.count(name) && exported.at(name).bytes == t.bytes, name.c_str());
    }

    void shardsAndIndex() {
        QTemporaryDir dir;
        const QString out = dir.path() + "/sharded";
        const auto r = exportTo(fixture("checkpoint"), out, {"--dtype", "fp32", "--shard-size", "100KB", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject summary = QJsonDocument::fromJson(r.out).object();
        QVERIFY(summary["shards"].toInt() > 4);
        const json index = readJson(out.toStdString() + "/model.safetensors.index.json");
        uint64_t total = 0;
        size_t largest = 0;
        for (const auto& entry : fs::directory_iterator(out.toStdString())) {
            if (entry.path().extension() != ".safetensors") continue;
            auto file = hy3::SafetensorsFile::open(entry.path());
            uint64_t bytes = 0;
            for (const auto& t : file->tensors()) {
                bytes += t.bytes();
                QCOMPARE(index["weight_map"][t.name].get<std::string>(), entry.path().filename().string());
            }
            total += bytes;
            largest = std::max<size_t>(largest, bytes);
        }
        QCOMPARE(index["metadata"]["total_size"].get<uint64_t>(), total);
        QCOMPARE(index["weight_map"].size(), size_t(88 + 41));  // 41 tensors of the MTP block, copied
        QVERIFY(largest <= 100000 || largest == 61440);  // a single tensor larger than the limit gets its own shard
    }

    void exportNeverOverwrites() {
        QTemporaryDir dir;
        std::ofstream(dir.path().toStdString() + "/keep.txt") << "mine";
        const auto r = exportTo(fixture("checkpoint"), dir.path());
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains("already exists and is not empty"));
        QVERIFY(QFile::exists(dir.path() + "/keep.txt"));
        QCOMPARE(exportTo(fixture("checkpoint"), dir.path() + "/x", {"--shard-size", "lots"}).exitCode, 2);
    }

    void inspectShowsTensorsAndMeta() {
        QTemporaryDir dir;
        const QString ckpt = makeCheckpoint(dir);
        QVERIFY(!ckpt.isEmpty());
        const auto r = runHy3({"checkpoint", "inspect", ckpt, "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o["totals"].toObject()["tensors"].toInt(), 88 + 41);  // with the MTP block
        QCOMPARE(o["meta"].toObject()["step"].toInt(), 1);
        QVERIFY(o["shards"].toArray().size() > 1);
        const auto text = runHy3({"checkpoint", "inspect", ckpt});
        QVERIFY(text.out.contains("model.layers.1.mlp.expert_bias  F32 [8]"));
    }

    void verifyReportsEveryProblem_data() {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("expected");
        QTest::newRow("flipped byte") << "flip" << "SHA-256 differs from meta.json";
        QTest::newRow("truncated shard") << "truncate" << "past the end of the data";
        QTest::newRow("header past end") << "header" << "runs past the end of the file";
        QTest::newRow("wrong dtype name") << "dtype" << "unknown dtype \"F33\"";
        QTest::newRow("overlapping offsets") << "overlap" << "data overlaps tensor";
        QTest::newRow("out of range offsets") << "range" << "is past the end of the data";
        QTest::newRow("shape disagrees with config") << "shape" << "does not match the config";
        QTest::newRow("missing shard") << "delete" << "missing (the index names it";
        QTest::newRow("missing tensor") << "drop" << "missing tensor";
        QTest::newRow("index total wrong") << "total" << "metadata.total_size";
        QTest::newRow("file not in meta") << "extra" << "not listed in meta.json";
    }

    void verifyReportsEveryProblem() {
        QFETCH(QString, damage);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString ckpt = makeCheckpoint(dir);
        QVERIFY(!ckpt.isEmpty());
        QCOMPARE(runHy3({"checkpoint", "verify", ckpt}).exitCode, 0);
        const fs::path model = ckpt.toStdString() + "/model";
        const fs::path shard = model / "model-00001-of-00003.safetensors";
        QVERIFY(fs::exists(shard));
        // Rewrites shard 1's header with an edit, keeping the data bytes as they are.
        auto editHeader = [&](const std::function<void(json&)>& edit) {
            std::ifstream in(shard, std::ios::binary);
            uint64_t n = 0;
            in.read(reinterpret_cast<char*>(&n), 8);
            std::string header(n, ' ');
            in.read(header.data(), static_cast<std::streamsize>(n));
            std::string data((std::istreambuf_iterator<char>(in)), {});
            json h = json::parse(header);
            edit(h);
            std::string text = h.dump();
            text.append((8 - text.size() % 8) % 8, ' ');
            std::ofstream out(shard, std::ios::binary | std::ios::trunc);
            const uint64_t length = text.size();
            out.write(reinterpret_cast<const char*>(&length), 8);
            out << text << data;
        };
        auto firstTensor = [](json& h) -> json& {
            for (auto it = h.begin(); it != h.end(); ++it)
                if (it.key() != "__metadata__") return it.value();
            return h;
        };
        if (damage == "flip") {
            std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(static_cast<std::streamoff>(fs::file_size(shard) - 10));
            f.put('\x7f');
        } else if (damage == "truncate") {
            fs::resize_file(shard, fs::file_size(shard) - 64);
        } else if (damage == "header") {
            std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
            const uint64_t huge = 1ull << 45;
            f.write(reinterpret_cast<const char*>(&huge), 8);
        } else if (damage == "dtype") {
            editHeader([&](json& h) { firstTensor(h)["dtype"] = "F33"; });
        } else if (damage == "overlap") {
            editHeader([&](json& h) {
                std::vector<std::string> names;
                for (auto it = h.begin(); it != h.end(); ++it)
                    if (it.key() != "__metadata__") names.push_back(it.key());
                // Point the second tensor (by offset) into the first's bytes, keeping its size.
                std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
                    return h[a]["data_offsets"][0].get<uint64_t>() < h[b]["data_offsets"][0].get<uint64_t>();
                });
                auto& second = h[names[1]]["data_offsets"];
                const uint64_t size = second[1].get<uint64_t>() - second[0].get<uint64_t>();
                second[0] = 4;
                second[1] = 4 + size;
            });
        } else if (damage == "range") {
            editHeader([&](json& h) {
                auto& t = firstTensor(h);
                const uint64_t size = t["data_offsets"][1].get<uint64_t>() - t["data_offsets"][0].get<uint64_t>();
                t["data_offsets"] = {1ull << 32, (1ull << 32) + size};
            });
        } else if (damage == "shape") {
            editHeader([&](json& h) {
                auto& t = h["model.embed_tokens.weight"].is_null() ? firstTensor(h) : h["model.embed_tokens.weight"];
                std::swap(t["shape"][0], t["shape"][1]);
            });
        } else if (damage == "delete") {
            fs::remove(model / "model-00002-of-00003.safetensors");
        } else if (damage == "drop") {
            auto tensors = hy3::test::readRaw(shard);
            const std::string victim = tensors.begin()->first;
            tensors.erase(victim);
            hy3::test::writeRaw(shard, tensors);
            json index = readJson(model / "model.safetensors.index.json");
            index["weight_map"].erase(victim);
            std::ofstream(model / "model.safetensors.index.json") << index.dump();
        } else if (damage == "total") {
            json index = readJson(model / "model.safetensors.index.json");
            index["metadata"]["total_size"] = 12345;
            std::ofstream(model / "model.safetensors.index.json") << index.dump();
        } else if (damage == "extra") {
            std::ofstream(model / "notes.txt") << "added later";
        }
        const auto r = runHy3({"checkpoint", "verify", ckpt});
        QVERIFY(!r.crashed);
        QCOMPARE(r.exitCode, 1);
        const QStringList lines = problemLines(r);
        QVERIFY(!lines.isEmpty());
        bool found = false;
        for (const QString& line : lines) {
            QVERIFY2(line.startsWith(ckpt), qPrintable(line));  // every line names its file
            found = found || line.contains(expected);
        }
        QVERIFY2(found, qPrintable(lines.join("\n")));
        // Loading the damaged checkpoint fails cleanly too (except for damage only meta.json sees).
        if (damage != "flip" && damage != "extra" && damage != "total") {
            const auto load = runHy3({"forward", "--model", QString::fromStdString(model.string()), "--input",
                                      fixture("case_batch.safetensors"), "--output", dir.path() + "/o.safetensors"});
            QVERIFY(!load.crashed);
            QCOMPARE(load.exitCode, 2);
            QVERIFY2(!QString(load.err).trimmed().contains('\n'), load.err.constData());
        }
        // inspect either shows the checkpoint or says in one line why it cannot.
        const auto inspect = runHy3({"checkpoint", "inspect", ckpt});
        QVERIFY(!inspect.crashed);
        QVERIFY(inspect.exitCode == 0 || (inspect.exitCode == 2 && !QString(inspect.err).trimmed().contains('\n')));
    }

    void exportMemoryStaysNearModelSize() {
        // A model of about 320 MB in fp32, written straight with the safetensors writer.
        QTemporaryDir dir;
        const QString src = dir.path() + "/big";
        QDir().mkpath(src);
        const json config = {{"model_type", "hy_v3"}, {"vocab_size", 8192}, {"hidden_size", 512}, {"num_hidden_layers", 6},
                             {"num_attention_heads", 8}, {"num_key_value_heads", 2}, {"head_dim", 64}, {"intermediate_size", 1536},
                             {"first_k_dense_replace", 1}, {"num_experts", 16}, {"num_experts_per_tok", 2},
                             {"num_shared_experts", 1}, {"moe_intermediate_size", 512}};
        std::ofstream(src.toStdString() + "/config.json") << config.dump();
        const hy3::ModelConfig c = hy3::parseModelConfig(config, "config.json");
        hy3::SafetensorsWriter writer(src.toStdString() + "/model.safetensors");
        const auto bindings = hy3::keyBindings(c, hy3::KeyLayout::Released, 0, c.num_experts);
        for (const auto& b : bindings) writer.declare(b.key, hy3::DType::F32, b.shape);
        writer.begin();
        for (const auto& b : bindings) {
            int64_t n = 1;
            for (int64_t d : b.shape) n *= d;
            std::vector<float> values(static_cast<size_t>(n));
            for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-4f;
            writer.write(b.key, values.data(), values.size() * 4);
        }
        writer.finish();
        const double modelBytes = static_cast<double>(fs::file_size(src.toStdString() + "/model.safetensors"));
        QVERIFY(modelBytes > 250e6);

        // The baseline: the same command on the tiny fixture (the process's own libraries).
        const auto tiny = exportTo(fixture("checkpoint"), dir.path() + "/tiny", {"--dtype", "fp32", "--json"});
        QCOMPARE(tiny.exitCode, 0);
        const double baseline = QJsonDocument::fromJson(tiny.out).object()["peak_rss_bytes"].toDouble();
        const auto big = exportTo(src, dir.path() + "/big-out", {"--dtype", "fp32", "--json", "--shard-size", "100MB"});
        QVERIFY2(big.exitCode == 0, big.err.constData());
        const QJsonObject o = QJsonDocument::fromJson(big.out).object();
        const double peak = o["peak_rss_bytes"].toDouble();
        qInfo("export of %.0f MB: peak RSS %.0f MB, baseline %.0f MB", modelBytes / 1e6, peak / 1e6, baseline / 1e6);
        // The model once, plus a small constant: no second copy, no whole shard in memory.
        QVERIFY2(peak <= baseline + modelBytes + 64e6,
                 qPrintable(QString("peak %1 MB, model %2 MB, baseline %3 MB").arg(peak / 1e6).arg(modelBytes / 1e6).arg(baseline / 1e6)));
        QCOMPARE(runHy3({"checkpoint", "verify", dir.path() + "/big-out"}).exitCode, 0);
    }
};

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "tst_checkpoint.moc"
