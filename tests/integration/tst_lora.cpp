// LoRA as a user runs it, real processes and real files: the default project trained with
// training.method lora (eval loss falls, checkpoints hold the adapter only, in PEFT's format),
// stop and exact resume, a run from the fixture directory whose adapter runs unmerged in
// `hy3 forward --adapter` with the logits of `hy3 lora merge`'s model, `hy3 lora inspect`, and
// bad input (an unknown target, rank 0, an adapter that does not fit its base).
#include "integration/event_stream.h"
#include "safetensors_support.h"
#include "test_support.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using hy3::test::runHy3;
using json = nlohmann::json;

namespace {

QString defaultProject() { return hy3::test::sourceDir() + "/resources/projects/default/default.hy3proj"; }

// 12 steps of the default project with LoRA on every module, eval and checkpoint every 6.
QStringList loraRun(const QString& project, const QString& output) {
    return {"train", project, "--output", output, "--events", "jsonl", "--max-steps", "12", "--set", "training.method=lora",
            "--set", "training.seq_len=128", "--set", "training.global_batch=8", "--set", "training.micro_batch=4",
            "--set", "training.warmup_steps=2", "--set", "training.eval_every=6", "--set", "training.checkpoint_every=6",
            "--set", "training.learning_rate=0.003"};
}

QString describe(const hy3::test::CliResult& r) { return QString::fromUtf8(r.err.right(1500)); }

// The default project with the fixture checkpoint as its base model.
QString fixtureProject(const QTemporaryDir& dir) {
    json project = json::parse(std::ifstream(defaultProject().toStdString()));
    project["model"] = {{"path", hy3::test::fixtureCheckpoint().toStdString()},
                        {"tokenizer", (hy3::test::sourceDir() + "/resources/tokenizers/hy3-byte").toStdString()}};
    for (json& d : project["datasets"])
        d["path"] = (hy3::test::sourceDir() + "/resources/projects/default/").toStdString() + d["path"].get<std::string>();
    const QString file = dir.path() + "/fixture-base.hy3proj";
    std::ofstream(file.toStdString()) << project.dump(1);
    return file;
}

}  // namespace

