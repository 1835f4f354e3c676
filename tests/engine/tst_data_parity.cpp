// Parity with HF's own Python stack, run from the project's .venv (requirements.lock) by
// tests/reference/reference.py: token ids of a varied generated corpus on the Qwen3 tokenizer
// (the `tokenizers` library), and chat-template renders of the Qwen3 template (transformers'
// apply_chat_template, Jinja2) with and without tools, system prompts, reasoning,
// add_generation_prompt and enable_thinking.
#include "data/sample_corpus.h"
#include "test_support.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using json = nlohmann::json;

namespace {

QByteArray runReference(const QStringList& args) {
    QProcess python;
    python.start(hy3::test::venvPython(), QStringList{hy3::test::sourceDir() + "/tests/reference/reference.py"} + args);
    if (!python.waitForFinished(300000) || python.exitStatus() != QProcess::NormalExit || python.exitCode() != 0)
        qFatal("reference.py %s failed: %s", qPrintable(args.join(' ')), python.readAllStandardError().constData());
    return python.readAllStandardOutput();
}

QList<QByteArray> nonEmptyLines(const QByteArray& text) {
    QList<QByteArray> lines = text.split('\n');
    while (!lines.isEmpty() && lines.last().isEmpty()) lines.removeLast();
    return lines;
}

json conversationCases() {
    const json tool = {{"type", "function"},
                       {"function", {{"name", "get_weather"},
                                     {"description", "Weather for a city, in °C"},
                                     {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}, {"required", {"city"}}}}}}};
    const json system = {{"role", "system"}, {"content", "You are a careful assistant. Réponds en français si on te parle français."}};
    const json user1 = {{"role", "user"}, {"content", "What is 17 * 23?"}};
    const json answer1 = {{"role", "assistant"}, {"content", "17 * 23 = 391."}};
    const json user2 = {{"role", "user"}, {"content", "And the square root of 391, roughly? 🙂"}};
    const json answer2 = {{"role", "assistant"}, {"content", "About 19.77."}, {"reasoning_content", "\n19^2 = 361, 20^2 = 400, so ~19.8.\n"}};
    const json thinkInline = {{"role", "assistant"}, {"content", "<think>\nLet me add.\n</think>\n\nIt is 4."}};
    const json callTool = {{"role", "assistant"},
                           {"content", ""},
                           {"tool_calls", {{{"type", "function"}, {"function", {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}}}}};
    const json callToolString = {{"role", "assistant"},
                                 {"content", "Let me check."},
                                 {"tool_calls", {{{"function", {{"name", "get_weather"}, {"arguments", "{\"city\": \"Tōkyō\"}"}}}}}}};
    const json toolResult = {{"role", "tool"}, {"content", "{\"temp\": 21.5, \"sky\": \"clear\"}"}};
    const json toolResult2 = {{"role", "tool"}, {"content", "<tool_response>no data</tool_response>"}};
    const json weatherUser = {{"role", "user"}, {"content", "Weather in Paris and Tōkyō?"}};
    const json finalAnswer = {{"role", "assistant"}, {"content", "Paris: 21.5 °C, clear. Tōkyō: no data."}};

    std::vector<json> conversations = {
        {user1, answer1},
        {system, user1, answer1},
        {system, user1, answer1, user2, answer2},
        {user1, thinkInline, user2, answer2},
        {system, weatherUser, callTool, toolResult, callToolString, toolResult2, finalAnswer},
        {system, user1},
        {user1},
        {weatherUser, callTool, toolResult},
        {system, user1, answer1, {{"role", "system"}, {"content", "A second system message."}}, user2},
    };
    json cases = json::array();
    for (const json& messages : conversations)
        for (const bool withTools : {false, true})
            for (const bool generation : {false, true})
                for (const int thinking : {-1, 0, 1}) {
                    json c = {{"messages", messages}, {"add_generation_prompt", generation}};
                    if (withTools) c["tools"] = json::array({tool});
                    if (thinking >= 0) c["extra"] = {{"enable_thinking", thinking == 1}};
                    cases.push_back(c);
                }
    return cases;
}

}  // namespace

