#pragma once
// Browsing a project's dataset one record at a time, as training will see it: the workbench's
// conversation preview. Opening indexes where each record line starts (one streaming pass, 16
// bytes per record, no file held in memory); a record is read, checked, rendered and tokenized
// with its loss mask only when asked for. No torch here.
#include "data/dataset.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hy3 {

struct BrowsedRecord {
    int64_t index = 0;        // 0-based position over all files
    std::string file;
    int64_t line = 0;         // 1-based line in the file
    std::string raw;          // the line as stored
    std::string format;       // the record format used
    std::string split;        // "train" or "validation"
    std::string error;        // why training skips this line; empty when it trains
    std::vector<int32_t> ids;
    std::vector<uint8_t> mask;         // 1 = counts in the loss
    std::vector<std::string> tokens;   // each token's vocabulary entry ("Ġthe")
    std::vector<std::string> pieces;   // each token decoded on its own (" the")
    std::vector<uint8_t> special;      // 1 = a special token
    int64_t seqLen = 0;                // tokens past it are cut (truncation "cut") or drop the record ("drop")
    bool dropped = false;              // longer than seqLen with truncation "drop"
};

class RecordBrowser {
public:
    // Indexes every record line of the configured inputs. Throws hy3::Error for a missing file,
    // PrepareCancelled when `*cancel` is set meanwhile.
    explicit RecordBrowser(DataConfig config, const std::atomic<bool>* cancel = nullptr);

    int64_t size() const { return static_cast<int64_t>(records_.size()); }
    std::vector<std::string> files() const;
    // Reads and renders record `index` with a reasoning effort ("" = the project's).
    BrowsedRecord record(int64_t index, const std::string& reasoningEffort = "") const;
    // The next record (after `from`, wrapping around) whose line contains `text`; nullopt if none.
    std::optional<int64_t> find(const std::string& text, int64_t from) const;
    // The record stored at file:line, if that line is a record.
    std::optional<int64_t> indexOf(const std::string& file, int64_t line) const;

private:
    struct Entry {
        uint64_t offset;   // byte offset of the line in its file
        int32_t file;
        int32_t line;      // 1-based
    };
    std::string readLine(const Entry& e) const;
    const ChatFormat& chatFormat(const std::string& reasoningEffort) const;

    DataConfig config_;
    std::vector<DatasetFile> files_;
    std::vector<std::optional<RecordFormat>> formats_;  // per file, detected from its first record
    std::vector<Entry> records_;
    std::shared_ptr<const Tokenizer> tokenizer_;
    mutable std::map<std::string, std::unique_ptr<ChatFormat>> chats_;  // by reasoning effort
};

}  // namespace hy3
