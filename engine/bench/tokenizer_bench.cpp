#include "bench/tokenizer_bench.h"

#include "config/resources.h"
#include "util/atomic_file.h"
#include "data/sample_corpus.h"
#include "data/tokenizer.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <vector>

namespace hy3 {
namespace {

std::vector<std::string> readCorpus(const std::string& file) {
    std::ifstream in(file);
    if (!in) fail(file, "cannot open");
    std::vector<std::string> texts;
    std::string line;
    for (int64_t n = 1; readLine(in, line, file, n); ++n) {
        const auto v = nlohmann::json::parse(line, nullptr, false);
        if (!v.is_string()) fail(file + ":" + std::to_string(n), "expected a JSON string");
        texts.push_back(v.get<std::string>());
    }
    return texts;
}

}  // namespace

TokenizerBenchResult benchTokenizer(const std::string& tokenizerDir, const std::string& corpus, int repeats, const std::string& saveCorpus) {
    TokenizerBenchResult r;
    r.repeats = std::max(1, repeats);
    r.tokenizer = tokenizerDir.empty() ? (resourcesDir() / "tokenizers" / "hy3-byte").string() : tokenizerDir;
    const auto tokenizer = Tokenizer::load(r.tokenizer);

    std::vector<std::string> texts;
    if (corpus.empty()) {
        // Chat-like text in many scripts, with the special tokens of common chat formats.
        const std::vector<std::string> specials = {"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>"};
        texts = generateVariedCorpus(7, 20000, specials);
        r.corpus = "generated";
        if (!saveCorpus.empty()) {
            std::ofstream out(saveCorpus);
            for (const std::string& t : texts) out << nlohmann::json(t).dump() << "\n";
            if (!out.flush()) fail(saveCorpus, "cannot write the corpus");
        }
    } else {
        texts = readCorpus(corpus);
        r.corpus = corpus;
    }
    r.lines = static_cast<int64_t>(texts.size());
    for (const std::string& t : texts) r.bytes += t.size();

    for (const std::string& t : texts) r.tokens += static_cast<int64_t>(tokenizer->encode(t).size());  // warm-up
    const auto start = std::chrono::steady_clock::now();
    std::vector<int32_t> ids;
    for (int rep = 0; rep < r.repeats; ++rep)
        for (const std::string& t : texts) {
            ids.clear();
            tokenizer->encode(t, ids, nullptr);
        }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.engineMbPerS = static_cast<double>(r.bytes) * r.repeats / seconds / 1e6;
    return r;
}

}  // namespace hy3
