#include "api/data_tools.h"

#include "data/chat_format.h"
#include "data/project_data.h"
#include "data/sample_corpus.h"
#include "util/format.h"
#include "util/atomic_file.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#ifndef HY3_SOURCE_DIR
#define HY3_SOURCE_DIR "."
#endif

namespace hy3::api {

std::shared_ptr<const Tokenizer> loadTokenizer(const std::string& dir) { return Tokenizer::load(dir); }

Conversation readConversation(const std::string& file) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(readTextFile(file));
    } catch (const nlohmann::json::parse_error& e) {
        fail(file, std::string("not valid JSON (") + e.what() + ")");
    }
    Conversation c;
    if (doc.is_array()) {
        c.messages = doc;
    } else if (doc.is_object() && doc.contains("messages") && doc["messages"].is_array()) {
        c.messages = doc["messages"];
        if (doc.contains("tools")) c.tools = doc["tools"];
    } else {
        fail(file, "expected an array of messages or {\"messages\": [...]}");
    }
    return c;
}

namespace {
ChatFormat formatFor(const RenderRequest& r) {
    return ChatFormat::choose(Tokenizer::load(r.tokenizer), r.templateChoice, r.reasoningEffort);
}
}  // namespace

std::string renderConversation(const RenderRequest& r, const Conversation& c) {
    return formatFor(r).render(c.messages, c.tools, r.addGenerationPrompt, r.extra);
}

RenderedTokens renderTokens(const RenderRequest& r, const Conversation& c, const std::string& lossMask) {
    const ChatFormat format = formatFor(r);
    const TokenizedConversation t = format.tokenize(c.messages, c.tools, parseLossMask(lossMask));
    RenderedTokens out{t.ids, t.mask, {}};
    for (int32_t id : t.ids) out.tokens.push_back(format.tokenizer().tokenText(id));
    return out;
}

void renderJsonLines(const RenderRequest& r, const std::string& file, std::ostream& out) {
    const ChatFormat format = formatFor(r);
    std::ifstream in(file);
    if (!in) fail(file, "cannot open");
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
        const std::string where = file + ":" + std::to_string(number);
        nlohmann::json c;
        try {
            c = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
            fail(where, std::string("not valid JSON (") + e.what() + ")");
        }
        if (!c.is_object() || !c.contains("messages")) fail(where, "expected {\"messages\": [...]}");
        out << nlohmann::json(format.render(c["messages"], c.value("tools", nlohmann::json()), c.value("add_generation_prompt", false),
                                            c.value("extra", nlohmann::json::object())))
                   .dump()
            << "\n";
    }
}

void tokenizeJsonLines(const Tokenizer& tokenizer, const std::string& file, std::ostream& out) {
    std::ifstream in(file);
    if (!in) fail(file, "cannot open");
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
        nlohmann::json value;
        try {
            value = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
            fail(file + ":" + std::to_string(number), std::string("not valid JSON (") + e.what() + ")");
        }
        if (!value.is_string()) fail(file + ":" + std::to_string(number), "expected a JSON string");
        out << nlohmann::json(tokenizer.encode(value.get<std::string>())).dump() << "\n";
    }
}

PrepareResult prepareProject(const std::string& projectFile, const std::vector<std::string>& overrides,
                             const std::function<void(const PrepareProgress&)>& progress, int threads) {
    const Project project = loadProject(projectFile, overrides);
    return prepareData(dataConfigFor(project), dataCacheRoot(project), progress, threads);
}

PrepareResult prepareProjectFile(const ProjectFile& file, const std::function<void(const PrepareProgress&)>& progress,
                                 const std::atomic<bool>* cancel) {
    const Project project = file.resolve();
    return prepareData(dataConfigFor(project), dataCacheRoot(project), progress, 0, cancel);
}

std::optional<PrepareResult> findPreparedProjectData(const ProjectFile& file) {
    const Project project = file.resolve();
    return findPreparedData(dataConfigFor(project), dataCacheRoot(project));
}

std::unique_ptr<RecordBrowser> openRecordBrowser(const ProjectFile& file, const std::atomic<bool>* cancel) {
    return std::make_unique<RecordBrowser>(dataConfigFor(file.resolve()), cancel);
}

std::string formatDataStats(const PrepareResult& r) {
    const DataStats& s = r.stats;
    std::ostringstream o;
    o << "token cache   " << r.cacheDir.string() << (r.reused ? " (reused: inputs unchanged)" : "") << "\n";
    o << "chat format   " << s.chatFormat << "\n";
    for (const auto& [file, format] : s.formats) o << "file          " << file << " (" << format << ")\n";
    o << "records       " << groupDigits(s.recordsRead) << " read, " << groupDigits(s.recordsSkipped) << " skipped\n";
    auto split = [&](const char* name, const SplitStats& x) {
        if (x.documents == 0 && x.dropped == 0) return;
        const double lossShare = x.tokens > 0 ? 100.0 * static_cast<double>(x.lossTokens) / static_cast<double>(x.tokens) : 0;
        o << name << "  " << groupDigits(x.documents) << " documents, " << groupDigits(x.tokens) << " tokens, "
          << fixed(lossShare, 1) << "% in the loss, longest " << x.longest << "\n";
        o << "              truncated " << x.truncated << ", dropped " << x.dropped << " (seq_len " << s.seqLen << ")\n";
        o << "              " << groupDigits(x.rows) << " rows per epoch, packing efficiency " << fixed(100 * x.packingEfficiency, 1) << "%\n";
        o << "              lengths:";
        for (size_t b = 0; b < x.histogram.size(); ++b) {
            if (x.histogram[b] == 0) continue;
            const bool over = b + 1 == x.histogram.size();
            o << (over ? " >" + std::to_string(s.seqLen) : " <=" + std::to_string(std::min<int64_t>(s.seqLen, (static_cast<int64_t>(b) + 1) * s.histogramWidth)))
              << ":" << x.histogram[b];
        }
        o << "\n";
    };
    split("train       ", s.train);
    split("validation  ", s.validation);
    if (!r.reused && s.seconds > 0)
        o << "throughput    " << fixed(static_cast<double>(s.bytesRead) / s.seconds / 1e6, 1) << " MB/s, "
          << fixed(static_cast<double>(s.recordsRead + s.recordsSkipped) / s.seconds, 0) << " records/s (" << fixed(s.seconds, 1) << " s)\n";
    for (const SkippedLine& k : s.skipped) o << "skipped       " << k.file << ":" << k.line << ": " << k.reason << "\n";
    if (s.recordsSkipped > static_cast<int64_t>(s.skipped.size()))
        o << "              (all " << s.recordsSkipped << " in " << (r.cacheDir / "skipped.jsonl").string() << ")\n";
    return o.str();
}

