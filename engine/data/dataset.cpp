#include "data/dataset.h"

#include "data/records.h"
#include "data/utf8.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/sha256.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <chrono>
#include <fstream>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace hy3 {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// nlohmann counts lines within the one record it was given ("parse error at line 1, column 51:
// ..."), which reads as the file's line 1: say the column of the record's line instead.
std::string withinTheLine(const std::string& message) {
    const std::string prefix = "at line 1, column ";
    const size_t at = message.find(prefix);
    const size_t colon = at == std::string::npos ? std::string::npos : message.find(": ", at);
    if (colon == std::string::npos) return ": " + message;
    const size_t digits = at + prefix.size();
    return " at column " + message.substr(digits, colon - digits) + " of the line: " + message.substr(colon + 2);
}

constexpr size_t kChunkLines = 2048;

// Test hook for tst_prepare_large: HY3_TEST_HOLD_PREPARE=PATH stops a prepare after its first chunk
// (its temporary folder written to, its first progress line out) until PATH exists, so the test
// kills it or changes its input at a known point instead of racing a prepare that may already have
// finished. Unset in every real run, where it costs one getenv.
void holdIfAskedByTest() {
    static const char* const release = std::getenv("HY3_TEST_HOLD_PREPARE");
    static bool held = false;
    if (!release || held) return;
    held = true;
    while (!fs::exists(release)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}
constexpr int kHistogramBins = 16;
constexpr size_t kSkippedInStats = 200;

// A uniform number in [0, 1) from (seed, file, line): the validation split without state.
double splitDraw(uint64_t seed, int file, int64_t line) {
    uint64_t x = seed ^ (static_cast<uint64_t>(file) * 0x9E3779B97F4A7C15ull) ^ (static_cast<uint64_t>(line) * 0xBF58476D1CE4E5B9ull);
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return static_cast<double>(x >> 11) / 9007199254740992.0;
}

std::string fileSha(const fs::path& p) {
    std::error_code ec;
    return fs::exists(p, ec) ? sha256OfFile(p) : "";
}

void runParallel(size_t items, int threads, const std::function<void(size_t)>& fn) {
    if (threads <= 1 || items < 2) {
        for (size_t i = 0; i < items; ++i) fn(i);
        return;
    }
    std::vector<std::thread> pool;
    std::atomic<size_t> next{0};
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (size_t i = next++; i < items; i = next++) fn(i);
        });
    for (auto& th : pool) th.join();
}

json splitJson(const SplitStats& s) {
    return {{"documents", s.documents}, {"tokens", s.tokens},     {"loss_tokens", s.lossTokens},
            {"truncated", s.truncated}, {"dropped", s.dropped},   {"longest", s.longest},
            {"histogram", s.histogram}, {"rows", s.rows},         {"packing_efficiency", s.packingEfficiency}};
}

SplitStats splitFromJson(const json& j) {
    SplitStats s;
    s.documents = j.value("documents", int64_t(0));
    s.tokens = j.value("tokens", int64_t(0));
    s.lossTokens = j.value("loss_tokens", int64_t(0));
    s.truncated = j.value("truncated", int64_t(0));
    s.dropped = j.value("dropped", int64_t(0));
    s.longest = j.value("longest", int64_t(0));
    s.histogram = j.value("histogram", std::vector<int64_t>{});
    s.rows = j.value("rows", int64_t(0));
    s.packingEfficiency = j.value("packing_efficiency", 0.0);
    return s;
}

}  // namespace

std::vector<DatasetFile> listDatasetFiles(const DataConfig& c) {
    std::vector<DatasetFile> files;
    for (const DatasetInput& in : c.inputs) {
        const auto format = parseRecordFormat(in.format, in.path.string() + ": format");
        std::error_code ec;
        std::vector<fs::path> paths;
        if (fs::is_directory(in.path, ec)) {
            for (const auto& entry : fs::directory_iterator(in.path, ec))
                if (entry.is_regular_file() && (entry.path().extension() == ".jsonl" || entry.path().extension() == ".json"))
                    paths.push_back(entry.path());
            std::sort(paths.begin(), paths.end());
            if (paths.empty()) fail(in.path.string(), "folder holds no .jsonl files");
        } else if (fs::is_regular_file(in.path, ec)) {
            paths.push_back(in.path);
        } else {
            fail(in.path.string(), "dataset file not found");
        }
        for (const fs::path& p : paths) files.push_back({p, format, in.split == "validation", static_cast<int>(files.size())});
    }
    if (files.empty()) fail("datasets", "the project lists no dataset files");
    return files;
}

