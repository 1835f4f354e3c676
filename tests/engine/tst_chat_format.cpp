// The Hy3 conversation format, pinned: exact rendered text, token ids and loss mask for one turn,
// multi-turn with history, system or none, each reasoning effort, reasoning content, tools, tool
// calls and tool results, in both token families (Hy3-preview and the release's `:opensource`);
// the family detected from the tokenizer; a model's own Hy3 template labelled by Tencent's rule.
// The rules and their sources are in the README ("The Hy3 conversation format").
#include "data/chat_format.h"
#include "data/dataset.h"
#include "data/records.h"
#include "test_support.h"
#include "util/error.h"
#include "util/json_fields.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path byteTokenizer() { return hy3::test::sourceDir().toStdString() + "/resources/tokenizers/hy3-byte"; }

void writeJson(const fs::path& file, const json& doc) {
    std::ofstream out(file, std::ios::binary);
    out << doc.dump(1);
}

// The bundled byte-level tokenizer with every Hy3-preview token renamed into `family`, and
// optionally a chat template in its tokenizer_config.json.
fs::path tokenizerWith(const fs::path& dir, const hy3::Hy3TokenFamily& family, const std::string& chatTemplate = "") {
    const hy3::Hy3TokenFamily& preview = hy3::hy3PreviewTokens();
    std::map<std::string, std::string> rename;
    const auto from = preview.coreTokens(), to = family.coreTokens();
    for (size_t i = 0; i < from.size(); ++i) rename[from[i]] = to[i];
    const auto fromTools = preview.toolTokens(), toTools = family.toolTokens();
    for (size_t i = 0; i < fromTools.size(); ++i) rename[fromTools[i]] = toTools[i];
    json tok = hy3::readJsonFile(byteTokenizer() / "tokenizer.json");
    json vocab = json::object();
    for (auto& [key, id] : tok["model"]["vocab"].items()) vocab[rename.count(key) ? rename[key] : key] = id;
    tok["model"]["vocab"] = vocab;
    for (json& t : tok["added_tokens"])
        if (rename.count(t["content"])) t["content"] = rename[t["content"]];
    fs::create_directories(dir);
    writeJson(dir / "tokenizer.json", tok);
    json config = {{"bos_token", family.bos}, {"eos_token", family.eos}, {"pad_token", "<｜hy_▁pad▁｜>"}};
    if (!chatTemplate.empty()) config["chat_template"] = chatTemplate;
    writeJson(dir / "tokenizer_config.json", config);
    return dir;
}

// The expected stream, written piece by piece: special tokens and plain text (one id per byte in
// the bundled tokenizer), each trained or not.
struct Stream {
    const hy3::Tokenizer& tokenizer;
    std::string text;
    std::vector<int32_t> ids;
    std::vector<uint8_t> mask;
    Stream& token(const std::string& t, bool trained = false) {
        const int32_t id = tokenizer.tokenId(t);
        if (id < 0) qFatal("no token %s", t.c_str());
        text += t;
        ids.push_back(id);
        mask.push_back(trained);
        return *this;
    }
    Stream& plain(const std::string& s, bool trained = false) {
        text += s;
        for (unsigned char c : s) {
            ids.push_back(static_cast<int32_t>(c));
            mask.push_back(trained);
        }
        return *this;
    }
    // The marker after the system text: <｜reasoning_mode｜>reasoning_effort:E.
    Stream& marker(const hy3::Hy3TokenFamily& f, const std::string& effort) { return token(f.reasoningMode).plain("reasoning_effort:" + effort); }
    // One assistant reply, trained from the token after the Assistant token through eos.
    Stream& reply(const hy3::Hy3TokenFamily& f, const std::string& reasoning, const std::string& answer) {
        token(f.assistant).token(f.thinkOpen, true).plain(reasoning, true).token(f.thinkClose, true).plain(answer, true);
        return token(f.eos, true);
    }
};

// The two tokenizers every case uses, made once in initTestCase().
std::unique_ptr<QTemporaryDir> gTemp;
std::shared_ptr<const hy3::Tokenizer> gPreview, gOpensource;

