// The data pipeline on real files: record formats and detection, loss-mask policies (built-in Hy3
// format and a Jinja template), truncation, packing invariants, the token cache (reuse and
// invalidation), the validation split, malformed lines, and template errors naming their line.
#include "data/chat_format.h"
#include "data/dataset.h"
#include "data/packing.h"
#include "data/record_browser.h"
#include "data/records.h"
#include "data/tokenizer.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <numeric>

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path byteTokenizer() { return hy3::test::sourceDir().toStdString() + "/resources/tokenizers/hy3-byte"; }
fs::path qwenTokenizer() { return hy3::test::qwen3TokenizerDir().toStdString(); }

std::string decodeMasked(const hy3::ChatFormat& f, const hy3::TokenizedConversation& t) {
    std::vector<int32_t> kept;
    for (size_t i = 0; i < t.ids.size(); ++i)
        if (t.mask[i]) kept.push_back(t.ids[i]);
    return f.tokenizer().decode(kept);
}

void writeLines(const fs::path& file, const std::vector<std::string>& lines) {
    std::ofstream out(file, std::ios::binary);
    for (const auto& l : lines) out << l << "\n";
}

std::string conversationLine(int i) {
    return json{{"messages", {{{"role", "user"}, {"content", "question " + std::to_string(i)}},
                              {{"role", "assistant"}, {"content", "answer " + std::to_string(i)}}}}}
        .dump();
}

hy3::DataConfig configFor(const fs::path& file) {
    hy3::DataConfig c;
    c.inputs.push_back({file, "auto", "train"});
    c.tokenizerDir = byteTokenizer();
    c.seqLen = 64;
    return c;
}

struct Docs : hy3::DocumentSource {
    std::vector<std::vector<int32_t>> tokens;
    std::vector<std::vector<uint8_t>> masks;
    int64_t length(int64_t d) const override { return static_cast<int64_t>(tokens[static_cast<size_t>(d)].size()); }
    const int32_t* ids(int64_t d) const override { return tokens[static_cast<size_t>(d)].data(); }
    const uint8_t* mask(int64_t d) const override { return masks[static_cast<size_t>(d)].data(); }
};

}  // namespace