class TestDataParity : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY2(QFile::exists(hy3::test::venvPython()), "the Python references are not installed: scripts/install-deps.sh (test.sh runs it)");
        qwen3_ = QString::fromUtf8(runReference({"qwen3-dir"})).trimmed();
        QVERIFY(QFile::exists(qwen3_ + "/tokenizer.json"));
        QCOMPARE(qwen3_, hy3::test::qwen3TokenizerDir());  // the same files the other tests and fuzzers use
    }

    void tokenIdsMatchHfTokenizers() {
        QTemporaryDir dir;
        const std::vector<std::string> specials = {"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>",
                                                   "<tool_call>", "<|fim_prefix|>", "<|vision_pad|>"};
        const auto corpus = hy3::generateVariedCorpus(20261129, 3000, specials);
        const QString file = dir.path() + "/corpus.jsonl";
        {
            std::ofstream out(file.toStdString());
            for (const auto& line : corpus) out << json(line).dump() << "\n";
        }
        const auto reference = nonEmptyLines(runReference({"tokenize", qwen3_, file}));
        const auto engine = hy3::test::runHy3({"tokenize", "--tokenizer", qwen3_, "--jsonl", file});
        QVERIFY2(engine.exitCode == 0, engine.err.constData());
        const auto ours = nonEmptyLines(engine.out);
        QCOMPARE(ours.size(), reference.size());
        QCOMPARE(static_cast<size_t>(ours.size()), corpus.size());
        int64_t tokens = 0;
        for (qsizetype i = 0; i < ours.size(); ++i) {
            QVERIFY2(ours[i] == reference[i], qPrintable(QString("line %1: %2\n ours: %3\n  ref: %4")
                                                             .arg(i)
                                                             .arg(QString::fromStdString(json(corpus[static_cast<size_t>(i)]).dump()))
                                                             .arg(QString(ours[i]))
                                                             .arg(QString(reference[i]))));
            tokens += json::parse(ours[i].toStdString()).size();
        }
        qInfo("%lld lines, %lld tokens identical", static_cast<long long>(ours.size()), static_cast<long long>(tokens));
    }

    void chatTemplateMatchesTransformers() {
        QTemporaryDir dir;
        const json cases = conversationCases();
        const QString file = dir.path() + "/cases.jsonl";
        {
            std::ofstream out(file.toStdString());
            for (const json& c : cases) out << c.dump() << "\n";
        }
        const auto reference = nonEmptyLines(runReference({"render", qwen3_, file}));
        const auto engine = hy3::test::runHy3({"render", "--tokenizer", qwen3_, "--jsonl", file});
        QVERIFY2(engine.exitCode == 0, engine.err.constData());
        const auto ours = nonEmptyLines(engine.out);
        QCOMPARE(ours.size(), reference.size());
        for (qsizetype i = 0; i < ours.size(); ++i)
            QVERIFY2(ours[i] == reference[i], qPrintable(QString("case %1: %2\n ours: %3\n  ref: %4")
                                                             .arg(i)
                                                             .arg(QString::fromStdString(cases[static_cast<size_t>(i)].dump()))
                                                             .arg(QString(ours[i]))
                                                             .arg(QString(reference[i]))));
        qInfo("%lld renders identical", static_cast<long long>(ours.size()));
    }

    // Where Python's Jinja2 and other Jinja dialects part ways, rendered by transformers (its
    // environment, its tojson) and by the engine from one template: how values print (None, True,
    // floats by repr, lists and dicts by repr with Python's quoting and escapes), strip with and
    // without characters, floor modulo, equality of strings, numbers, lists and dicts, ~ binding
    // tighter than + and looser than *, and tojson of floats and non-ASCII text.
    void pythonSemanticsMatchTransformers() {
        QTemporaryDir dir;
        const QString templateFile = dir.path() + "/semantics.jinja";
        std::ofstream(templateFile.toStdString()) << R"({%- for m in messages %}
[{{ m.content }}] [{{ m.content.strip() }}] [{{ m.content.strip('\n') }}] [{{ m.content.lstrip(' x') }}] [{{ m.content.rstrip('\n y') }}] [{{ m.content | trim }}]
{{ m.meta }} | {{ m.meta.nums }} | {{ m.meta | tojson }} | {{ m.meta.nums | tojson }} | {{ m.meta.name ~ '!' }}
{%- endfor %}
{{ none }} {{ true }} {{ false }} {{ 1.0 }} {{ 2.5 }} {{ 10 / 4 }} {{ 1 / 3 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 0.00001 }} {{ -0.0 }} {{ 3 * 1.5 }}
{{ -3 % 2 }} {{ 3 % -2 }} {{ -7 // 2 }} {{ 7.5 % 2 }} {{ -7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ~ 3 * 2 }}
{{ '2' == 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1, 2] == [1, 2] }} {{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }} {{ none == none }} {{ 'a' in ['a'] }} {{ [1] in [[1]] }}
{{ ['it', none, true, 1.0, [2], {'k': 'v'}, 1e-7] }}
{{ {'x': [1.5, none], 'y': {'z': 'q'}} }} {{ [1.0, 2.5e-7, 1e300] | tojson }} {{ {'é': 'ü'} | tojson }} {{ 'x' | tojson }}
{%- if add_generation_prompt %}
<gen>{% endif %})";
        const json meta1 = {{"name", "Zoë"}, {"nums", {1, 2.0, 0.5, nullptr, true, "s"}}, {"n", 3}};
        const json meta2 = {{"name", "it's"},
                            {"nums", json::array({-1.25, 1e-9, 123456789.0})},
                            {"strings", {"it's", "say \"hi\"", "both ' and \"", "tab\there", "nl\nhere", "é ü 你好 🙂", "\u0007bell",
                                         "nb\u00a0sp", "zero\u200bwidth", "line\u2028sep", "back\\slash", "\u00ad\u0085"}}};
        const json cases = json::array({
            {{"messages", {{{"role", "user"}, {"content", "\n  hello world \n"}, {"meta", meta1}},
                           {{"role", "assistant"}, {"content", "xx  yes y\n"}, {"meta", meta2}}}},
             {"add_generation_prompt", true}},
            {{"messages", {{{"role", "user"}, {"content", "\u00a0\u2003 spaced\u3000"}, {"meta", meta2}}}}},
        });
        const QString file = dir.path() + "/cases.jsonl";
        {
            std::ofstream out(file.toStdString());
            for (const json& c : cases) out << c.dump() << "\n";
        }
        const auto reference = nonEmptyLines(runReference({"render", qwen3_, file, templateFile}));
        const auto engine = hy3::test::runHy3({"render", "--tokenizer", qwen3_, "--jsonl", file, "--template", templateFile});
        QVERIFY2(engine.exitCode == 0, engine.err.constData());
        const auto ours = nonEmptyLines(engine.out);
        QCOMPARE(ours.size(), reference.size());
        for (qsizetype i = 0; i < ours.size(); ++i)
            QVERIFY2(ours[i] == reference[i], qPrintable(QString("case %1\n ours: %2\n  ref: %3").arg(i).arg(QString(ours[i])).arg(QString(reference[i]))));
    }

    // The speed itself is a benchmark (scripts/bench-tokenizer.sh, the README's figures); here both
    // halves of it must work on the same corpus: the engine's report and the reference's timing.
    void benchTokenizerReportsWhatItMeasured() {
        QTemporaryDir dir;
        const QString corpus = dir.path() + "/corpus.jsonl";
        const auto r = hy3::test::runHy3({"bench", "tokenizer", "--tokenizer", qwen3_, "--repeats", "2", "--save-corpus", corpus, "--json"}, 600000);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const json o = json::parse(r.out.toStdString());
        QVERIFY(o["engine_mb_per_s"].get<double>() > 0);
        QCOMPARE(o["repeats"].get<int>(), 2);
        QCOMPARE(o["lines"].get<int64_t>(), int64_t(20000));
        QFile saved(corpus);
        QVERIFY(saved.open(QIODevice::ReadOnly));
        QCOMPARE(nonEmptyLines(saved.readAll()).size(), 20000);
        const json reference = json::parse(runReference({"bench", qwen3_, corpus, "1"}).toStdString());
        QCOMPARE(reference["bytes"].get<uint64_t>(), o["bytes"].get<uint64_t>());  // the same text, byte for byte
        QVERIFY(reference["mb_per_s"].get<double>() > 0);
    }

private:
    QString qwen3_;
};

QTEST_GUILESS_MAIN(TestDataParity)
#include "tst_data_parity.moc"