LineOutcome tokenizeRecordLine(const std::string& line, std::optional<RecordFormat> format, const ChatFormat& chat, LossMask mask) {
    LineOutcome o;
    size_t bad = 0;
    if (!utf8::valid(line, &bad)) {
        o.reason = "invalid UTF-8 at byte " + std::to_string(bad);
        return o;
    }
    if (!format) {
        o.reason = "cannot tell the record format";
        return o;
    }
    json value;
    try {
        value = json::parse(line);
    } catch (const json::exception& e) {  // syntax, or a number too large for a double
        o.reason = "not valid JSON" + withinTheLine(e.what());
        return o;
    }
    try {
        const Record r = parseRecord(value, *format);
        o.tokens = r.isText ? chat.tokenizeText(r.text) : chat.tokenize(r.messages, r.tools, mask, r.reasoningEffort);
        if (o.tokens.ids.empty()) throw Error("renders to no tokens");
        if (std::none_of(o.tokens.mask.begin(), o.tokens.mask.end(), [](uint8_t m) { return m != 0; }))
            throw Error("no token counts in the loss");
        o.ok = true;
    } catch (const std::exception& e) {
        o.reason = e.what();
    }
    return o;
}

bool inValidationSplit(const DataConfig& c, const DatasetFile& f, int64_t line) {
    return f.validation || (c.validationFraction > 0 && splitDraw(c.seed, f.index, line) < c.validationFraction);
}

json DataStats::toJson() const {
    json skippedLines = json::array();
    for (const SkippedLine& s : skipped) skippedLines.push_back({{"file", s.file}, {"line", s.line}, {"reason", s.reason}});
    json formatList = json::array();
    for (const auto& [file, format] : formats) formatList.push_back({{"file", file}, {"format", format}});
    return {{"records_read", recordsRead}, {"records_skipped", recordsSkipped}, {"lines_read", linesRead},
            {"bytes_read", bytesRead},     {"seconds", seconds},                {"seq_len", seqLen},
            {"histogram_width", histogramWidth}, {"train", splitJson(train)},   {"validation", splitJson(validation)},
            {"skipped", skippedLines},     {"formats", formatList},             {"chat_format", chatFormat}};
}

DataStats DataStats::fromJson(const json& j) {
    DataStats s;
    s.recordsRead = j.value("records_read", int64_t(0));
    s.recordsSkipped = j.value("records_skipped", int64_t(0));
    s.linesRead = j.value("lines_read", int64_t(0));
    s.bytesRead = j.value("bytes_read", uint64_t(0));
    s.seconds = j.value("seconds", 0.0);
    s.seqLen = j.value("seq_len", int64_t(0));
    s.histogramWidth = j.value("histogram_width", int64_t(0));
    s.train = splitFromJson(j.value("train", json::object()));
    s.validation = splitFromJson(j.value("validation", json::object()));
    for (const json& k : j.value("skipped", json::array()))
        s.skipped.push_back({k.value("file", ""), k.value("line", int64_t(0)), k.value("reason", "")});
    for (const json& f : j.value("formats", json::array())) s.formats.emplace_back(f.value("file", ""), f.value("format", ""));
    s.chatFormat = j.value("chat_format", "");
    return s;
}

std::string dataCacheKey(const DataConfig& c) {
    json key = json::object();
    json inputs = json::array();
    for (const DatasetFile& f : listDatasetFiles(c)) {
        std::error_code ec;
        const auto time = fs::last_write_time(f.path, ec).time_since_epoch().count();
        inputs.push_back({{"path", fs::absolute(f.path).string()},
                          {"size", fs::file_size(f.path, ec)},
                          {"mtime", static_cast<int64_t>(time)},
                          {"format", f.format ? recordFormatName(*f.format) : "auto"},
                          {"validation", f.validation}});
    }
    key["inputs"] = inputs;
    key["tokenizer"] = fileSha(c.tokenizerDir / "tokenizer.json");
    key["tokenizer_config"] = fileSha(c.tokenizerDir / "tokenizer_config.json");
    key["chat_template_file"] = fileSha(c.tokenizerDir / "chat_template.jinja");
    key["template"] = c.chatTemplate == "auto" || c.chatTemplate == "hy3" ? c.chatTemplate : fileSha(c.chatTemplate);
    key["settings"] = {{"effort", c.reasoningEffort}, {"mask", c.lossMask}, {"truncation", c.truncation}, {"seq_len", c.seqLen},
                       {"validation_fraction", c.validationFraction}, {"seed", c.seed}, {"packing", c.packing}, {"version", 1}};
    Sha256 hash;
    const std::string text = key.dump();
    hash.update(text.data(), text.size());
    return hash.hex().substr(0, 20);
}

std::vector<PackedRow> planRows(const CacheSplit& split, int64_t seqLen, bool packing, uint64_t seed) {
    const std::vector<int64_t> lengths = split.lengths();
    return packing ? packBestFit(lengths, seqLen, seed) : onePerRow(lengths, seed);
}

