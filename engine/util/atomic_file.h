#pragma once
// Crash-safe file writes: data goes to a temporary name next to the target, is fsync'd, renamed over
// the target, and the directory is fsync'd, so a reader sees either the old or the new file whole.
// And bounded reads of what users hand the engine (whole small files, JSONL lines).
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>

namespace hy3 {

// Writes `contents` to `path` atomically. Throws hy3::Error naming the path on failure.
void writeFileAtomic(const std::filesystem::path& path, const std::string& contents);

// fsync on a directory, so a rename or a new entry inside it survives a power loss.
void syncDirectory(const std::filesystem::path& dir);

// Bounds on what is read whole or line by line. Each is far above any real file of its kind; it stops
// a damaged or hostile file from taking the machine's memory before any other check can run.
inline constexpr uint64_t kMaxJsonFileBytes = 64ull << 20;       // config.json, project files, indexes, metadata
inline constexpr uint64_t kMaxTokenizerFileBytes = 512ull << 20; // tokenizer.json (Gemma 3's, among the largest, is 33 MB)
inline constexpr size_t kMaxLineBytes = 64u << 20;               // one JSONL record

// Reads a text file whole when it has at most `maxBytes` (its size is checked before reading).
// Throws hy3::Error naming the path: missing, a directory, unreadable or too large.
std::string readTextFile(const std::filesystem::path& path, uint64_t maxBytes = kMaxJsonFileBytes);

// std::getline with a bound: the next line of `in` without its newline, false at the end. A line
// longer than `maxBytes` fails as "FILE:LINE: ..." as soon as it passes the bound, holding no more.
bool readLine(std::istream& in, std::string& line, const std::string& file, int64_t lineNumber, size_t maxBytes = kMaxLineBytes);

}  // namespace hy3
