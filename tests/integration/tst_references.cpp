// The engine against implementations nobody here wrote, on the CPU: HF transformers' Hy3
// (HYV3ForCausalLM, the transformers of requirements.lock; fp32, eager attention and experts),
// PEFT's LoRA, plain PyTorch training, and NeMo AutoModel's Hy3 (its own environment).
// For the fixture and for random checkpoints of other shapes (tests/reference/hf_hy3.py writes
// them), `hy3 forward --grads` and transformers give the same logits, loss and gradient of every
// parameter, key for key through HF's checkpoint conversion (per-expert keys fused into
// gate_up_proj/down_proj, router.gate -> gate, expert_bias -> e_score_correction_bias,
// shared_mlp -> shared_experts). Where the two read a config field differently (route_norm: HF
// renormalises the top-k weights always) the test says so. Planted errors show the comparison fails.
#include "integration/event_stream.h"
#include "test_support.h"

#include <nlohmann/json.hpp>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using json = nlohmann::json;
using namespace hy3::test;

namespace {

QString fixtureDir() { return sharedDir() + "/fixtures/hy3-tiny"; }
QString fixtureBatch() { return fixtureDir() + "/case_batch.safetensors"; }

// The default project on the fixture checkpoint: `steps` steps of `method`, a checkpoint at the end.
QStringList fixtureRun(const QTemporaryDir& dir, const QString& method, int steps) {
    json project = json::parse(std::ifstream((sourceDir() + "/resources/projects/default/default.hy3proj").toStdString()));
    project["model"] = {{"path", fixtureCheckpoint().toStdString()}, {"tokenizer", (sourceDir() + "/resources/tokenizers/hy3-byte").toStdString()}};
    for (json& d : project["datasets"])
        d["path"] = (sourceDir() + "/resources/projects/default/").toStdString() + d["path"].get<std::string>();
    const QString file = dir.path() + "/fixture-" + method + ".hy3proj";
    std::ofstream(file.toStdString()) << project.dump(1);
    const QString n = QString::number(steps);
    return {"train", file, "--output", dir.path() + "/" + method, "--max-steps", n, "--set", "training.method=" + method,
            "--set", "training.seq_len=128", "--set", "training.global_batch=8", "--set", "training.micro_batch=4",
            "--set", "training.warmup_steps=1", "--set", "training.checkpoint_every=" + n, "--set", "training.learning_rate=0.003"};
}

}  // namespace

