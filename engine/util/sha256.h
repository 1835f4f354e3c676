#pragma once
// SHA-256 (OpenSSL) of byte streams and files; files are read in 1 MiB chunks, never whole.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace hy3 {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, size_t bytes);
    std::string hex();  // finishes the digest; call once

private:
    struct State;
    std::unique_ptr<State> state_;
};

std::string sha256OfFile(const std::filesystem::path& file);

}  // namespace hy3
