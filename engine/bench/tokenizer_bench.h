#pragma once
// `hy3 bench tokenizer`: the engine's tokenizer throughput on one thread over a corpus (a JSONL
// of strings, or a generated varied one). scripts/bench-tokenizer.sh times HF's `tokenizers`
// library on the same corpus for comparison. No torch headers.
#include <cstdint>
#include <string>

namespace hy3 {

struct TokenizerBenchResult {
    std::string tokenizer;        // the folder with tokenizer.json
    std::string corpus;           // the JSONL file, or "generated"
    int64_t lines = 0;
    uint64_t bytes = 0;           // per pass
    int repeats = 0;
    int64_t tokens = 0;           // per pass
    double engineMbPerS = 0;      // one thread, after a warm-up pass
};

// `tokenizerDir` empty: the bundled byte-level tokenizer. `corpus` empty: 20,000 generated varied
// lines, written to `saveCorpus` when that is given (so another implementation can be timed on
// exactly the same lines). Throws naming the file and line of a bad corpus line.
TokenizerBenchResult benchTokenizer(const std::string& tokenizerDir, const std::string& corpus, int repeats,
                                    const std::string& saveCorpus = "");

}  // namespace hy3