class TestReferences : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    int files_ = 0;

    QString path(const QString& name) { return dir_.filePath(name + QString::number(++files_)); }

    // One command of tests/reference/hf_hy3.py (or of another script, run by another Python); its
    // last line of output is JSON.
    json reference(const QStringList& args, const QString& script = "hf_hy3.py", const QString& interpreter = venvPython()) {
        QProcess python;
        python.start(interpreter, QStringList{sourceDir() + "/tests/reference/" + script} + args);
        if (!python.waitForFinished(300000) || python.exitStatus() != QProcess::NormalExit || python.exitCode() != 0) {
            qWarning("%s %s failed:\n%s", qPrintable(script), qPrintable(args.join(' ')), python.readAllStandardError().constData());
            return json();
        }
        const QList<QByteArray> lines = python.readAllStandardOutput().trimmed().split('\n');
        return json::parse(lines.last().toStdString());
    }

    // A random checkpoint with these config fields over the script's small base.
    QString randomCheckpoint(const json& fields, int seed = 11) {
        const QString out = path("checkpoint");
        const json made = reference({"checkpoint", out, QString::number(seed), QString::fromStdString(fields.dump())});
        return made.is_null() ? QString() : out;
    }

    // Both models on the fixture's batch; returns hf_hy3.py's comparison, with transformers' own
    // report of the load under "load". Transformers reads `theirCheckpoint` when one is given.
    json compareWithTransformers(const QString& checkpoint, const QString& dtype = "fp32", const QStringList& referenceFlags = {},
                                 const QString& theirCheckpoint = QString()) {
        const QString ours = path("ours"), theirs = path("theirs");
        QStringList hy3Args{"forward", "--model", checkpoint, "--input", fixtureBatch(), "--output", ours, "--dtype", dtype};
        if (dtype == "fp32") hy3Args << "--grads";
        const CliResult r = runHy3(hy3Args);
        if (r.exitCode != 0) {
            qWarning("hy3 forward failed: %s", r.err.constData());
            return json();
        }
        const QString theirModel = theirCheckpoint.isEmpty() ? checkpoint : theirCheckpoint;
        const json load = reference(QStringList{"forward", theirModel, fixtureBatch(), theirs, dtype} + referenceFlags);
        if (load.is_null()) return json();
        json result = reference({"compare", ours, theirs});
        result["load"] = load;
        return result;
    }

    // The same against NeMo AutoModel's Hy3 (pure-torch backend, its state-dict adapter).
    json compareWithAutoModel(const QString& checkpoint) {
        const QString ours = path("ours"), theirs = path("automodel");
        const CliResult r = runHy3({"forward", "--model", checkpoint, "--input", fixtureBatch(), "--output", ours, "--grads"});
        if (r.exitCode != 0) {
            qWarning("hy3 forward failed: %s", r.err.constData());
            return json();
        }
        const json load = reference({"forward", checkpoint, fixtureBatch(), theirs}, "automodel_hy3.py",
                                    sourceDir() + "/.venv-automodel/bin/python");
        if (load.is_null()) return json();
        json result = reference({"compare", ours, theirs});
        result["load"] = load;
        return result;
    }

    // Our run's events (its stdout) into a file the reference reads its learning rates from.
    static QString saveEvents(const QTemporaryDir& dir, const QByteArray& out) {
        const QString events = dir.path() + "/events.jsonl";
        QFile file(events);
        if (!file.open(QIODevice::WriteOnly) || file.write(out) != out.size()) return {};
        return events;
    }

    // Every step's loss and gradient norm of the reference's curve against our run's events.
    static void verifySameCurve(const json& theirs, const QByteArray& ourEvents) {
        const auto ours = stepEvents(parseEvents(ourEvents));
        for (const json& step : theirs["steps"]) {
            const json& mine = ours.at(step["step"].get<int64_t>());
            const double loss = step["loss"].get<double>(), norm = step["grad_norm"].get<double>();
            QVERIFY2(std::abs(mine["loss"].get<double>() - loss) < 1e-6 * loss, qPrintable(QString::fromStdString(mine.dump() + step.dump())));
            QVERIFY2(std::abs(mine["grad_norm"].get<double>() - norm) < 1e-6 * norm, qPrintable(QString::fromStdString(mine.dump() + step.dump())));
        }
    }

    static QByteArray describe(const json& j) { return QByteArray::fromStdString(j.dump()); }

    // fp32: what "the same" means here. Measured on this machine: logits 6e-7 to 8e-7, loss < 1e-7,
    // gradients 1.0e-6 to 1.7e-6 of each tensor's largest entry.
    static void verifyEqual(const json& d) {
        QVERIFY2(!d.is_null(), "a comparison did not run");
        QVERIFY2(d["load"]["missing"].empty() && d["load"]["unexpected"].empty(), describe(d));
        QVERIFY2(d["logits_max_abs"].get<double>() < 1e-5, describe(d));
        QVERIFY2(d["loss_rel"].get<double>() < 1e-6, describe(d));
        QVERIFY2(d["grads_missing"].empty() && d["grads_extra"].empty(), describe(d));
        QVERIFY2(d["grads_compared"].get<int>() == d["load"]["grads"].get<int>() && d["grads_compared"].get<int>() > 0, describe(d));
        QVERIFY2(d["grads_max_rel"].get<double>() < 1e-5, describe(d));
    }

