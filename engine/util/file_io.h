#pragma once
// Durable file operations for checkpoints: copies that are fsync'd, and byte counts of trees.
#include <filesystem>
#include <string>

namespace hy3 {

// Copies `from` to `to` in 1 MiB chunks, fsyncs it, and returns the SHA-256 of the bytes.
std::string copyFileDurably(const std::filesystem::path& from, const std::filesystem::path& to);

// Sum of the sizes of the regular files below `dir`.
uint64_t treeBytes(const std::filesystem::path& dir);

// fsync on every directory below `dir` and on `dir` itself.
void syncTree(const std::filesystem::path& dir);

}  // namespace hy3