class TestLora : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    std::vector<json> reference_;  // the uninterrupted run's events

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        const auto r = runHy3(loraRun(defaultProject(), tmp_.path() + "/reference"), 300000);
        QVERIFY2(r.exitCode == 0 && !r.crashed, qPrintable(describe(r)));
        reference_ = hy3::test::parseEvents(r.out);
    }

    void evalLossFallsAndCheckpointsHoldTheAdapter() {
        const auto evals = hy3::test::stepEvents(reference_, "eval");
        QCOMPARE(evals.size(), size_t(2));
        QVERIFY2(evals.at(12)["eval_loss"].get<double>() < evals.at(6)["eval_loss"].get<double>() - 0.05,
                 qPrintable(QString::fromStdString(evals.at(12).dump())));
        const QString run = hy3::test::runDirOf(tmp_.path() + "/reference");
        const QString checkpoint = run + "/checkpoints/step-00000012";
        QVERIFY(!QFileInfo::exists(checkpoint + "/model"));  // the frozen base is not copied
        const json config = json::parse(std::ifstream((checkpoint + "/adapter/adapter_config.json").toStdString()));
        QCOMPARE(config["peft_type"].get<std::string>(), std::string("LORA"));
        QCOMPARE(config["task_type"].get<std::string>(), std::string("CAUSAL_LM"));
        QCOMPARE(config["r"].get<int>(), 16);
        QCOMPARE(config["target_modules"].size(), size_t(7));
        const auto tensors = hy3::test::readRaw((checkpoint + "/adapter/adapter_model.safetensors").toStdString());
        // The routed experts fused as PEFT loads them on transformers' Hy3 (target_parameters):
        // gate_up [2r x 8 experts, hidden], down [r x 8 experts, moe_intermediate].
        QCOMPARE(config["target_parameters"], json({"mlp.experts.gate_up_proj", "mlp.experts.down_proj"}));
        QCOMPARE(tensors.at("base_model.model.model.layers.1.mlp.experts.base_layer.lora_A.weight").shape, (std::vector<int64_t>{256, 128}));
        QCOMPARE(tensors.at("base_model.model.model.layers.1.mlp.experts.lora_A.weight").shape[0], int64_t(128));
        QVERIFY(!tensors.count("base_model.model.model.layers.1.mlp.experts.7.gate_proj.lora_A.weight"));
        QCOMPARE(tensors.at("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").shape, (std::vector<int64_t>{128, 16}));
        QVERIFY(QFileInfo::exists(run + "/adapter/adapter_model.safetensors"));  // the run's final adapter
        QCOMPARE(runHy3({"checkpoint", "verify", checkpoint}).exitCode, 0);
        // Export refuses it with the way out.
        const auto exported = runHy3({"checkpoint", "export", checkpoint, tmp_.path() + "/nope"});
        QCOMPARE(exported.exitCode, 2);
        QVERIFY2(exported.err.contains("hy3 lora merge"), exported.err.constData());
    }

    void stopAndResumeAreExact() {
        const QString output = tmp_.path() + "/stopped";
        QStringList first = loraRun(defaultProject(), output);
        first << "--stop-after" << "4";
        const auto a = runHy3(first, 300000);
        QVERIFY2(a.exitCode == 0, qPrintable(describe(a)));
        // By the checkpoint's folder, as the stop message and the Checkpoints page name it (only
        // --resume latest worked: a path was refused as "not a model").
        QStringList second = loraRun(defaultProject(), output);
        second << "--resume" << hy3::test::runDirOf(output) + "/checkpoints/step-00000004";
        const auto b = runHy3(second, 300000);
        QVERIFY2(b.exitCode == 0, qPrintable(describe(b)));
        auto steps = hy3::test::stepEvents(hy3::test::parseEvents(a.out));
        for (const auto& [k, v] : hy3::test::stepEvents(hy3::test::parseEvents(b.out))) steps[k] = v;
        const auto reference = hy3::test::stepEvents(reference_);
        QCOMPARE(steps.size(), reference.size());
        for (const auto& [step, e] : reference) {
            QVERIFY2(steps.at(step)["loss"].get<double>() == e["loss"].get<double>(), qPrintable(QString("step %1").arg(step)));
            QCOMPARE(steps.at(step)["grad_norm"].get<double>(), e["grad_norm"].get<double>());
        }
    }

    // From the fixture directory: the adapter unmerged (`forward --adapter`) and merged into the
    // base (`lora merge`) give the same logits; the base files are untouched by training.
    void adapterRunsUnmergedAndMerged() {
        QTemporaryDir dir;
        const auto r = runHy3(loraRun(fixtureProject(dir), dir.path() + "/out"), 300000);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QString adapter = hy3::test::runDirOf(dir.path() + "/out") + "/adapter";
        const QString batch = hy3::test::sharedDir() + "/fixtures/hy3-tiny/case_batch.safetensors";
        const QString merged = dir.path() + "/merged";
        const auto merge = runHy3({"lora", "merge", hy3::test::fixtureCheckpoint(), adapter, merged, "--dtype", "fp32"});
        QVERIFY2(merge.exitCode == 0, merge.err.constData());
        QCOMPARE(runHy3({"forward", "--model", hy3::test::fixtureCheckpoint(), "--adapter", adapter, "--input", batch, "--output",
                         dir.path() + "/unmerged.safetensors", "--grads"}).exitCode, 0);
        QCOMPARE(runHy3({"forward", "--model", merged, "--input", batch, "--output", dir.path() + "/merged.safetensors"}).exitCode, 0);
        QCOMPARE(runHy3({"forward", "--model", hy3::test::fixtureCheckpoint(), "--input", batch, "--output", dir.path() + "/base.safetensors"}).exitCode, 0);
        const auto unmergedOut = hy3::test::readAllArrays((dir.path() + "/unmerged.safetensors").toStdString());
        const auto mergedOut = hy3::test::readAllArrays((dir.path() + "/merged.safetensors").toStdString());
        const auto baseOut = hy3::test::readAllArrays((dir.path() + "/base.safetensors").toStdString());
        double merges = 0, fromBase = 0;
        for (size_t i = 0; i < mergedOut.at("logits").values.size(); ++i) {
            merges = std::max(merges, std::abs(unmergedOut.at("logits").values[i] - mergedOut.at("logits").values[i]));
            fromBase = std::max(fromBase, std::abs(unmergedOut.at("logits").values[i] - baseOut.at("logits").values[i]));
        }
        QVERIFY2(merges < 1e-4, qPrintable(QString::number(merges)));
        QVERIFY2(fromBase > 1e-3, qPrintable(QString::number(fromBase)));  // the adapter learned something
        // --grads under an adapter: a gradient per adapter tensor, by PEFT key.
        QVERIFY(unmergedOut.count("grad.base_model.model.model.layers.2.mlp.experts.3.down_proj.lora_B.weight"));
        QVERIFY(!unmergedOut.count("grad.model.layers.0.self_attn.q_proj.weight"));

        // The merge streamed from the base's shards: what has no adapter is the base's bytes.
        auto readDir = [](const QString& dir) {
            std::map<std::string, hy3::test::RawTensor> all;
            for (const QString& file : QDir(dir).entryList({"*.safetensors"}))
                for (auto& [k, v] : hy3::test::readRaw((dir + "/" + file).toStdString())) all[k] = std::move(v);
            return all;
        };
        const auto baseTensors = readDir(hy3::test::fixtureCheckpoint()), mergedTensors = readDir(merged);
        QCOMPARE(mergedTensors.size(), baseTensors.size());
        for (const char* key : {"model.embed_tokens.weight", "model.layers.1.mlp.router.gate.weight", "model.layers.0.input_layernorm.weight"})
            QVERIFY2(mergedTensors.at(key).bytes == baseTensors.at(key).bytes, key);
        QVERIFY(mergedTensors.at("model.layers.0.self_attn.q_proj.weight").bytes != baseTensors.at("model.layers.0.self_attn.q_proj.weight").bytes);
        QVERIFY2(merge.out.contains("tensor by tensor"), merge.out.constData());

        // Base + adapter against the merged model in one command, and the LoRA checkpoint itself
        // (its adapter on the base its meta.json names) against the merge.
        const auto compare = runHy3({"checkpoint", "compare", hy3::test::fixtureCheckpoint(), merged, "--adapter-a", adapter, "--tolerance", "1e-4"});
        QVERIFY2(compare.exitCode == 0 && compare.out.contains("+ adapter"), (compare.out + compare.err).constData());
        const QString checkpoints = hy3::test::runDirOf(dir.path() + "/out") + "/checkpoints";
        QCOMPARE(runHy3({"checkpoint", "compare", checkpoints, merged, "--tolerance", "1e-4"}).exitCode, 0);
        QCOMPARE(runHy3({"checkpoint", "compare", checkpoints, hy3::test::fixtureCheckpoint()}).exitCode, 1);  // the adapter changed it

        // Generation from the LoRA checkpoint (its own tokenizer copy) equals the base with --adapter.
        const auto fromCheckpoint = runHy3({"generate", checkpoints, "--prompt", "Hello", "--max-new-tokens", "6", "--json"});
        QVERIFY2(fromCheckpoint.exitCode == 0, fromCheckpoint.err.constData());
        QVERIFY(QFileInfo::exists(checkpoints + "/step-00000012/adapter/tokenizer.json"));
        const auto withAdapter = runHy3({"generate", hy3::test::fixtureCheckpoint(), "--adapter", adapter, "--tokenizer", adapter,
                                         "--prompt", "Hello", "--max-new-tokens", "6", "--json"});
        QVERIFY2(withAdapter.exitCode == 0, withAdapter.err.constData());
        QCOMPARE(json::parse(fromCheckpoint.out.toStdString())["reply"], json::parse(withAdapter.out.toStdString())["reply"]);
        QCOMPARE(json::parse(fromCheckpoint.out.toStdString())["new_tokens"].get<int>(), 6);

        // Another base than the one the adapter was trained on: one line, exit 2. (A copy of the
        // fixture whose config.json differs by a byte.)
        const QString other = dir.path() + "/other-base";
        QVERIFY(QDir().mkpath(other));
        for (const QString& file : QDir(hy3::test::fixtureCheckpoint()).entryList(QDir::Files))
            QVERIFY(QFile::copy(hy3::test::fixtureCheckpoint() + "/" + file, other + "/" + file));
        {
            std::ofstream config((other + "/config.json").toStdString(), std::ios::app);
            config << "\n";
        }
        const auto mismatch = runHy3({"forward", "--model", other, "--adapter", adapter, "--input", batch, "--output", dir.path() + "/x.safetensors"});
        QCOMPARE(mismatch.exitCode, 2);
        QVERIFY2(mismatch.err.contains("was trained on another base"), mismatch.err.constData());

        const auto inspect = runHy3({"lora", "inspect", adapter});
        QCOMPARE(inspect.exitCode, 0);
        QVERIFY2(inspect.out.contains("layers 1-2: attention q/k/v/o; shared expert gate/up/down; 8 experts x gate/up/down"),
                 inspect.out.constData());
    }

    void badInputIsOneClearError() {
        const QString output = tmp_.path() + "/bad";
        auto run = [&](const QStringList& extra) { return runHy3(QStringList{"train", defaultProject(), "--output", output, "--max-steps", "1",
                                                                             "--set", "training.method=lora"} + extra); };
        const auto target = run({"--set", "lora.targets=q_proj,gate"});
        QCOMPARE(target.exitCode, 2);
        QVERIFY2(target.err.contains("lora.targets") && target.err.contains("\"gate\""), target.err.constData());
        const auto rank = run({"--set", "lora.rank=0"});
        QCOMPARE(rank.exitCode, 2);
        QVERIFY2(rank.err.contains("lora.rank"), rank.err.constData());
        // The default project's adapter on the fixture: other shapes.
        const QString adapter = hy3::test::runDirOf(tmp_.path() + "/reference") + "/adapter";
        const auto misfit = runHy3({"forward", "--model", hy3::test::fixtureCheckpoint(), "--adapter", adapter, "--input",
                                    hy3::test::sharedDir() + "/fixtures/hy3-tiny/case_batch.safetensors", "--output", tmp_.path() + "/x.safetensors"});
        QCOMPARE(misfit.exitCode, 2);
        // (4 layers of 128 against 3 of 48: the first key it meets names the mismatch.)
        QVERIFY2(misfit.err.contains("adapter_model.safetensors: base_model.model.model.layers.") &&
                     (misfit.err.contains("does not fit") || misfit.err.contains("is not an adapter of this model")),
                 misfit.err.constData());
        QVERIFY(!misfit.err.trimmed().contains('\n'));
        // lora.init_adapter of another rank: one line naming the setting, both ranks.
        const auto otherRank = run({"--set", "lora.rank=8", "--set", "lora.init_adapter=\"" + adapter + "\""});
        QCOMPARE(otherRank.exitCode, 2);
        QVERIFY2(otherRank.err.contains("lora.init_adapter") && otherRank.err.contains("rank 16") && otherRank.err.contains("lora.rank is 8"),
                 otherRank.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestLora)
#include "tst_lora.moc"
