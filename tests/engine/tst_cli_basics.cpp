// `hy3 info` and `hy3 model-info` run as real processes: the released figures, JSON output, and
// one-line errors with exit status 2 for bad input.
#include "test_support.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using hy3::test::runHy3;

namespace {

QString writeConfig(const QTemporaryDir& dir, const QString& name, const QByteArray& text) {
    const QString path = dir.path() + "/" + name;
    QFile file(path);
    file.open(QIODevice::WriteOnly);
    file.write(text);
    return path;
}

}  // namespace

class TestCliBasics : public QObject {
    Q_OBJECT
private slots:
    void modelInfoReleasedPreset() {
        const auto r = runHy3({"model-info", "hy3-preview"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("295,033,528,320"));
        QVERIFY(r.out.contains("20,675,715,072"));
        QVERIFY(r.out.contains("136.8 GFLOP"));
        QVERIFY(r.out.contains("0: dense, 1-79: MoE"));
    }

    // A field the readers disagree on, absent from the file: model-info says what was taken and who
    // would take something else; the released preset has every field, so it says nothing.
    void modelInfoNamesAbsentFields() {
        QTemporaryDir dir;
        const QString path = writeConfig(dir, "config.json", R"({"model_type": "hy_v3", "vocab_size": 10, "hidden_size": 8,
            "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 4, "num_experts": 4, "num_experts_per_tok": 2,
            "moe_intermediate_size": 4, "num_shared_experts": 1, "router_scaling_factor": 2.0, "qk_norm": true,
            "enable_moe_fp32_combine": false, "enable_lm_head_fp32": false, "first_k_dense_replace": 1})");
        const auto r = runHy3({"model-info", path});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("route_norm: absent, taken as true (HF transformers and vLLM; NeMo AutoModel takes false"), r.out.constData());
        QVERIFY2(!r.out.contains("router_scaling_factor: absent"), r.out.constData());
        QVERIFY(!runHy3({"model-info", "hy3-preview"}).out.contains("absent"));
    }

    void modelInfoJsonFromDirectory() {
        const auto r = runHy3({"model-info", hy3::test::fixtureCheckpoint(), "--seq-len", "17", "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o["parameters"].toObject()["total"].toInteger(), 156336);
        QCOMPARE(o["layer_types"].toArray().size(), 3);
        QCOMPARE(o["seq_len"].toInt(), 17);
        QVERIFY(o["training_flops_per_token"].toDouble() > 0);
    }

    void modelInfoBadInput_data() {
        QTest::addColumn<QString>("content");   // empty: pass a path that does not exist
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing file") << "" << "no such file or directory";
        QTest::newRow("not json") << "{ nope" << "not valid JSON";
        QTest::newRow("wrong model_type") << R"({"model_type": "qwen3"})" << "model_type: \"qwen3\" is not a Hy3 model";
        QTest::newRow("heads") << R"({"model_type": "hy_v3", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 3, "num_key_value_heads": 2, "first_k_dense_replace": 1, "intermediate_size": 4})"
                               << "num_attention_heads: 3 is not divisible by num_key_value_heads (2)";
        QTest::newRow("top-k") << R"({"model_type": "hy_v3", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "first_k_dense_replace": 0, "num_experts": 4, "num_experts_per_tok": 5, "moe_intermediate_size": 4})"
                               << "num_experts_per_tok: 5 is larger than num_experts (4)";
    }

    void modelInfoBadInput() {
        QFETCH(QString, content);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString path = content.isEmpty() ? dir.path() + "/absent.json" : writeConfig(dir, "config.json", content.toUtf8());
        const auto r = runHy3({"model-info", path});
        QVERIFY(!r.crashed);
        QCOMPARE(r.exitCode, 2);
        const QString err = QString::fromUtf8(r.err).trimmed();
        QVERIFY2(!err.contains('\n'), qPrintable(err));
        QVERIFY2(err.contains(path), qPrintable(err));
        QVERIFY2(err.contains(expected), qPrintable(err));
        QVERIFY(r.out.isEmpty());
    }

    void usageErrorsExitTwo() {
        const auto r = runHy3({"model-info"});
        QCOMPARE(r.exitCode, 2);
        QCOMPARE(runHy3({"no-such-command"}).exitCode, 2);
    }

    void benchModelReportsWhatItMeasured() {
        const auto r = runHy3({"bench", "model", "--preset", "hy3-tiny", "--seq-len", "32", "--batch", "2", "--threads", "1",
                               "--iterations", "2", "--warmup", "1", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        for (const char* key : {"forward_ms", "forward_backward_ms", "tokens_per_s", "flops_per_s", "peak_flops_per_s", "mfu"})
            QVERIFY2(o[key].toDouble() > 0, key);
        // tokens/s is what the median step time gives for 2 x 32 tokens.
        QVERIFY(std::abs(o["tokens_per_s"].toDouble() - 64.0 / (o["forward_backward_ms"].toDouble() / 1000)) < 1e-6 * o["tokens_per_s"].toDouble());
        // The time split's phases add up to its pass; a forward+backward has no optimizer.
        const QJsonObject split = o["time_split"].toObject(), phases = split["phases_ms"].toObject();
        double sum = 0;
        for (const QString& phase : phases.keys()) sum += phases[phase].toDouble();
        QVERIFY2(std::abs(sum - split["pass_ms"].toDouble()) < 1e-9 * sum && phases["attention"].toDouble() > 0, r.out.constData());
        QCOMPARE(phases["optimizer"].toDouble(), 0.0);
        QCOMPARE(runHy3({"bench", "model", "--seq-len", "32"}).exitCode, 2);  // neither --preset nor --model
    }

    // A chat template is a stranger's code: each of these once crashed or hung the engine; now each
    // is one error line naming the template line, exit 2, within the test's time limit.
    void hostileTemplatesEndInOneError_data() {
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("reason");
        QTest::newRow("recursive macro") << "{% macro f(x) %}{{ f(x) }}{% endmacro %}{{ f(1) }}" << "called more than 100 deep";
        QTest::newRow("50,000 parentheses") << "{{ " + QString("(").repeated(50000) + "1" + QString(")").repeated(50000) + " }}" << "tokens";
        QTest::newRow("50,000 brackets") << "{{ " + QString("[").repeated(50000) + QString("]").repeated(50000) + " }}" << "tokens";
        QTest::newRow("150 parentheses") << "{{ " + QString("(").repeated(150) + "1" + QString(")").repeated(150) + " }}" << "nested more than 100";
        QTest::newRow("300 nested ifs") << QString("{% if 1 %}").repeated(300) + "x" + QString("{% endif %}").repeated(300) << "nested more than 100";
        QTest::newRow("loop over range(10**9)") << "{% for i in range(10**9) %}{% endfor %}" << "more than 100000";
        QTest::newRow("length of range(10**9)") << "{{ range(1000000000) | length }}" << "more than 100000";
        QTest::newRow("nested loops") << "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}" << "loop iterations";
        QTest::newRow("doubling string") << "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}"
                                         << "more than 64 MiB";
        QTest::newRow("string repetition") << "{{ 'a' * 10**12 }}" << "more than 64 MiB";
    }
    void hostileTemplatesEndInOneError() {
        QFETCH(QString, source);
        QFETCH(QString, reason);
        QTemporaryDir dir;
        const QString messages = dir.path() + "/m.json", templ = dir.path() + "/t.jinja";
        QFile m(messages), t(templ);
        QVERIFY(m.open(QIODevice::WriteOnly) && t.open(QIODevice::WriteOnly));
        m.write(R"([{"role": "user", "content": "hi"}])");
        t.write(source.toUtf8());
        m.close();
        t.close();
        const auto r = runHy3({"render", "--tokenizer", hy3::test::sourceDir() + "/resources/tokenizers/hy3-byte", "--messages", messages,
                               "--template", templ}, 60000);
        QCOMPARE(r.exitCode, 2);
        const QString err = QString::fromUtf8(r.err).trimmed();
        QVERIFY2(!err.contains('\n') && err.contains("t.jinja:1: ") && err.contains(reason), qPrintable(err.left(500)));
    }

    // Found by fuzzing (scripts/fuzz.sh): a namespace holding itself leaked every render (a cycle of
    // shared pointers); it renders, and under the sanitizer build nothing leaks.
    void namespaceCycleRenders() {
        QTemporaryDir dir;
        QFile m(dir.path() + "/m.json");
        QVERIFY(m.open(QIODevice::WriteOnly));
        m.write(R"([{"role": "user", "content": "hi"}])");
        m.close();
        const auto r = runHy3({"render", "--tokenizer", hy3::test::sourceDir() + "/resources/tokenizers/hy3-byte", "--messages",
                               dir.path() + "/m.json", "--template", hy3::test::sourceDir() + "/tests/fuzz/corpus/jinja/namespace-cycle.jinja"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(r.out.trimmed(), QByteArray("1"));
    }

    void infoReportsBlasAndMatmulRate() {
        const auto r = runHy3({"info", "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QVERIFY(!o["torch_version"].toString().isEmpty());
        QVERIFY(!o["blas_library"].toString().isEmpty());
        QVERIFY(o["matmul_gflops_1thread"].toDouble() > 0);
        QVERIFY(o["hardware_threads"].toInt() >= 1);
        QVERIFY(o["gloo"].toBool());
        const auto text = runHy3({"info"});
        QCOMPARE(text.exitCode, 0);
        QVERIFY(text.out.contains("GFLOP/s"));
    }
};

QTEST_GUILESS_MAIN(TestCliBasics)
#include "tst_cli_basics.moc"
