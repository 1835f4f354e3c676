// libFuzzer harness: text from anywhere encoded by a real-size tokenizer (Qwen3's, 151K entries,
// Unicode-class pre-tokenizer regex, NFC; from the pinned reference package, else the bundled
// byte-level one), with offsets, then decoded: offsets rise and stay inside the text, and
// decoding valid UTF-8 gives the normalised text back.
#include "data/tokenizer.h"
#include "data/utf8.h"
#include "fuzz_support.h"
#include "util/error.h"
namespace fs = std::filesystem;
static std::shared_ptr<const hy3::Tokenizer> tokenizer() {
    static const auto t = [] {
        const fs::path qwen = hy3::fuzz::qwen3TokenizerDir();
        return hy3::Tokenizer::load(qwen.empty() ? hy3::fuzz::byteTokenizerDir() : qwen);
    }();
    return t;
}
// libFuzzer calls this once before the first input: loading the tokenizer is not an input's time.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    (void)tokenizer();
    return 0;
}
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const std::string normal = tokenizer()->normalize(text);
        std::vector<int32_t> ids;
        std::vector<uint32_t> offsets;
        tokenizer()->encode(normal, ids, &offsets);
        if (offsets.size() != ids.size()) __builtin_trap();
        for (size_t i = 0; i < offsets.size(); ++i)
            if (offsets[i] > normal.size() || (i > 0 && offsets[i] < offsets[i - 1])) __builtin_trap();
        const std::string back = tokenizer()->decode(ids);
        if (hy3::utf8::valid(normal, nullptr) && back != normal) __builtin_trap();
    } catch (const hy3::Error&) {
    }
    return 0;
}