std::optional<PrepareResult> findPreparedData(const DataConfig& c, const fs::path& cacheRoot) {
    PrepareResult result;
    result.cacheDir = cacheRoot / dataCacheKey(c);
    std::error_code ec;
    if (!fs::exists(result.cacheDir / "manifest.json", ec)) return std::nullopt;
    result.reused = true;
    result.stats = DataStats::fromJson(TokenCache::open(result.cacheDir).manifest().value("stats", json::object()));
    return result;
}

namespace {

struct FileState {
    uintmax_t size = 0;
    fs::file_time_type modified{};
};

std::vector<FileState> fileStates(const std::vector<DatasetFile>& files) {
    std::vector<FileState> out;
    std::error_code ec;
    for (const DatasetFile& f : files) out.push_back({fs::file_size(f.path, ec), fs::last_write_time(f.path, ec)});
    return out;
}

// ".tmp-KEY-PID" folders of prepares whose process is gone (killed, or its machine restarted).
void removeAbandonedCaches(const fs::path& cacheRoot) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(cacheRoot, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(".tmp-", 0) != 0) continue;
        const std::string pid = name.substr(name.rfind('-') + 1);
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
        if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
    }
}

}  // namespace

PrepareResult prepareData(const DataConfig& c, const fs::path& cacheRoot, const std::function<void(const PrepareProgress&)>& progress,
                          int threads, const std::atomic<bool>* cancel) {
    if (c.seqLen < 2) fail("training.seq_len", "must be at least 2");
    if (c.truncation != "cut" && c.truncation != "drop") fail("data.truncation", "expected cut or drop, got \"" + c.truncation + "\"");
    if (auto reused = findPreparedData(c, cacheRoot)) return *reused;  // unchanged inputs: reuse at once
    const std::string key = dataCacheKey(c);
    PrepareResult result;
    result.cacheDir = cacheRoot / key;
    std::error_code ec;

    const auto started = std::chrono::steady_clock::now();
    const std::vector<DatasetFile> files = listDatasetFiles(c);
    const auto tokenizer = Tokenizer::load(c.tokenizerDir);
    const ChatFormat chat = ChatFormat::choose(tokenizer, c.chatTemplate, c.reasoningEffort);
    const LossMask mask = parseLossMask(c.lossMask);
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

    // Written under a temporary name and renamed when complete: a crash leaves no half cache, and
    // what a killed prepare left is removed here.
    fs::create_directories(cacheRoot);
    removeAbandonedCaches(cacheRoot);
    const fs::path temp = cacheRoot / (".tmp-" + key + "-" + std::to_string(::getpid()));
    fs::remove_all(temp, ec);
    fs::create_directories(temp);
    // Whatever ends this before the rename below (a bad line, a full disk, a cancel) takes the
    // half-written cache with it; declared before the writers, so their files are closed first.
    struct RemoveOnExit {
        const fs::path& dir;
        ~RemoveOnExit() {
            std::error_code ignored;
            fs::remove_all(dir, ignored);
        }
    } removeOnExit{temp};
    CacheSplitWriter trainOut(temp, "train"), validationOut(temp, "validation");
    std::ofstream skippedOut(temp / "skipped.jsonl");

    DataStats stats;
    stats.seqLen = c.seqLen;
    stats.histogramWidth = std::max<int64_t>(1, (c.seqLen + kHistogramBins - 1) / kHistogramBins);
    stats.train.histogram.assign(kHistogramBins + 1, 0);
    stats.validation.histogram.assign(kHistogramBins + 1, 0);
    stats.chatFormat = chat.description();
    // Sizes and modification times as reading begins: the progress total, and what must still hold
    // when reading ends.
    const std::vector<FileState> before = fileStates(files);
    PrepareProgress p;
    for (const FileState& f : before) p.bytesTotal += f.size;

    for (const DatasetFile& f : files) {
        std::ifstream in(f.path, std::ios::binary);
        if (!in) fail(f.path.string(), "cannot open");
        std::optional<RecordFormat> format = f.format;
        int64_t lineNumber = 0, good = 0, bad = 0, firstBadLine = 0;
        std::string firstReason;
        std::vector<std::string> lines;
        std::vector<int64_t> numbers;
        while (in) {
            lines.clear();
            numbers.clear();
            std::string line;
            while (lines.size() < kChunkLines && readLine(in, line, f.path.string(), lineNumber + 1)) {
                ++lineNumber;
                p.bytesRead += line.size() + 1;
                if (!line.empty() && line.back() == '\r') line.pop_back();
                if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines are not records
                if (!format) format = detectRecordFormat(json::parse(line, nullptr, false));
                lines.push_back(std::move(line));
                numbers.push_back(lineNumber);
            }
            if (lines.empty()) break;
            if (cancel && cancel->load()) {
                skippedOut.close();
                fs::remove_all(temp, ec);  // the writers' open files go with it
                throw PrepareCancelled();
            }
            if (!format) fail(f.path.string() + ":" + std::to_string(numbers.front()),
                              "cannot tell the record format (no messages, conversations, instruction/output, prompt/completion or text)");
            std::vector<LineOutcome> outcomes(lines.size());
            runParallel(lines.size(), threads, [&](size_t i) { outcomes[i] = tokenizeRecordLine(lines[i], format, chat, mask); });
            for (size_t i = 0; i < lines.size(); ++i) {
                stats.linesRead++;
                LineOutcome& o = outcomes[i];
                if (!o.ok) {
                    ++bad;
                    ++stats.recordsSkipped;
                    if (firstReason.empty()) firstReason = o.reason, firstBadLine = numbers[i];
                    const SkippedLine s{f.path.string(), numbers[i], o.reason};
                    if (stats.skipped.size() < kSkippedInStats) stats.skipped.push_back(s);
                    skippedOut << json{{"file", s.file}, {"line", s.line}, {"reason", s.reason}}.dump() << "\n";
                    continue;
                }
                ++good;
                ++stats.recordsRead;
                const bool validation = inValidationSplit(c, f, numbers[i]);
                SplitStats& split = validation ? stats.validation : stats.train;
                const int64_t length = static_cast<int64_t>(o.tokens.ids.size());
                split.longest = std::max(split.longest, length);
                split.histogram[static_cast<size_t>(std::min<int64_t>(length > c.seqLen ? kHistogramBins : (length - 1) / stats.histogramWidth,
                                                                      kHistogramBins))]++;
                if (length > c.seqLen) {
                    if (c.truncation == "drop") {
                        ++split.dropped;
                        continue;
                    }
                    ++split.truncated;
                    o.tokens.ids.resize(static_cast<size_t>(c.seqLen));
                    o.tokens.mask.resize(static_cast<size_t>(c.seqLen));
                }
                ++split.documents;
                split.tokens += static_cast<int64_t>(o.tokens.ids.size());
                for (uint8_t m : o.tokens.mask) split.lossTokens += m;
                (validation ? validationOut : trainOut).add(o.tokens.ids, o.tokens.mask);
            }
            p.records = stats.recordsRead;
            if (progress) progress(p);
            holdIfAskedByTest();
        }
        if (good == 0 && bad > 0) {
            fs::remove_all(temp, ec);
            fail(f.path.string(), "every line failed (" + std::to_string(bad) + " lines; line " +
                                      std::to_string(firstBadLine) + ": " + firstReason + ")");
        }
        stats.formats.emplace_back(f.path.string(), format ? recordFormatName(*format) : "none");
    }
    trainOut.finish();
    validationOut.finish();
    skippedOut.close();
    if (stats.recordsRead == 0) {
        fs::remove_all(temp, ec);
        fail("datasets", "no records found in the dataset files");
    }
    stats.bytesRead = p.bytesRead;

    // A file that changed while it was read (still being written, or replaced) gave records from
    // two versions: no cache is published from it.
    const std::vector<FileState> after = fileStates(files);
    for (size_t i = 0; i < files.size(); ++i)
        if (after[i].size != before[i].size || after[i].modified != before[i].modified) {
            fs::remove_all(temp, ec);
            fail(files[i].path.string(), "changed while prepare read it (" + std::to_string(before[i].size) + " bytes when it began, " +
                                             std::to_string(after[i].size) + " now); no token cache was published. Run again once the file is complete");
        }

    // Rows per epoch and packing efficiency, from the same plan the trainer uses.
    auto fillRows = [&](const char* split, SplitStats& s) {
        if (s.documents == 0) return;
        const CacheSplit view(temp, split);
        const auto rows = planRows(view, c.seqLen, c.packing, c.seed);
        s.rows = static_cast<int64_t>(rows.size());
        s.packingEfficiency = static_cast<double>(s.tokens) / (static_cast<double>(s.rows) * static_cast<double>(c.seqLen));
    };
    fillRows("train", stats.train);
    fillRows("validation", stats.validation);
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    const json manifest = {{"key", key}, {"tokenizer", c.tokenizerDir.string()}, {"stats", stats.toJson()}, {"version", 1}};
    writeFileAtomic(temp / "manifest.json", manifest.dump(2) + "\n");
    syncDirectory(temp);
    fs::remove_all(result.cacheDir, ec);
    fs::rename(temp, result.cacheDir);
    syncDirectory(cacheRoot);
    result.stats = stats;
    return result;
}

}  // namespace hy3
