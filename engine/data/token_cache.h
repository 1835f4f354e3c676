#pragma once
// The token cache of a project's data: per split (train, validation) the token ids (int32), the
// loss mask (uint8) and the document index (offset, length as int64 pairs), memory-mapped for
// reading, plus manifest.json (the key and the statistics) and skipped.jsonl (every line that was
// skipped, with its reason). The folder name is the key: a hash of the inputs (path, size,
// modification time), the tokenizer files, the chat template and the settings; any change gives
// a new key and a new cache.
#include "data/packing.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace hy3 {

class MappedFile;

class CacheSplit : public DocumentSource {
public:
    CacheSplit() = default;
    CacheSplit(const std::filesystem::path& dir, const std::string& split);
    int64_t documents() const { return documents_; }
    int64_t tokens() const { return tokens_; }
    int64_t length(int64_t doc) const override { return docs_[2 * doc + 1]; }
    const int32_t* ids(int64_t doc) const override { return ids_ + docs_[2 * doc]; }
    const uint8_t* mask(int64_t doc) const override { return mask_ + docs_[2 * doc]; }
    std::vector<int64_t> lengths() const;

private:
    std::shared_ptr<MappedFile> idsFile_, maskFile_, docsFile_;
    const int32_t* ids_ = nullptr;
    const uint8_t* mask_ = nullptr;
    const int64_t* docs_ = nullptr;
    int64_t documents_ = 0, tokens_ = 0;
};

class TokenCache {
public:
    // Opens a complete cache folder (throws naming the file if something is missing or torn).
    static TokenCache open(const std::filesystem::path& dir);
    const std::filesystem::path& dir() const { return dir_; }
    const nlohmann::json& manifest() const { return manifest_; }
    const CacheSplit& train() const { return train_; }
    const CacheSplit& validation() const { return validation_; }

private:
    std::filesystem::path dir_;
    nlohmann::json manifest_;
    CacheSplit train_, validation_;
};

// Appends documents of one split to its three files.
class CacheSplitWriter {
public:
    CacheSplitWriter(const std::filesystem::path& dir, const std::string& split);
    ~CacheSplitWriter();
    void add(const std::vector<int32_t>& ids, const std::vector<uint8_t>& mask);
    void finish();  // flushes and fsyncs

private:
    struct Files;
    std::unique_ptr<Files> files_;
    int64_t offset_ = 0;
};

}  // namespace hy3
