// Runs a fuzz harness on saved inputs, without libFuzzer: each argument is a file or a folder of
// files (a seed corpus, regression cases of fixed findings). CTest runs every harness this way on
// its corpus, so an input that once crashed a parser stays a test. Exit 0 when every input was
// handled; a crash or an escaped exception ends the process as it would under the fuzzer.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void runOne(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "%s (%zu bytes)\n", file.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

int main(int argc, char** argv) {
    size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg = argv[i];
        std::vector<std::filesystem::path> files;
        if (std::filesystem::is_directory(arg)) {
            for (const auto& entry : std::filesystem::directory_iterator(arg))
                if (entry.is_regular_file()) files.push_back(entry.path());
            std::sort(files.begin(), files.end());
        } else {
            files.push_back(arg);
        }
        for (const auto& file : files) runOne(file), ++count;
    }
    if (count == 0) {
        std::fprintf(stderr, "replay: no inputs given\n");
        return 2;
    }
    std::fprintf(stderr, "replay: %zu inputs handled\n", count);
    return 0;
}