std::string referenceDir() {
    if (const char* env = std::getenv("HY3_REFERENCE_DIR"); env && *env) return env;
    return std::string(HY3_SOURCE_DIR) + "/tests/reference";
}

namespace {

// Runs a command and returns its standard output; throws naming the command when it fails.
std::string runCommand(const std::string& command) {
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) fail(command, "cannot start");
    std::string out;
    std::array<char, 4096> buffer{};
    size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    if (status != 0) fail(command, "failed: " + out.substr(0, 400));
    return out;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace

TokenizerBenchResult benchTokenizer(const std::string& tokenizerDir, const std::string& corpusFile, int repeats) {
    const std::string ref = referenceDir();
    const std::string script = ref + "/reference.mjs";
    if (!std::filesystem::exists(ref + "/node_modules"))
        fail(ref, "the JavaScript reference is not installed (run: npm ci --prefix " + ref + ")");
    TokenizerBenchResult r;
    r.repeats = std::max(1, repeats);
    r.tokenizer = tokenizerDir;
    if (r.tokenizer.empty()) {
        r.tokenizer = runCommand("node " + quote(script) + " qwen3-dir");
        r.tokenizer.erase(r.tokenizer.find_last_not_of("\n") + 1);
    }
    const auto tokenizer = Tokenizer::load(r.tokenizer);

    std::vector<std::string> texts;
    std::string corpus = corpusFile;
    if (corpus.empty()) {
        std::vector<std::string> specials;
        for (const char* t : {"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>"}) specials.emplace_back(t);
        texts = generateVariedCorpus(7, 20000, specials);
        corpus = (std::filesystem::temp_directory_path() / ("hy3-bench-corpus-" + std::to_string(::getpid()) + ".jsonl")).string();
        std::ofstream out(corpus);
        for (const std::string& t : texts) out << nlohmann::json(t).dump() << "\n";
    } else {
        std::ifstream in(corpus);
        if (!in) fail(corpus, "cannot open");
        std::string line;
        for (int64_t n = 1; std::getline(in, line); ++n) {
            const auto v = nlohmann::json::parse(line, nullptr, false);
            if (!v.is_string()) fail(corpus + ":" + std::to_string(n), "expected a JSON string");
            texts.push_back(v.get<std::string>());
        }
    }
    r.lines = static_cast<int64_t>(texts.size());
    for (const std::string& t : texts) r.bytes += t.size();

    for (const std::string& t : texts) r.tokens += static_cast<int64_t>(tokenizer->encode(t).size());  // warm-up
    const auto start = std::chrono::steady_clock::now();
    std::vector<int32_t> ids;
    for (int rep = 0; rep < r.repeats; ++rep)
        for (const std::string& t : texts) {
            ids.clear();
            tokenizer->encode(t, ids, nullptr);
        }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.engineMbPerS = static_cast<double>(r.bytes) * r.repeats / seconds / 1e6;

    const auto reference = nlohmann::json::parse(runCommand("node " + quote(script) + " bench " + quote(r.tokenizer) + " " + quote(corpus) +
                                                            " " + std::to_string(r.repeats)));
    r.referenceMbPerS = reference.value("mb_per_s", 0.0);
    r.speedup = r.referenceMbPerS > 0 ? r.engineMbPerS / r.referenceMbPerS : 0;
    if (corpusFile.empty()) std::filesystem::remove(corpus);
    return r;
}

std::string formatTokenizerBench(const TokenizerBenchResult& r) {
    std::ostringstream o;
    o << "tokenizer   " << r.tokenizer << "\n";
    o << "corpus      " << r.lines << " lines, " << shortBytes(static_cast<double>(r.bytes)) << ", " << r.tokens
      << " tokens per pass, " << r.repeats << " passes\n";
    o << "engine      " << fixed(r.engineMbPerS, 2) << " MB/s (one thread)\n";
    o << "reference   " << fixed(r.referenceMbPerS, 2) << " MB/s (@huggingface/tokenizers, Node.js)\n";
    o << "speed-up    " << fixed(r.speedup, 1) << "x\n";
    return o.str();
}

std::string tokenizerBenchJson(const TokenizerBenchResult& r) {
    return nlohmann::json{{"tokenizer", r.tokenizer},   {"lines", r.lines},
                          {"bytes", r.bytes},           {"tokens", r.tokens},
                          {"repeats", r.repeats},       {"engine_mb_per_s", r.engineMbPerS},
                          {"reference_mb_per_s", r.referenceMbPerS}, {"speedup", r.speedup}}
        .dump(2);
}

}  // namespace hy3::api
