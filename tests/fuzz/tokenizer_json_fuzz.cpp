// libFuzzer harness: a tokenizer.json from anywhere, loaded, then a fixed multilingual text
// (added tokens, digits, spaces, CJK, emoji, broken UTF-8) encoded with offsets and decoded.
#include "data/tokenizer.h"
#include "fuzz_support.h"
#include "util/error.h"
#include "util/json_fields.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    static const std::string sample = "Hello <think>world</think> 12345   tabs\t\tand\nnewlines \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80 caf\xc3\xa9 \xff\xfe end";
    try {
        const auto tokenizer = hy3::Tokenizer::fromText(text, nlohmann::json::object(), "tokenizer.json");
        std::vector<int32_t> ids;
        std::vector<uint32_t> offsets;
        tokenizer->encode(tokenizer->normalize(sample), ids, &offsets);
        if (offsets.size() != ids.size()) __builtin_trap();
        (void)tokenizer->decode(ids);
        (void)tokenizer->decode(ids, true);
        for (int32_t id : ids) (void)tokenizer->tokenText(id);
        (void)tokenizer->tokenText(-1);
        (void)tokenizer->tokenText(static_cast<int32_t>(tokenizer->vocabSize()));
    } catch (const hy3::Error&) {
    }
    return 0;
}
