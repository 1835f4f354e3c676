#pragma once
// Preparing a project's datasets: JSONL files (or folders of them) are read line by line, each
// record checked and converted, rendered with the chat template, tokenized with its loss mask,
// truncated or dropped at the sequence length, split into train and validation, and written to a
// token cache. Tokenization runs on every CPU; memory stays bounded (a chunk of lines at a time).
#include "data/chat_format.h"
#include "data/records.h"
#include "data/token_cache.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hy3 {

struct DatasetInput {
    std::filesystem::path path;  // a .jsonl file, or a folder (every *.jsonl and *.json in it)
    std::string format = "auto";
    std::string split = "train";  // train or validation
};

struct DataConfig {
    std::vector<DatasetInput> inputs;
    std::filesystem::path tokenizerDir;
    std::string chatTemplate = "auto";  // auto, hy3, or a Jinja file
    std::string reasoningEffort = "no_think";
    std::string lossMask = "assistant";
    std::string truncation = "cut";     // cut (keep the start) or drop
    int64_t seqLen = 4096;
    double validationFraction = 0.0;
    uint64_t seed = 0;
    bool packing = true;
};

struct SkippedLine {
    std::string file;
    int64_t line = 0;
    std::string reason;
};

struct SplitStats {
    int64_t documents = 0, tokens = 0, lossTokens = 0, truncated = 0, dropped = 0, longest = 0;
    std::vector<int64_t> histogram;  // lengths before truncation, bins of histogramWidth; the last bin: > seq_len
    int64_t rows = 0;                // rows per epoch (packed rows, or one per document when padding)
    double packingEfficiency = 0;    // real tokens / (rows x seq_len)
};

struct DataStats {
    int64_t recordsRead = 0, recordsSkipped = 0, linesRead = 0;
    uint64_t bytesRead = 0;
    double seconds = 0;
    int64_t seqLen = 0, histogramWidth = 0;
    SplitStats train, validation;
    std::vector<SkippedLine> skipped;  // the first 200; all of them are in skipped.jsonl
    std::vector<std::pair<std::string, std::string>> formats;  // file -> format used
    std::string chatFormat;

    nlohmann::json toJson() const;
    static DataStats fromJson(const nlohmann::json& j);
};

struct PrepareProgress {
    uint64_t bytesRead = 0, bytesTotal = 0;
    int64_t records = 0;
};

struct PrepareResult {
    std::filesystem::path cacheDir;
    DataStats stats;
    bool reused = false;
};

// One file to read: the inputs' folders expanded to their *.jsonl / *.json files, in order.
struct DatasetFile {
    std::filesystem::path path;
    std::optional<RecordFormat> format;  // nullopt: detect from the first record
    bool validation = false;             // the whole file is validation data
    int index = 0;                       // position in the list (part of the split draw)
};
// Throws hy3::Error naming a missing file, an empty folder or an unknown format.
std::vector<DatasetFile> listDatasetFiles(const DataConfig& config);
// Whether the record at (file, line) goes to the validation split.
// One dataset line as training reads it: UTF-8, JSON, the record format, rendering, tokenizing, in
// that order. Never throws: a failure is the reason training skips the line. Prepare and the record
// browser both call it, so what the preview calls skipped is what training skips.
struct LineOutcome {
    bool ok = false;
    std::string reason;
    TokenizedConversation tokens;
};
LineOutcome tokenizeRecordLine(const std::string& line, std::optional<RecordFormat> format, const ChatFormat& chat, LossMask mask);

bool inValidationSplit(const DataConfig& config, const DatasetFile& file, int64_t line);

// Thrown by prepareData when its cancel flag is set; nothing is left behind.
struct PrepareCancelled : Error {
    PrepareCancelled() : Error("preparing the data was cancelled") {}
};

// The cache key of a configuration (what the folder under cacheRoot is named).
std::string dataCacheKey(const DataConfig& config);

// The token cache of this configuration when one was prepared before (its statistics), else nothing.
std::optional<PrepareResult> findPreparedData(const DataConfig& config, const std::filesystem::path& cacheRoot);
// Prepares (or reuses) the token cache under cacheRoot/<key>. Throws hy3::Error for unreadable
// files, a file where every line fails, or no records at all. `progress` is called now and then;
// setting `*cancel` makes it stop at the next chunk of lines and throw PrepareCancelled.
PrepareResult prepareData(const DataConfig& config, const std::filesystem::path& cacheRoot,
                          const std::function<void(const PrepareProgress&)>& progress = {}, int threads = 0,
                          const std::atomic<bool>* cancel = nullptr);

// The packing plan of a split for one epoch (the trainer's batches and the statistics agree).
std::vector<PackedRow> planRows(const CacheSplit& split, int64_t seqLen, bool packing, uint64_t seed);

}  // namespace hy3
