#include "data/token_cache.h"

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_fields.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace hy3 {
namespace fs = std::filesystem;

// A read-only memory mapping of a whole file (empty files map to nothing).
class MappedFile {
public:
    explicit MappedFile(const fs::path& path) : path_(path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail(path.string(), std::string("cannot open the token cache: ") + std::strerror(errno));
        struct stat info {};
        ::fstat(fd, &info);
        size_ = static_cast<size_t>(info.st_size);
        if (size_ > 0) {
            void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (map == MAP_FAILED) {
                ::close(fd);
                fail(path.string(), std::string("cannot map: ") + std::strerror(errno));
            }
            data_ = static_cast<const uint8_t*>(map);
        }
        ::close(fd);
    }
    ~MappedFile() {
        if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    }
    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

private:
    fs::path path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

CacheSplit::CacheSplit(const fs::path& dir, const std::string& split) {
    idsFile_ = std::make_shared<MappedFile>(dir / (split + ".ids"));
    maskFile_ = std::make_shared<MappedFile>(dir / (split + ".mask"));
    docsFile_ = std::make_shared<MappedFile>(dir / (split + ".docs"));
    ids_ = reinterpret_cast<const int32_t*>(idsFile_->data());
    mask_ = maskFile_->data();
    docs_ = reinterpret_cast<const int64_t*>(docsFile_->data());
    tokens_ = static_cast<int64_t>(idsFile_->size() / 4);
    documents_ = static_cast<int64_t>(docsFile_->size() / 16);
    const std::string where = (dir / (split + ".*")).string();
    if (idsFile_->size() % 4 != 0 || docsFile_->size() % 16 != 0 || maskFile_->size() != idsFile_->size() / 4)
        fail(where, "token cache files have inconsistent sizes (torn write?)");
    for (int64_t d = 0; d < documents_; ++d)
        if (docs_[2 * d] < 0 || docs_[2 * d + 1] < 0 || docs_[2 * d] + docs_[2 * d + 1] > tokens_)
            fail(where, "document " + std::to_string(d) + " lies outside the token file");
}

std::vector<int64_t> CacheSplit::lengths() const {
    std::vector<int64_t> out(static_cast<size_t>(documents_));
    for (int64_t d = 0; d < documents_; ++d) out[static_cast<size_t>(d)] = docs_[2 * d + 1];
    return out;
}

TokenCache TokenCache::open(const fs::path& dir) {
    TokenCache cache;
    cache.dir_ = dir;
    cache.manifest_ = readJsonFile(dir / "manifest.json");
    cache.train_ = CacheSplit(dir, "train");
    cache.validation_ = CacheSplit(dir, "validation");
    return cache;
}

struct CacheSplitWriter::Files {
    fs::path ids, mask, docs;
    std::ofstream idsOut, maskOut, docsOut;
};

CacheSplitWriter::CacheSplitWriter(const fs::path& dir, const std::string& split) : files_(std::make_unique<Files>()) {
    files_->ids = dir / (split + ".ids");
    files_->mask = dir / (split + ".mask");
    files_->docs = dir / (split + ".docs");
    files_->idsOut.open(files_->ids, std::ios::binary);
    files_->maskOut.open(files_->mask, std::ios::binary);
    files_->docsOut.open(files_->docs, std::ios::binary);
    if (!files_->idsOut || !files_->maskOut || !files_->docsOut) fail(dir.string(), "cannot create token cache files");
}

CacheSplitWriter::~CacheSplitWriter() = default;

void CacheSplitWriter::add(const std::vector<int32_t>& ids, const std::vector<uint8_t>& mask) {
    files_->idsOut.write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * 4));
    files_->maskOut.write(reinterpret_cast<const char*>(mask.data()), static_cast<std::streamsize>(mask.size()));
    const int64_t entry[2] = {offset_, static_cast<int64_t>(ids.size())};
    files_->docsOut.write(reinterpret_cast<const char*>(entry), sizeof entry);
    offset_ += static_cast<int64_t>(ids.size());
}

void CacheSplitWriter::finish() {
    for (auto* out : {&files_->idsOut, &files_->maskOut, &files_->docsOut}) {
        out->flush();
        if (!*out) fail(files_->ids.parent_path().string(), "writing the token cache failed (disk full?)");
        out->close();
    }
    for (const fs::path& p : {files_->ids, files_->mask, files_->docs}) {
        const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ::fsync(fd);
            ::close(fd);
        }
    }
}

}  // namespace hy3
