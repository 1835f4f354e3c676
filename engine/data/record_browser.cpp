#include "data/record_browser.h"

#include "util/atomic_file.h"
#include "util/error.h"

#include <algorithm>
#include <fstream>
#include <limits>

namespace hy3 {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool isBlank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

}  // namespace

RecordBrowser::RecordBrowser(DataConfig config, const std::atomic<bool>* cancel) : config_(std::move(config)) {
    files_ = listDatasetFiles(config_);
    tokenizer_ = Tokenizer::load(config_.tokenizerDir);
    for (const DatasetFile& f : files_) {
        std::ifstream in(f.path, std::ios::binary);
        if (!in) fail(f.path.string(), "cannot open");
        std::optional<RecordFormat> format = f.format;
        std::string line;
        uint64_t offset = 0;
        for (int64_t number = 1; hy3::readLine(in, line, f.path.string(), number); ++number) {
            const uint64_t start = offset;
            offset += line.size() + 1;
            if (isBlank(line)) continue;  // blank lines are not records (as in prepare)
            if (!format) format = detectRecordFormat(json::parse(line, nullptr, false));
            if (number > std::numeric_limits<int32_t>::max()) fail(f.path.string(), "more than 2^31 lines");
            records_.push_back({start, static_cast<int32_t>(f.index), static_cast<int32_t>(number)});
            if ((records_.size() & 0xFFFF) == 0 && cancel && cancel->load()) throw PrepareCancelled();
        }
        formats_.push_back(format);
    }
}

std::vector<std::string> RecordBrowser::files() const {
    std::vector<std::string> out;
    for (const DatasetFile& f : files_) out.push_back(f.path.string());
    return out;
}

std::string RecordBrowser::readLine(const Entry& e) const {
    std::ifstream in(files_[static_cast<size_t>(e.file)].path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(e.offset));
    std::string line;
    hy3::readLine(in, line, files_[static_cast<size_t>(e.file)].path.string(), e.line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

const ChatFormat& RecordBrowser::chatFormat(const std::string& effort) const {
    const std::string key = effort.empty() ? config_.reasoningEffort : effort;
    auto& slot = chats_[key];
    if (!slot) slot = std::make_unique<ChatFormat>(ChatFormat::choose(tokenizer_, config_.chatTemplate, key));
    return *slot;
}

BrowsedRecord RecordBrowser::record(int64_t index, const std::string& reasoningEffort) const {
    if (index < 0 || index >= size()) fail("record", std::to_string(index + 1) + " is out of range (1 to " + std::to_string(size()) + ")");
    const Entry& e = records_[static_cast<size_t>(index)];
    const DatasetFile& f = files_[static_cast<size_t>(e.file)];
    BrowsedRecord r;
    r.index = index;
    r.file = f.path.string();
    r.line = e.line;
    r.raw = readLine(e);
    r.split = inValidationSplit(config_, f, e.line) ? "validation" : "train";
    r.seqLen = config_.seqLen;
    const auto& format = formats_[static_cast<size_t>(e.file)];
    r.format = format ? recordFormatName(*format) : "unknown";
    // The same function as prepare's: what fails here is what training skips.
    LineOutcome t;
    try {
        t = tokenizeRecordLine(r.raw, format, chatFormat(reasoningEffort), parseLossMask(config_.lossMask));
    } catch (const std::exception& err) {  // the chat template itself failed
        t.reason = err.what();
    }
    if (!t.ok) {
        r.error = t.reason;
        return r;
    }
    r.ids = std::move(t.tokens.ids);
    r.mask = std::move(t.tokens.mask);
    r.tokens.reserve(r.ids.size());
    r.pieces.reserve(r.ids.size());
    for (int32_t id : r.ids) {
        r.tokens.push_back(tokenizer_->tokenText(id));
        r.pieces.push_back(tokenizer_->decode({id}));
        r.special.push_back(tokenizer_->isSpecial(id) ? 1 : 0);
    }
    r.dropped = config_.truncation == "drop" && static_cast<int64_t>(r.ids.size()) > config_.seqLen;
    return r;
}

std::optional<int64_t> RecordBrowser::find(const std::string& text, int64_t from) const {
    if (text.empty() || records_.empty()) return std::nullopt;
    // Reads forward through the files from `from`, seeking only where blank lines sit between records.
    std::ifstream in;
    int32_t openFile = -1;
    std::string line;
    const int64_t n = size();
    for (int64_t step = 1; step <= n; ++step) {
        const int64_t k = ((from + step) % n + n) % n;
        const Entry& e = records_[static_cast<size_t>(k)];
        if (e.file != openFile || k == 0 || static_cast<uint64_t>(in.tellg()) != e.offset) {
            if (e.file != openFile) {
                in = std::ifstream(files_[static_cast<size_t>(e.file)].path, std::ios::binary);
                openFile = e.file;
            }
            in.clear();
            in.seekg(static_cast<std::streamoff>(e.offset));
        }
        if (!hy3::readLine(in, line, files_[static_cast<size_t>(e.file)].path.string(), e.line)) continue;
        if (line.find(text) != std::string::npos) return k;
    }
    return std::nullopt;
}

std::optional<int64_t> RecordBrowser::indexOf(const std::string& file, int64_t line) const {
    int32_t fileIndex = -1;
    for (const DatasetFile& f : files_)
        if (f.path.string() == file) fileIndex = f.index;
    if (fileIndex < 0) return std::nullopt;
    const auto it = std::lower_bound(records_.begin(), records_.end(), std::make_pair(fileIndex, line), [](const Entry& e, const std::pair<int32_t, int64_t>& key) {
        return e.file != key.first ? e.file < key.first : e.line < key.second;
    });
    if (it == records_.end() || it->file != fileIndex || it->line != line) return std::nullopt;
    return static_cast<int64_t>(it - records_.begin());
}

}  // namespace hy3
