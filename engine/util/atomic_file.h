#pragma once
// Crash-safe file writes: data goes to a temporary name next to the target, is fsync'd, renamed over
// the target, and the directory is fsync'd, so a reader sees either the old or the new file whole.
#include <filesystem>
#include <string>

namespace hy3 {

// Writes `contents` to `path` atomically. Throws hy3::Error naming the path on failure.
void writeFileAtomic(const std::filesystem::path& path, const std::string& contents);

// fsync on a directory, so a rename or a new entry inside it survives a power loss.
void syncDirectory(const std::filesystem::path& dir);

// Reads a small text file (configs, project files) whole. Throws hy3::Error naming the path.
std::string readTextFile(const std::filesystem::path& path);

}  // namespace hy3
