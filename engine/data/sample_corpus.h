#pragma once
// A varied text corpus for tokenizer parity tests and benchmarks: several scripts and languages,
// emoji (with modifiers and joiners), code, whitespace runs, numbers, contractions, combining
// marks, and special tokens inside text. The same seed gives the same lines.
#include <cstdint>
#include <string>
#include <vector>

namespace hy3 {

std::vector<std::string> generateVariedCorpus(uint64_t seed, size_t lines, const std::vector<std::string>& specialTokens);

}  // namespace hy3