std::shared_ptr<const hy3::Tokenizer> sharedOf(const QString& family) { return family == "preview" ? gPreview : gOpensource; }
const hy3::Tokenizer& tokenizerOf(const QString& family) { return *sharedOf(family); }
const hy3::Hy3TokenFamily& familyOf(const QString& family) {
    return family == "preview" ? hy3::hy3PreviewTokens() : hy3::hy3OpensourceTokens();
}
fs::path tempPath() { return fs::path(gTemp->path().toStdString()); }

void compareStream(const hy3::ChatFormat& f, const json& messages, const json& tools, const Stream& expected, const std::string& effort = "") {
    QCOMPARE(QString::fromStdString(f.render(messages, tools, false, json::object(), effort)), QString::fromStdString(expected.text));
    const hy3::TokenizedConversation t = f.tokenize(messages, tools, hy3::LossMask::Assistant, effort);
    QCOMPARE(t.ids, expected.ids);
    QCOMPARE(t.mask, expected.mask);
}

}  // namespace

class TstChatFormat : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        gTemp = std::make_unique<QTemporaryDir>();
        QVERIFY(gTemp->isValid());
        gPreview = hy3::Tokenizer::load(byteTokenizer());
        gOpensource = hy3::Tokenizer::load(tokenizerWith(tempPath() / "opensource", hy3::hy3OpensourceTokens()));
    }

    // The spellings, byte for byte, as Hy3-preview's tokenizer_config.json and ms-swift's hy_v3
    // template (suffix ':opensource') write them.
    void tokenSpellings() {
        const hy3::Hy3TokenFamily& p = hy3::hy3PreviewTokens();
        const hy3::Hy3TokenFamily& o = hy3::hy3OpensourceTokens();
        QCOMPARE(QString::fromStdString(p.bos), QString::fromUtf8("<｜hy_begin▁of▁sentence｜>"));
        QCOMPARE(QString::fromStdString(p.reasoningMode), QString::fromUtf8("<｜reasoning_mode｜>"));
        QCOMPARE(QString::fromStdString(o.bos), QString::fromUtf8("<｜hy_begin_of_sentence:opensource｜>"));
        QCOMPARE(QString::fromStdString(o.user), QString::fromUtf8("<｜hy_User:opensource｜>"));
        QCOMPARE(QString::fromStdString(o.assistant), QString::fromUtf8("<｜hy_Assistant:opensource｜>"));
        QCOMPARE(QString::fromStdString(o.eos), QString::fromUtf8("<｜hy_eos:opensource｜>"));
        QCOMPARE(QString::fromStdString(o.reasoningMode), QString::fromUtf8("<｜reasoning_mode:opensource｜>"));
        QCOMPARE(QString::fromStdString(o.thinkOpen), QString("<think:opensource>"));
        QCOMPARE(QString::fromStdString(o.thinkClose), QString("</think:opensource>"));
        QCOMPARE(QString::fromStdString(o.toolCalls), QString("<tool_calls:opensource>"));
        QCOMPARE(QString::fromStdString(o.toolResponseEnd), QString("</tool_response:opensource>"));
    }

    void familyIsDetectedFromTheTokenizer() {
        QCOMPARE(QString::fromStdString(hy3::detectHy3Family(*gPreview)->name), QString("Hy3-preview"));
        QCOMPARE(QString::fromStdString(hy3::detectHy3Family(*gOpensource)->name), QString(":opensource"));
    }

    void families_data() {
        QTest::addColumn<QString>("family");
        QTest::newRow("preview") << "preview";
        QTest::newRow("opensource") << "opensource";
    }

    void oneTurnNoSystem_data() { families_data(); }
    void oneTurnNoSystem() {
        QFETCH(QString, family);
        const auto& f = familyOf(family);
        const auto format = hy3::ChatFormat::builtinHy3(sharedOf(family), "no_think");
        const json messages = json::parse(R"([{"role": "user", "content": "1+1=?"}, {"role": "assistant", "content": "2"}])");
        Stream s{tokenizerOf(family)};
        s.token(f.bos).marker(f, "no_think").token(f.user).plain("1+1=?").reply(f, "", "2");
        compareStream(format, messages, json(), s);
    }

    // History turns keep their reasoning in training (is_training=True); every system text goes
    // first, concatenated; the marker follows it.
    void multiTurnWithSystemAndReasoning_data() { families_data(); }
    void multiTurnWithSystemAndReasoning() {
        QFETCH(QString, family);
        const auto& f = familyOf(family);
        const auto format = hy3::ChatFormat::builtinHy3(sharedOf(family), "low");
        const json messages = json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q1"},
            {"role": "assistant", "content": "A1", "reasoning_content": "R1"}, {"role": "user", "content": "Q2"},
            {"role": "assistant", "content": "A2"}])");
        Stream s{tokenizerOf(family)};
        s.token(f.bos).plain("Be brief.").marker(f, "low").token(f.user).plain("Q1").reply(f, "R1", "A1");
        s.token(f.user).plain("Q2").reply(f, "", "A2");
        compareStream(format, messages, json(), s);

        // Only the last reply under last_assistant.
        const auto last = format.tokenize(messages, json(), hy3::LossMask::LastAssistant);
        Stream l{tokenizerOf(family)};
        l.token(f.bos).plain("Be brief.").marker(f, "low").token(f.user).plain("Q1");
        l.token(f.assistant).token(f.thinkOpen).plain("R1").token(f.thinkClose).plain("A1").token(f.eos);
        l.token(f.user).plain("Q2").reply(f, "", "A2");
        QCOMPARE(last.mask, l.mask);
    }

    // The effort: the format's default, or the record's own ("reasoning_effort" in Tencent's data).
    void eachEffort_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("effort");
        for (const char* family : {"preview", "opensource"})
            for (const char* effort : {"no_think", "low", "high"}) QTest::newRow(qPrintable(QString("%1 %2").arg(family, effort))) << family << effort;
    }
    void eachEffort() {
        QFETCH(QString, family);
        QFETCH(QString, effort);
        const auto& f = familyOf(family);
        const json messages = json::parse(R"([{"role": "system", "content": ""}, {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "yo", "reasoning_content": "greet"}])");
        Stream s{tokenizerOf(family)};
        s.token(f.bos).marker(f, effort.toStdString()).token(f.user).plain("hi").reply(f, "greet", "yo");
        compareStream(hy3::ChatFormat::builtinHy3(sharedOf(family), effort.toStdString()), messages, json(), s);
        // The same through a record's own effort over a different default.
        compareStream(hy3::ChatFormat::builtinHy3(sharedOf(family), effort == "high" ? "low" : "high"), messages, json(), s,
                      effort.toStdString());
    }

    void recordsCarryTheirEffort() {
        const json line = json::parse(R"({"reasoning_effort": "high", "messages": [{"role": "user", "content": "q"},
            {"role": "assistant", "content": "a"}]})");
        QCOMPARE(QString::fromStdString(hy3::parseRecord(line, hy3::RecordFormat::Messages).reasoningEffort), QString("high"));
        const auto format = hy3::ChatFormat::builtinHy3(gPreview, "no_think");
        const hy3::LineOutcome o = hy3::tokenizeRecordLine(line.dump(), hy3::RecordFormat::Messages, format, hy3::LossMask::Assistant);
        QVERIFY(o.ok);
        QVERIFY(gPreview->decode(o.tokens.ids).find("reasoning_effort:high") != std::string::npos);
        json bad = line;
        bad["reasoning_effort"] = "medium";
        try {
            hy3::parseRecord(bad, hy3::RecordFormat::Messages);
            QFAIL("expected a rejection");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains("reasoning_effort") && QString(e.what()).contains("medium"), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(hy3::Error, hy3::ChatFormat::builtinHy3(gPreview, "medium"));
    }

    // Tools: the instructions after the system text with the marker after them; a call as one
    // key/value pair per line (strings raw, others JSON); results in one <tool_responses> block
    // that the next Assistant token follows directly. Calls are trained, results are not.
    void toolsCallsAndResults_data() { families_data(); }
    void toolsCallsAndResults() {
        QFETCH(QString, family);
        const auto& f = familyOf(family);
        const auto format = hy3::ChatFormat::builtinHy3(sharedOf(family), "no_think");
        const json tools = json::parse(R"([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}])");
        json messages = json::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "Paris?"},
            {"role": "assistant", "content": "", "reasoning_content": "look up",
             "tool_calls": [{"type": "function", "function": {"name": "get_weather"}}]},
            {"role": "tool"}, {"role": "tool", "content": "sunny"}, {"role": "assistant", "content": "21 and sunny."}])");
        // Arguments as a JSON string, as OpenAI-style data carries them.
        messages[2]["tool_calls"][0]["function"]["arguments"] = json{{"city", "Paris"}, {"days", 2}}.dump();
        messages[3]["content"] = "{\"temp\": 21}";
        Stream s{tokenizerOf(family)};
        s.token(f.bos).plain("S\n\n# Tools\n\nYou may call one or more functions to assist with the user query.");
        s.plain("\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n");
        s.plain(R"({"function": {"name": "get_weather", "parameters": {"type": "object"}}, "type": "function"})");
        s.plain("\n</tools>\n\nFor function call returns, you should first print ").token(f.toolCalls).plain("\n");
        s.plain("For each function call, you should return object like:\n");
        s.token(f.toolCall).plain("{function-name}").token(f.toolSep).plain("\n");
        s.token(f.argKey).plain("{arg-key-1}").token(f.argKeyEnd).plain("\n").token(f.argValue).plain("{arg-value-1}").token(f.argValueEnd).plain("\n");
        s.token(f.argKey).plain("{arg-key-2}").token(f.argKeyEnd).plain("\n").token(f.argValue).plain("{arg-value-2}").token(f.argValueEnd).plain("\n");
        s.plain("...\n").token(f.toolCallEnd).plain("\nAt the end of function call returns, you should print ").token(f.toolCallsEnd);
        s.marker(f, "no_think").token(f.user).plain("Paris?");
        s.token(f.assistant).token(f.thinkOpen, true).plain("look up", true).token(f.thinkClose, true);
        s.token(f.toolCalls, true).plain("\n", true).token(f.toolCall, true).plain("get_weather", true).token(f.toolSep, true).plain("\n", true);
        s.token(f.argKey, true).plain("city", true).token(f.argKeyEnd, true).plain("\n", true);
        s.token(f.argValue, true).plain("Paris", true).token(f.argValueEnd, true).plain("\n", true);
        s.token(f.argKey, true).plain("days", true).token(f.argKeyEnd, true).plain("\n", true);
        s.token(f.argValue, true).plain("2", true).token(f.argValueEnd, true).plain("\n", true);
        s.token(f.toolCallEnd, true).plain("\n", true).token(f.toolCallsEnd, true).token(f.eos, true);
        s.token(f.toolResponses).plain("\n").token(f.toolResponse).plain("\n{\"temp\": 21}\n").token(f.toolResponseEnd).plain("\n");
        s.token(f.toolResponse).plain("\nsunny\n").token(f.toolResponseEnd).plain("\n").token(f.toolResponsesEnd);
        s.reply(f, "", "21 and sunny.");
        compareStream(format, messages, tools, s);
    }

    // With tools and no system text the instructions start right after bos.
    void toolsWithoutSystemText() {
        const auto& f = hy3::hy3PreviewTokens();
        const auto format = hy3::ChatFormat::builtinHy3(gPreview, "high");
        const json tools = json::parse(R"([{"name": "f"}])");
        const std::string text = format.render(json::parse(R"([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}])"),
                                               tools, false);
        QVERIFY(text.rfind(f.bos + "# Tools\n\nYou may call", 0) == 0);
        QVERIFY(text.find(f.toolCallsEnd + f.reasoningMode + "reasoning_effort:high" + f.user + "x") != std::string::npos);
    }

    // At inference, reasoning before the last user turn is dropped and the generation prompt
    // opens the think block (closed at once for no_think).
    void inferencePrompt_data() { families_data(); }
    void inferencePrompt() {
        QFETCH(QString, family);
        const auto& f = familyOf(family);
        const json messages = json::parse(R"([{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1", "reasoning_content": "R1"},
            {"role": "user", "content": "Q2"}])");
        const std::string history = f.bos + f.reasoningMode + "reasoning_effort:%E" + f.user + "Q1" + f.assistant + f.thinkOpen + f.thinkClose +
                                    "A1" + f.eos + f.user + "Q2" + f.assistant + f.thinkOpen;
        auto expected = [&](const std::string& effort, const std::string& tail) {
            std::string s = history;
            s.replace(s.find("%E"), 2, effort);
            return QString::fromStdString(s + tail);
        };
        QCOMPARE(QString::fromStdString(hy3::ChatFormat::builtinHy3(sharedOf(family), "no_think").render(messages, json(), true)),
                 expected("no_think", f.thinkClose));
        QCOMPARE(QString::fromStdString(hy3::ChatFormat::builtinHy3(sharedOf(family), "high").render(messages, json(), true)),
                 expected("high", ""));
    }

    void tokenizerWithNeitherFamilyIsAnError() {
        const fs::path dir = tempPath() / "plain";
        fs::create_directories(dir);
        json tok = hy3::readJsonFile(byteTokenizer() / "tokenizer.json");
        tok["added_tokens"] = json::array();
        json vocab = json::object();
        for (auto& [key, id] : tok["model"]["vocab"].items())
            if (id.get<int>() < 256) vocab[key] = id;  // the bytes only
        tok["model"]["vocab"] = vocab;
        writeJson(dir / "tokenizer.json", tok);
        try {
            hy3::ChatFormat::choose(hy3::Tokenizer::load(dir), "auto", "no_think");
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.contains(QString::fromUtf8("<｜hy_User｜>")) && what.contains(QString::fromUtf8("<｜hy_User:opensource｜>")), e.what());
        }
        // A tokenizer without the tool tokens can still render conversations without tools, and
        // says which tokens a conversation with tools needs.
        const fs::path noTools = tempPath() / "no-tools";
        fs::create_directories(noTools);
        json core = hy3::readJsonFile(byteTokenizer() / "tokenizer.json");
        json kept = json::array();
        for (const json& t : core["added_tokens"])
            if (t["id"].get<int>() < 264) kept.push_back(t);
        core["added_tokens"] = kept;
        json coreVocab = json::object();
        for (auto& [key, id] : core["model"]["vocab"].items())
            if (id.get<int>() < 264) coreVocab[key] = id;
        core["model"]["vocab"] = coreVocab;
        writeJson(noTools / "tokenizer.json", core);
        const auto format = hy3::ChatFormat::builtinHy3(hy3::Tokenizer::load(noTools), "no_think");
        const json messages = json::parse(R"([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}])");
        QVERIFY(!format.render(messages, json(), false).empty());
        try {
            format.render(messages, json::parse(R"([{"name": "f"}])"), false);
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains("<tool_calls>"), e.what());
        }
    }

    // A model directory's own template wins over the built-in format; with a Hy3 tokenizer its
    // replies are labelled by Tencent's rule (after the Assistant token through eos, the think
    // block included), and it gets is_training and reasoning_effort as Tencent's train.py passes.
    void modelsOwnHy3TemplateWins() {
        const auto& f = hy3::hy3OpensourceTokens();
        const std::string source =
            "{{- bos_token -}}{%- for m in messages -%}{%- if m.role == 'system' -%}{{ m.content }}{%- endif -%}{%- endfor -%}"
            "{{- '<｜reasoning_mode:opensource｜>reasoning_effort:' + reasoning_effort -}}"
            "{%- for m in messages -%}{%- if m.role == 'user' -%}{{ '<｜hy_User:opensource｜>' + m.content }}"
            "{%- elif m.role == 'assistant' -%}{{ '<｜hy_Assistant:opensource｜><think:opensource>' + (m.reasoning_content or '') + "
            "'</think:opensource>' + m.content }}{%- if not loop.last or is_training -%}{{ eos_token }}{%- endif -%}{%- endif -%}"
            "{%- endfor -%}{%- if add_generation_prompt -%}{{ '<｜hy_Assistant:opensource｜><think:opensource></think:opensource>' }}{%- endif -%}";
        const fs::path dir = tokenizerWith(tempPath() / "own-template", f, source);
        const auto tokenizer = hy3::Tokenizer::load(dir);
        const auto format = hy3::ChatFormat::choose(tokenizer, "auto", "low");
        QVERIFY(!format.isBuiltin());
        const json messages = json::parse(R"([{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A", "reasoning_content": "R"}])");
        Stream s{*tokenizer};
        s.token(f.bos).marker(f, "low").token(f.user).plain("Q").reply(f, "R", "A");
        compareStream(format, messages, json(), s);
        // The built-in format, asked for by name, renders the same stream.
        compareStream(hy3::ChatFormat::choose(tokenizer, "hy3", "low"), messages, json(), s);
    }
};

QTEST_GUILESS_MAIN(TstChatFormat)
#include "tst_chat_format.moc"