class TestData : public QObject {
    Q_OBJECT
private slots:
    void recordFormats_data() {
        QTest::addColumn<QString>("line");
        QTest::addColumn<QString>("format");
        QTest::addColumn<QString>("expected");  // the messages as JSON, or the text
        QTest::newRow("messages") << R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "reasoning_content": "think"}]})"
                                  << "messages" << R"([{"content":"hi","role":"user"},{"content":"yo","reasoning_content":"think","role":"assistant"}])";
        QTest::newRow("sharegpt") << R"({"system": "be brief", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]})"
                                  << "sharegpt" << R"([{"content":"be brief","role":"system"},{"content":"hi","role":"user"},{"content":"yo","role":"assistant"}])";
        QTest::newRow("alpaca") << R"({"instruction": "Sum", "input": "2 3", "output": "5"})" << "alpaca"
                                << R"([{"content":"Sum\n\n2 3","role":"user"},{"content":"5","role":"assistant"}])";
        QTest::newRow("prompt/completion") << R"({"prompt": "2+2=", "completion": "4"})" << "prompt_completion"
                                           << R"([{"content":"2+2=","role":"user"},{"content":"4","role":"assistant"}])";
        QTest::newRow("text") << R"({"text": "plain text"})" << "text" << "plain text";
    }

    void recordFormats() {
        QFETCH(QString, line);
        QFETCH(QString, format);
        QFETCH(QString, expected);
        const json record = json::parse(line.toStdString());
        const auto detected = hy3::detectRecordFormat(record);
        QVERIFY(detected);
        QCOMPARE(QString(hy3::recordFormatName(*detected)), format);
        const hy3::Record r = hy3::parseRecord(record, *detected);
        QCOMPARE(QString::fromStdString(r.isText ? r.text : r.messages.dump()), expected);
    }

    void badRecords_data() {
        QTest::addColumn<QString>("line");
        QTest::addColumn<QString>("reason");
        QTest::newRow("wrong role") << R"({"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]})" << "unknown role \"robot\"";
        QTest::newRow("empty reply") << R"({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "  "}]})" << "empty assistant reply";
        QTest::newRow("no reply") << R"({"messages": [{"role": "user", "content": "x"}]})" << "no assistant reply";
        QTest::newRow("content not string") << R"({"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "y"}]})" << "content is missing or not a string";
        QTest::newRow("sharegpt speaker") << R"({"conversations": [{"from": "alien", "value": "x"}]})" << "unknown speaker \"alien\"";
        QTest::newRow("alpaca output") << R"({"instruction": "x", "output": 3})" << "\"output\" is not a string";
    }

    void badRecords() {
        QFETCH(QString, line);
        QFETCH(QString, reason);
        const json record = json::parse(line.toStdString());
        try {
            hy3::parseRecord(record, *hy3::detectRecordFormat(record));
            QFAIL("expected a rejection");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains(reason), e.what());
        }
    }

    // tokenizer.json's vocabulary and merges are read straight into the tokenizer's tables: key
    // order and either merge form ("a b" or [a, b]) give the same tokenizer.
    void tokenizerTablesDoNotDependOnLayout() {
        const fs::path file = qwenTokenizer() / "tokenizer.json";
        json doc = json::parse(hy3::readTextFile(file, hy3::kMaxTokenizerFileBytes));
        for (json& merge : doc["model"]["merges"]) {
            if (merge.is_string()) {
                const std::string m = merge.get<std::string>();
                merge = json::array({m.substr(0, m.find(' ')), m.substr(m.find(' ') + 1)});
            } else {
                merge = merge[0].get<std::string>() + " " + merge[1].get<std::string>();
            }
        }
        const auto original = hy3::Tokenizer::load(qwenTokenizer());
        // dump() writes keys sorted: "merges" now comes before "vocab".
        const auto rewritten = hy3::Tokenizer::fromText(doc.dump(), json::object(), "rewritten.json");
        const std::string text = "Hello, wörld! 12345 — 你好，世界 🙂 <|im_start|>user\nnaïve café<|im_end|>";
        QCOMPARE(rewritten->encode(text), original->encode(text));
        QVERIFY(original->encode(text).size() < text.size() / 2);  // merges applied, not bytes
        QCOMPARE(rewritten->vocabSize(), original->vocabSize());
        QCOMPARE(rewritten->tokenText(original->tokenId("Hello")), std::string("Hello"));
    }

    void malformedTokenizerJsonNamesTheField_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("expected");
        QTest::newRow("id not a number") << R"({"vocab": {"a": "x"}})" << "x.json: model.vocab.a: expected an integer id";
        QTest::newRow("negative id") << R"({"vocab": {"a": -1}})" << "model.vocab.a: negative token id";
        QTest::newRow("huge id") << R"({"vocab": {"a": 99999999999}})" << "model.vocab.a: id 99999999999 is beyond the largest supported";
        QTest::newRow("nested vocab") << R"({"vocab": {"a": {"b": 1}}})" << "model.vocab.a: expected an integer id";
        QTest::newRow("merge a number") << R"({"vocab": {"a": 0}, "merges": [5]})" << "model.merges[0]: expected \"a b\" or [a, b]";
        QTest::newRow("merge without space") << R"({"vocab": {"a": 0}, "merges": ["a b", "ab"]})" << "model.merges[1]: expected \"a b\"";
        QTest::newRow("merge of three") << R"({"vocab": {"a": 0}, "merges": [["a", "b", "c"]]})" << "model.merges[0]: expected";
        QTest::newRow("no vocab") << R"({"merges": []})" << "x.json: model.vocab: missing or not an object";
        QTest::newRow("cut short") << R"({"vocab": {"a": 1)" << "x.json: not valid JSON";
    }

    void malformedTokenizerJsonNamesTheField() {
        QFETCH(QString, model);
        QFETCH(QString, expected);
        const std::string text = R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": )" + model.toStdString() + "}";
        try {
            hy3::Tokenizer::fromText(text, json::object(), "x.json");
            QFAIL("loaded a malformed tokenizer.json");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains(expected), e.what());
        }
    }

    void builtinHy3MaskCoversAssistantReplies() {
        const auto tokenizer = hy3::Tokenizer::load(byteTokenizer());
        const auto f = hy3::ChatFormat::builtinHy3(tokenizer, "low");
        const json messages = json::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"},
            {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"},
            {"role": "assistant", "content": "A2", "reasoning_content": "R2"}])");
        QCOMPARE(QString::fromStdString(f.render(messages, json(), false)),
                 QString::fromUtf8("<｜hy_begin▁of▁sentence｜>S<｜reasoning_mode｜>reasoning_effort:low<｜hy_User｜>Q1<｜hy_Assistant｜><think></think>A1"
                                   "<｜hy_eos｜><｜hy_User｜>Q2<｜hy_Assistant｜><think>R2</think>A2<｜hy_eos｜>"));
        const auto all = f.tokenize(messages, json(), hy3::LossMask::Assistant);
        QCOMPARE(QString::fromStdString(decodeMasked(f, all)),
                 QString::fromUtf8("<think></think>A1<｜hy_eos｜><think>R2</think>A2<｜hy_eos｜>"));
        const auto last = f.tokenize(messages, json(), hy3::LossMask::LastAssistant);
        QCOMPARE(QString::fromStdString(decodeMasked(f, last)), QString::fromUtf8("<think>R2</think>A2<｜hy_eos｜>"));
        const auto every = f.tokenize(messages, json(), hy3::LossMask::All);
        QCOMPARE(std::accumulate(every.mask.begin(), every.mask.end(), size_t(0)), every.ids.size());
        QCOMPARE(all.ids, every.ids);  // the policy changes the mask only
    }

    void jinjaTemplateMaskStopsAtEos() {
        const auto tokenizer = hy3::Tokenizer::load(qwenTokenizer());
        const auto f = hy3::ChatFormat::choose(tokenizer, "auto", "no_think");
        QVERIFY(!f.isBuiltin());
        const json messages = json::parse(R"([{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
            {"role": "user", "content": "3+3?"}, {"role": "assistant", "content": "6", "reasoning_content": "add"}])");
        const auto t = f.tokenize(messages, json(), hy3::LossMask::Assistant);
        // Earlier turns keep no thinking (the template drops it); the last one does; the newline
        // after each <|im_end|> is not trained.
        QCOMPARE(QString::fromStdString(decodeMasked(f, t)), QString("4<|im_end|><think>\nadd\n</think>\n\n6<|im_end|>"));
        // The ids are those of tokenizing the whole rendered text at once.
        QCOMPARE(t.ids, tokenizer->encode(f.render(messages, json(), false)));
    }

    void unsupportedTemplateSyntaxNamesTheLine() {
        const auto tokenizer = hy3::Tokenizer::load(byteTokenizer());
        try {
            hy3::ChatFormat::jinja(tokenizer, "line one\n{% for m in messages %}\n{% call foo() %}{% endcall %}\n{% endfor %}", "t.jinja");
            QFAIL("expected a parse error");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains("t.jinja:3") && QString(e.what()).contains("{% call %} is not supported"), e.what());
        }
        const auto f = hy3::ChatFormat::jinja(tokenizer, "{{ messages | frobnicate }}", "u.jinja");
        try {
            f.render(json::array({{{"role", "user"}, {"content", "x"}}}), json(), false);
            QFAIL("expected a render error");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains("u.jinja:1") && QString(e.what()).contains("filter 'frobnicate'"), e.what());
        }
        const auto raising = hy3::ChatFormat::jinja(tokenizer, "{% if messages|length > 1 %}{{ raise_exception('only one message') }}{% endif %}", "r.jinja");
        QVERIFY_THROWS_EXCEPTION(hy3::Error, raising.render(json::array({1, 2}), json(), false));
    }

    void templateFeatures() {
        const auto tokenizer = hy3::Tokenizer::load(byteTokenizer());
        const char* source = R"({%- macro greet(name, punct='!') -%}Hi {{ name|upper }}{{ punct }}{%- endmacro -%}
{%- set ns = namespace(count=0) -%}
{%- for m in messages if m.role != 'system' -%}
{%- set ns.count = ns.count + 1 -%}
{{ loop.index }}/{{ loop.length }}:{{ m.content[::-1] }}{{ ',' if not loop.last else '' }}
{%- endfor %} {{ ns.count }} {{ greet('bob') }} {{ greet('x', punct='?') }} {{ [1, 2.5, 'a', none, true] | tojson }}
{{ 'a,b,,c'.split(',') | length }} {{ 7 // 2 }} {{ 7 / 2 }} {{ -3 % 2 }} {{ 'abc' ~ 1 }} {{ {'k': 'v'}.get('k') }} {{ {'k': 1}.items() | list | tojson }}
{%- if messages is defined and extra is not defined and messages[0].content is string %} ok{% endif %})";
        const auto f = hy3::ChatFormat::jinja(tokenizer, source, "features.jinja");
        const json messages = json::parse(R"([{"role": "system", "content": "sys"}, {"role": "user", "content": "abc"}, {"role": "assistant", "content": "xyz"}])");
        QCOMPARE(QString::fromStdString(f.render(messages, json(), false)),
                 QString("1/2:cba,2/2:zyx 2 Hi BOB! Hi X? [1, 2.5, \"a\", null, true]\n4 3 3.5 1 abc1 v [[\"k\", 1]] ok"));
    }

    void packingPlacesEveryDocumentOnce() {
        std::vector<int64_t> lengths;
        std::mt19937 random(3);
        for (int i = 0; i < 3000; ++i) lengths.push_back(1 + static_cast<int64_t>(random() % 200));
        lengths.push_back(256);  // exactly a row
        const auto rows = hy3::packBestFit(lengths, 256, 9);
        std::vector<int> placed(lengths.size(), 0);
        int64_t tokens = 0;
        for (const auto& row : rows) {
            int64_t used = 0;
            for (int64_t d : row.docs) {
                placed[static_cast<size_t>(d)]++;
                used += lengths[static_cast<size_t>(d)];
            }
            QCOMPARE(used, row.tokens);
            QVERIFY(used <= 256);
            tokens += used;
        }
        QVERIFY(std::all_of(placed.begin(), placed.end(), [](int n) { return n == 1; }));
        const double efficiency = static_cast<double>(tokens) / (static_cast<double>(rows.size()) * 256);
        QVERIFY2(efficiency > 0.97, qPrintable(QString::number(efficiency)));
        // Same seed, same plan; another seed, another order.
        QCOMPARE(hy3::packBestFit(lengths, 256, 9).front().docs, rows.front().docs);
        QVERIFY(hy3::packBestFit(lengths, 256, 10).front().docs != rows.front().docs);
        QVERIFY_THROWS_EXCEPTION(hy3::Error, hy3::packBestFit({300}, 256, 1));
    }

    void rowsRestartPositionsAndMaskLabels() {
        Docs docs;
        docs.tokens = {{10, 11, 12}, {20, 21}, {30, 31, 32, 33}};
        docs.masks = {{0, 1, 1}, {0, 1}, {1, 1, 0, 1}};
        const std::vector<hy3::PackedRow> rows = {{{0, 1}, 5}, {{2}, 4}};
        const hy3::RowBatch b = hy3::assembleRows(docs, rows, 0, 2, 6, 99);
        QCOMPARE(b.ids, (std::vector<int64_t>{10, 11, 12, 20, 21, 99, 30, 31, 32, 33, 99, 99}));
        QCOMPARE(b.labels, (std::vector<int64_t>{-100, 11, 12, -100, 21, -100, 30, 31, -100, 33, -100, -100}));
        QCOMPARE(b.positions, (std::vector<int64_t>{0, 1, 2, 0, 1, 0, 0, 1, 2, 3, 0, 0}));
        QCOMPARE(b.attention, (std::vector<int64_t>{1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0}));
        QCOMPARE(b.cuSeqlens, (std::vector<int64_t>{0, 3, 5, 6, 10, 12}));
        QCOMPARE(b.realTokens, 9);
    }

    void prepareCountsSkipsAndSplits() {
        QTemporaryDir dir;
        const fs::path file = dir.path().toStdString() + "/mixed.jsonl";
        std::vector<std::string> lines;
        for (int i = 0; i < 200; ++i) lines.push_back(conversationLine(i));
        lines[10] = "{not json";
        lines[20] = R"({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": ""}]})";
        lines[30] = std::string("{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\"}]}");
        lines[40] = "";  // blank lines are not records
        lines[50] = json{{"messages", {{{"role", "user"}, {"content", std::string(500, 'q')}}, {{"role", "assistant"}, {"content", "a"}}}}}.dump();
        writeLines(file, lines);
        hy3::DataConfig c = configFor(file);
        c.validationFraction = 0.2;
        c.seed = 5;
        const auto r = hy3::prepareData(c, dir.path().toStdString() + "/cache");
        QVERIFY(!r.reused);
        QCOMPARE(r.stats.recordsSkipped, 3);
        QCOMPARE(r.stats.recordsRead, 196);
        QCOMPARE(static_cast<int>(r.stats.skipped.size()), 3);
        QCOMPARE(r.stats.skipped[0].line, 11);
        QVERIFY(QString::fromStdString(r.stats.skipped[0].reason).contains("not valid JSON"));
        QCOMPARE(r.stats.skipped[1].line, 21);
        QVERIFY(QString::fromStdString(r.stats.skipped[1].reason).contains("empty assistant reply"));
        QCOMPARE(r.stats.skipped[2].line, 31);
        QVERIFY(QString::fromStdString(r.stats.skipped[2].reason).contains("invalid UTF-8"));
        QCOMPARE(r.stats.train.truncated + r.stats.validation.truncated, 1);  // the long record, cut to 64
        const int64_t validation = r.stats.validation.documents;
        QVERIFY2(validation > 20 && validation < 60, qPrintable(QString::number(validation)));
        QCOMPARE(r.stats.train.documents + validation, 196);
        const auto cache = hy3::TokenCache::open(r.cacheDir);
        QCOMPARE(cache.train().documents(), r.stats.train.documents);
        for (int64_t d = 0; d < cache.train().documents(); ++d) QVERIFY(cache.train().length(d) <= 64);

        // Dropping instead of cutting, from the same file: a new cache, one record dropped.
        c.truncation = "drop";
        const auto dropped = hy3::prepareData(c, dir.path().toStdString() + "/cache");
        QVERIFY(dropped.cacheDir != r.cacheDir);
        QCOMPARE(dropped.stats.train.dropped + dropped.stats.validation.dropped, 1);
    }

    // The preview reads the same records as prepare: the same lines skipped for the same reasons,
    // the same split, the same tokens.
    void browserAgreesWithPrepare() {
        QTemporaryDir dir;
        const fs::path file = dir.path().toStdString() + "/mixed.jsonl";
        std::vector<std::string> lines;
        for (int i = 0; i < 50; ++i) lines.push_back(conversationLine(i));
        lines[3] = "{not json";
        lines[7] = "";
        lines[9] = R"({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": ""}]})";
        writeLines(file, lines);
        hy3::DataConfig c = configFor(file);
        c.validationFraction = 0.3;
        const auto prepared = hy3::prepareData(c, dir.path().toStdString() + "/cache");
        const hy3::RecordBrowser browser(c);
        QCOMPARE(browser.size(), int64_t(49));  // the blank line is not a record
        int64_t skipped = 0, validation = 0, lossTokens = 0;
        for (int64_t i = 0; i < browser.size(); ++i) {
            const hy3::BrowsedRecord r = browser.record(i);
            if (!r.error.empty()) {
                QCOMPARE(r.line, prepared.stats.skipped[static_cast<size_t>(skipped)].line);
                QCOMPARE(r.error, prepared.stats.skipped[static_cast<size_t>(skipped)].reason);
                ++skipped;
                continue;
            }
            validation += r.split == "validation";
            if (r.split == "train") lossTokens += std::accumulate(r.mask.begin(), r.mask.end(), int64_t(0));
            QCOMPARE(r.tokens.size(), r.ids.size());
        }
        QCOMPARE(skipped, prepared.stats.recordsSkipped);
        QCOMPARE(validation, prepared.stats.validation.documents);
        QCOMPARE(lossTokens, prepared.stats.train.lossTokens);
        // Search (wrapping around) and lookup by line.
        QCOMPARE(browser.find("question 42", 0).value_or(-1), browser.indexOf(file.string(), 43).value_or(-2));
        QCOMPARE(browser.find("question 1\"", 20).value_or(-1), int64_t(1));
        QVERIFY(!browser.find("no such text", 0).has_value());
        QVERIFY(!browser.indexOf(file.string(), 8).has_value());  // the blank line
        QVERIFY(hy3::findPreparedData(c, dir.path().toStdString() + "/cache").has_value());
    }

    void cancelledPrepareLeavesNothing() {
        QTemporaryDir dir;
        const fs::path file = dir.path().toStdString() + "/d.jsonl";
        writeLines(file, {conversationLine(1), conversationLine(2)});
        const std::atomic<bool> cancel{true};
        QVERIFY_THROWS_EXCEPTION(hy3::PrepareCancelled, hy3::prepareData(configFor(file), dir.path().toStdString() + "/cache", {}, 1, &cancel));
        QVERIFY(fs::is_empty(dir.path().toStdString() + "/cache"));
        QVERIFY(!hy3::findPreparedData(configFor(file), dir.path().toStdString() + "/cache").has_value());
    }

    void cacheIsReusedUntilAnInputChanges() {
        QTemporaryDir dir;
        const fs::path file = dir.path().toStdString() + "/d.jsonl";
        writeLines(file, {conversationLine(1), conversationLine(2)});
        const fs::path root = dir.path().toStdString() + "/cache";
        hy3::DataConfig c = configFor(file);
        const auto first = hy3::prepareData(c, root);
        const auto again = hy3::prepareData(c, root);
        QVERIFY(again.reused);
        QCOMPARE(again.cacheDir, first.cacheDir);
        QCOMPARE(again.stats.recordsRead, 2);
        // Settings, template and inputs are all part of the key.
        c.seqLen = 128;
        QVERIFY(hy3::prepareData(c, root).cacheDir != first.cacheDir);
        c.seqLen = 64;
        c.lossMask = "all";
        QVERIFY(hy3::prepareData(c, root).cacheDir != first.cacheDir);
        c.lossMask = "assistant";
        writeLines(file, {conversationLine(1), conversationLine(2), conversationLine(3)});  // a new size
        const auto changed = hy3::prepareData(c, root);
        QVERIFY(!changed.reused);
        QCOMPARE(changed.stats.recordsRead, 3);
    }

    void fileWhereEveryLineFails() {
        QTemporaryDir dir;
        const fs::path file = dir.path().toStdString() + "/bad.jsonl";
        writeLines(file, {R"({"messages": []})", R"({"messages": "x"})"});
        try {
            hy3::prepareData(configFor(file), dir.path().toStdString() + "/cache");
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains("bad.jsonl: every line failed") && QString(e.what()).contains("line 1"), e.what());
        }
        QVERIFY(fs::is_empty(dir.path().toStdString() + "/cache"));  // no half-written cache left
    }

    // Each reader stops at its bound with an error naming the file (and the line), holding no more
    // than the bound: a line past it in a JSONL file, a JSON file past its size.
    void oversizedInputsStopAtTheirBounds() {
        QTemporaryDir dir;
        const fs::path small = dir.path().toStdString() + "/small.jsonl";
        {
            std::ofstream out(small, std::ios::binary);
            out << "ok\n" << std::string(5000, 'a');  // the last line has no newline
        }
        std::ifstream in(small, std::ios::binary);
        std::string line;
        QVERIFY(hy3::readLine(in, line, small.string(), 1, 1000));
        QCOMPARE(line, std::string("ok"));
        try {
            hy3::readLine(in, line, small.string(), 2, 1000);
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains("small.jsonl:2: line longer than 1000 B"), e.what());
        }
        try {
            hy3::readTextFile(small, 100);
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains("small.jsonl: larger than 100 B"), e.what());
        }
        // The real bound in prepare: a record line of more than 64 MiB.
        const fs::path big = dir.path().toStdString() + "/big.jsonl";
        {
            std::ofstream out(big, std::ios::binary);
            out << conversationLine(0) << "\n{\"text\": \"" << std::string(hy3::kMaxLineBytes, 'x') << "\"}\n";
        }
        try {
            hy3::prepareData(configFor(big), dir.path().toStdString() + "/cache");
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains("big.jsonl:2: line longer than 64.0 MiB"), e.what());
        }
        QVERIFY(fs::is_empty(dir.path().toStdString() + "/cache"));
    }

    void validationByFileAndFolders() {
        QTemporaryDir dir;
        fs::create_directories(dir.path().toStdString() + "/train");
        writeLines(dir.path().toStdString() + "/train/a.jsonl", {conversationLine(1), conversationLine(2)});
        writeLines(dir.path().toStdString() + "/train/b.jsonl", {R"({"text": "some plain text"})"});
        writeLines(dir.path().toStdString() + "/val.jsonl", {conversationLine(3)});
        hy3::DataConfig c;
        c.inputs = {{dir.path().toStdString() + "/train", "auto", "train"}, {dir.path().toStdString() + "/val.jsonl", "auto", "validation"}};
        c.tokenizerDir = byteTokenizer();
        c.seqLen = 64;
        const auto r = hy3::prepareData(c, dir.path().toStdString() + "/cache");
        QCOMPARE(r.stats.train.documents, 3);
        QCOMPARE(r.stats.validation.documents, 1);
        QCOMPARE(r.stats.formats.size(), size_t(3));
        QCOMPARE(r.stats.formats[1].second, std::string("text"));
        // A text record trains on every token, eos included.
        const auto cache = hy3::TokenCache::open(r.cacheDir);
        bool sawAllMasked = false;
        for (int64_t d = 0; d < cache.train().documents(); ++d) {
            const auto* m = cache.train().mask(d);
            sawAllMasked = sawAllMasked || std::all_of(m, m + cache.train().length(d), [](uint8_t x) { return x == 1; });
        }
        QVERIFY(sawAllMasked);
    }
};

QTEST_GUILESS_MAIN(TestData)
#include "tst_data.moc"