private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    void forwardAndGradientsEqualTransformers_data() {
        QTest::addColumn<QString>("fields");  // config fields over the base; empty: the fixture itself
        QTest::newRow("fixture (GQA 2:1, layer 0 dense, 8 experts top-2, MTP block)") << "";
        QTest::newRow("GQA 4:1, the dense layer in the middle (mlp_layer_types)")
            << R"({"num_attention_heads": 8, "num_key_value_heads": 2, "mlp_layer_types": ["sparse", "dense", "sparse"]})";
        QTest::newRow("no GQA, 16 experts top-4, 2 shared, scaling 1.0")
            << R"({"num_attention_heads": 4, "num_key_value_heads": 4, "num_experts": 16, "num_experts_per_tok": 4, "num_shared_experts": 2, "router_scaling_factor": 1.0})";
        QTest::newRow("one KV head, every layer sparse")
            << R"({"num_attention_heads": 4, "num_key_value_heads": 1, "mlp_layer_types": ["sparse", "sparse", "sparse"]})";
    }
    void forwardAndGradientsEqualTransformers() {
        QFETCH(QString, fields);
        const QString checkpoint = fields.isEmpty() ? fixtureDir() + "/checkpoint" : randomCheckpoint(json::parse(fields.toStdString()));
        QVERIFY(!checkpoint.isEmpty());
        verifyEqual(compareWithTransformers(checkpoint));
    }


    // NeMo AutoModel 0.7.0's Hy3 (with its own transformers 5.18.0): the same shapes, and
    // route_norm false, which it reads as we do (no renormalisation). On the CPU it needs one
    // workaround (tests/reference/automodel_hy3.py says which line stops it and why it is honest).
    // Measured: logits 8.3e-7, loss 8e-8, gradients 1.8e-6. Its dense layers follow
    // first_k_dense_replace only (see mlpLayerTypesIsWhereAutoModelDiffers).
    void forwardAndGradientsEqualAutoModel_data() {
        QTest::addColumn<QString>("fields");
        QTest::newRow("fixture") << "";
        QTest::newRow("GQA 4:1, two dense layers (first_k_dense_replace 2)")
            << R"({"num_attention_heads": 8, "num_key_value_heads": 2, "first_k_dense_replace": 2})";
        QTest::newRow("no GQA, 16 experts top-4, 2 shared, scaling 1.0")
            << R"({"num_attention_heads": 4, "num_key_value_heads": 4, "num_experts": 16, "num_experts_per_tok": 4, "num_shared_experts": 2, "router_scaling_factor": 1.0})";
        QTest::newRow("route_norm false") << R"({"route_norm": false})";
    }
    void forwardAndGradientsEqualAutoModel() {
        QFETCH(QString, fields);
        const QString checkpoint = fields.isEmpty() ? fixtureDir() + "/checkpoint" : randomCheckpoint(json::parse(fields.toStdString()));
        QVERIFY(!checkpoint.isEmpty());
        const json d = compareWithAutoModel(checkpoint);
        verifyEqual(d);
        if (QTest::currentTestFailed()) return;
        QCOMPARE(d["load"]["automodel"].get<std::string>().substr(0, 5), std::string("0.7.0"));
    }

    // mlp_layer_types: transformers and we build the layers it names; AutoModel 0.7.0 reads only
    // first_k_dense_replace, builds a MoE layer where the checkpoint holds a dense one, and its
    // load reports the dense layer's weights unexpected and the MoE's missing.
    void mlpLayerTypesIsWhereAutoModelDiffers() {
        const QString checkpoint = randomCheckpoint(json{{"mlp_layer_types", {"sparse", "dense", "sparse"}}});
        QVERIFY(!checkpoint.isEmpty());
        const json load = reference({"forward", checkpoint, fixtureBatch(), path("automodel")}, "automodel_hy3.py",
                                    sourceDir() + "/.venv-automodel/bin/python");
        QVERIFY2(!load.is_null() && !load["missing"].empty() && !load["unexpected"].empty(), describe(load));
        verifyEqual(compareWithTransformers(checkpoint));
    }

    // bf16 parameters on both sides: different roundings, so a written tolerance (measured: logits'
    // relative norm 9.5e-3, loss 1.6e-4 relative).
    void bf16IsWithinItsTolerance() {
        const json d = compareWithTransformers(fixtureDir() + "/checkpoint", "bf16");
        QVERIFY2(!d.is_null(), "the comparison did not run");
        QVERIFY2(d["logits_rel_norm"].get<double>() < 2e-2, describe(d));
        QVERIFY2(d["loss_rel"].get<double>() < 2e-3, describe(d));
    }

    // route_norm false: transformers renormalises the top-k weights anyway (its router has no such
    // field), we do not (NeMo AutoModel's reading of the field). The same model with HF's router
    // told to skip the renormalisation is ours again, to the last gradient.
    void routeNormFalseIsWhereTransformersDiffers() {
        const QString checkpoint = randomCheckpoint(json{{"route_norm", false}});
        QVERIFY(!checkpoint.isEmpty());
        const json hfOwn = compareWithTransformers(checkpoint);
        QVERIFY2(!hfOwn.is_null() && hfOwn["logits_max_abs"].get<double>() > 1e-2, describe(hfOwn));
        verifyEqual(compareWithTransformers(checkpoint, "fp32", {"--follow-route-norm"}));
    }

    // 20 steps of full fine-tuning against plain PyTorch: transformers' model with torch.optim.AdamW
    // on the micro-batches hy3 trained on (padded rows, two micro-batches a step, warmup and cosine
    // learning rates, weight decay, clipping, the expert-bias update). Measured: losses within
    // 1.6e-7 relative, gradient norms 1.5e-7, final weights 4.6e-5 of each tensor's largest entry
    // (AdamW's division by sqrt(v) magnifies float differences in weights with small gradients).
    void fullFineTuningEqualsPlainPyTorch() {
        QTemporaryDir dir;
        QStringList args = fixtureRun(dir, "full", 20);
        args << "--events" << "jsonl" << "--save-batches" << dir.path() + "/batches" << "--set" << "training.packing=false"
             << "--set" << "training.weight_decay=0.1" << "--set" << "training.warmup_steps=3";
        const CliResult trained = runHy3(args, 300000);
        QVERIFY2(trained.exitCode == 0, trained.err.right(1500).constData());
        const QString events = saveEvents(dir, trained.out);
        QVERIFY(!events.isEmpty());
        const json settings{{"weight_decay", 0.1}, {"betas", {0.9, 0.95}}, {"eps", 1e-8}, {"grad_clip", 1.0}, {"bias_update", 0.001}};
        const json theirs = reference({"train", fixtureCheckpoint(), dir.path() + "/batches", events, dir.path() + "/plain",
                                       QString::fromStdString(settings.dump())});
        QVERIFY2(!theirs.is_null() && theirs["steps"].size() == 20, describe(theirs));
        verifySameCurve(theirs, trained.out);
        if (QTest::currentTestFailed()) return;
        const json weights = reference({"weights", runDirOf(dir.path() + "/full") + "/model", dir.path() + "/plain"});
        QVERIFY2(weights["max_rel"].get<double>() < 2e-4 && weights["only_b"].empty() && weights["common"].get<int>() == 88, describe(weights));
    }

    // 20 steps of LoRA against PEFT's LoRA: both start from one adapter PEFT wrote (rank 8 on
    // q/k/v/o and down_proj: attention, the dense and shared MLPs' down, every routed expert's down
    // through target_parameters; hy3 starts from it by lora.init_adapter), the same batches and
    // settings. gate_proj/up_proj of routed experts are left out: PEFT adapts them as one fused
    // gate_up module with one A, we as two adapters (exact when written, not the same training).
    // Measured: losses 1.3e-7, gradient norms 1.7e-7, final adapter 1.8e-5 of each tensor's largest.
    void loraTrainingEqualsPeft() {
        QTemporaryDir dir;
        const QString start = dir.path() + "/start";
        QVERIFY(!reference({"peft-write", fixtureCheckpoint(), start, "5", "q_proj,k_proj,v_proj,o_proj,down_proj"}).is_null());
        QStringList args = fixtureRun(dir, "lora", 20);
        args << "--events" << "jsonl" << "--save-batches" << dir.path() + "/batches" << "--set" << "training.packing=false"
             << "--set" << "training.weight_decay=0.1" << "--set" << "training.warmup_steps=3" << "--set" << "training.expert_bias_update=0"
             << "--set" << "lora.rank=8" << "--set" << "lora.alpha=16" << "--set" << R"(lora.targets="q_proj,k_proj,v_proj,o_proj,down_proj")"
             << "--set" << "lora.init_adapter=\"" + start + "\"";
        const CliResult trained = runHy3(args, 300000);
        QVERIFY2(trained.exitCode == 0, trained.err.right(1500).constData());
        const QString events = saveEvents(dir, trained.out);
        QVERIFY(!events.isEmpty());
        const json settings{{"weight_decay", 0.1}, {"betas", {0.9, 0.95}}, {"eps", 1e-8}, {"grad_clip", 1.0}, {"bias_update", 0.0}};
        const json theirs = reference({"train-lora", fixtureCheckpoint(), start, dir.path() + "/batches", events, dir.path() + "/peft",
                                       QString::fromStdString(settings.dump())});
        QVERIFY2(!theirs.is_null() && theirs["steps"].size() == 20, describe(theirs));
        QCOMPARE(parseEvents(trained.out).front()["trainable_parameters"].get<int64_t>(), theirs["trainable"].get<int64_t>());
        verifySameCurve(theirs, trained.out);
        if (QTest::currentTestFailed()) return;
        const json weights = reference({"weights", runDirOf(dir.path() + "/lora") + "/adapter", dir.path() + "/peft"});
        QVERIFY2(weights["max_rel"].get<double>() < 2e-4 && weights["only_a"].empty() && weights["only_b"].empty(), describe(weights));
    }

    // What `hy3 checkpoint export` writes after training loads in transformers (nothing missing,
    // nothing unexpected but the MTP block it has no module for) and runs as `hy3 forward` does;
    // transformers' own save_pretrained of it holds the same bytes under the same keys.
    void exportsLoadInTransformers() {
        QTemporaryDir dir;
        const CliResult trained = runHy3(fixtureRun(dir, "full", 4), 300000);
        QVERIFY2(trained.exitCode == 0, trained.err.right(1500).constData());
        const QString exported = dir.path() + "/exported";
        const CliResult exportRun = runHy3({"checkpoint", "export", runDirOf(dir.path() + "/full") + "/checkpoints/step-00000004", exported});
        QVERIFY2(exportRun.exitCode == 0, exportRun.err.constData());
        const json d = compareWithTransformers(exported);
        verifyEqual(d);
        const json base = compareWithTransformers(fixtureDir() + "/checkpoint");
        QVERIFY2(std::abs(d["load"]["grads"].get<int>() - base["load"]["grads"].get<int>()) == 0, describe(d));

        const QString resaved = dir.path() + "/resaved";
        QVERIFY(!reference({"resave", exported, resaved}).is_null());
        const json same = reference({"same-tensors", exported, resaved});
        QVERIFY2(same["different"].empty() && same["only_b"].empty() && same["common"].get<int>() == 88, describe(same));
        for (const auto& key : same["only_a"])  // what transformers drops: the MTP block (layer 3 of 3)
            QVERIFY2(QString::fromStdString(key.get<std::string>()).startsWith("model.layers.3."), describe(same));
        const CliResult compared = runHy3({"checkpoint", "compare", exported, resaved, "--tolerance", "0", "--json"});
        QVERIFY2(compared.exitCode == 0, compared.out.constData());
        QCOMPARE(json::parse(compared.out.toStdString())["max_abs_logit_diff"].get<double>(), 0.0);
    }

    // An adapter merged by `hy3 lora merge` loads in transformers and runs as in `hy3 forward`.
    void loraMergeLoadsInTransformers() {
        QTemporaryDir dir;
        const CliResult trained = runHy3(fixtureRun(dir, "lora", 4), 300000);
        QVERIFY2(trained.exitCode == 0, trained.err.right(1500).constData());
        const QString merged = dir.path() + "/merged";
        const CliResult merge = runHy3({"lora", "merge", fixtureCheckpoint(), runDirOf(dir.path() + "/lora") + "/adapter", merged, "--dtype", "fp32"});
        QVERIFY2(merge.exitCode == 0, merge.err.constData());
        verifyEqual(compareWithTransformers(merged));
    }

    // Logits of `hy3 forward --adapter` and of PEFT's PeftModel on transformers' model, with PEFT's
    // report of the file's keys it did not use and of the fused expert parameters it adapted.
    json compareAdapterWithPeft(const QString& adapter) {
        const QString ours = path("ours"), theirs = path("peft");
        const CliResult r = runHy3({"forward", "--model", fixtureCheckpoint(), "--adapter", adapter, "--input", fixtureBatch(), "--output", ours});
        if (r.exitCode != 0) {
            qWarning("hy3 forward --adapter failed: %s", r.err.constData());
            return json();
        }
        json peft = reference({"peft-forward", fixtureCheckpoint(), adapter, fixtureBatch(), theirs});
        if (peft.is_null()) return json();
        peft["compare"] = reference({"compare", ours, theirs});
        return peft;
    }

    // An adapter hy3 trains loads in PEFT 0.21 on transformers' Hy3 with every key used, the routed
    // experts included (4 fused expert parameters: gate_up and down of 2 MoE layers), and runs as
    // in hy3; a misspelt key is reported unused (and PEFT then runs without that expert parameter).
    void ourAdapterLoadsInPeftWithEveryKeyUsed() {
        QTemporaryDir dir;
        const CliResult trained = runHy3(fixtureRun(dir, "lora", 4), 300000);
        QVERIFY2(trained.exitCode == 0, trained.err.right(1500).constData());
        const QString adapter = runDirOf(dir.path() + "/lora") + "/adapter";
        const CliResult inspect = runHy3({"lora", "inspect", adapter, "--json"});
        QCOMPARE(json::parse(inspect.out.toStdString())["expert_layout"].get<std::string>(), std::string("fused"));
        const json d = compareAdapterWithPeft(adapter);
        QVERIFY2(!d.is_null() && d["unused"].empty() && d["expert_parameters_adapted"].get<int>() == 4, describe(d));
        QVERIFY2(d["compare"]["logits_max_abs"].get<double>() < 1e-5, describe(d));

        const QString misspelt = dir.path() + "/misspelt";
        QVERIFY(!reference({"rename-key", adapter, misspelt}).is_null());
        const json planted = reference({"peft-forward", fixtureCheckpoint(), misspelt, fixtureBatch(), path("planted")});
        QVERIFY2(planted["unused"].size() == 1, describe(planted));
    }

    // An adapter PEFT writes (its own layout: shared_experts, fused experts of rank r with one A for
    // gate and up) loads in hy3 and gives PEFT's logits; the adapter itself moves them by ~0.9.
    void peftAdapterLoadsInHy3() {
        const QString adapter = path("peft-adapter");
        QVERIFY(!reference({"peft-write", fixtureCheckpoint(), adapter, "3"}).is_null());
        const CliResult inspect = runHy3({"lora", "inspect", adapter, "--json"});
        QVERIFY2(inspect.exitCode == 0, inspect.err.constData());
        QCOMPARE(json::parse(inspect.out.toStdString())["expert_layout"].get<std::string>(), std::string("fused"));
        const json d = compareAdapterWithPeft(adapter);
        QVERIFY2(!d.is_null() && d["unused"].empty() && d["compare"]["logits_max_abs"].get<double>() < 1e-5, describe(d));
    }

    // The comparison can fail: two experts' weights swapped in our input only, or the expert bias used
    // in the combine weights on the reference side (a selection-only bias done wrong).
    void plantedErrorsAreCaught() {
        const QString swapped = path("swapped");
        QVERIFY(!reference({"swap-experts", fixtureDir() + "/checkpoint", swapped, "1", "0", "2"}).is_null());
        const json expertsSwapped = compareWithTransformers(swapped, "fp32", {}, fixtureDir() + "/checkpoint");
        QVERIFY2(!expertsSwapped.is_null() && expertsSwapped["logits_max_abs"].get<double>() > 1e-2, describe(expertsSwapped));
        const json biasInWeights = compareWithTransformers(fixtureDir() + "/checkpoint", "fp32", {"--plant", "bias-in-weights"});
        QVERIFY2(!biasInWeights.is_null() && biasInWeights["logits_max_abs"].get<double>() > 1e-3 &&
                     biasInWeights["grads_max_rel"].get<double>() > 1e-2,
                 describe(biasInWeights));
    }
};

QTEST_GUILESS_MAIN(TestReferences)
#include "tst_references.moc"
