// libFuzzer harness: one JSONL line from anywhere, taken in every record format (and the format
// detected from its keys), rendered and tokenized under every loss-mask policy, by the built-in
// Hy3 format and by a Jinja template (Qwen3's, from the pinned reference package, when present).
// A bad line must come back as a reason (what `hy3 prepare` reports and skips), never a crash.
#include "data/chat_format.h"
#include "data/dataset.h"
#include "data/records.h"
#include "data/tokenizer.h"
#include "fuzz_support.h"
#include "util/error.h"
#include <nlohmann/json.hpp>
namespace fs = std::filesystem;
static const std::vector<hy3::ChatFormat>& formats() {
    static const std::vector<hy3::ChatFormat> all = [] {
        std::vector<hy3::ChatFormat> f;
        f.push_back(hy3::ChatFormat::builtinHy3(hy3::Tokenizer::load(hy3::fuzz::byteTokenizerDir()), "no_think"));
        const fs::path qwen = hy3::fuzz::qwen3TokenizerDir();
        if (!qwen.empty()) f.push_back(hy3::ChatFormat::choose(hy3::Tokenizer::load(qwen), "auto", "no_think"));
        return f;
    }();
    return all;
}
// libFuzzer calls this once before the first input: loading the tokenizers is not an input's time.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    (void)formats();
    return 0;
}
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string line(reinterpret_cast<const char*>(data), size);
    std::vector<std::optional<hy3::RecordFormat>> kinds = {hy3::RecordFormat::Messages, hy3::RecordFormat::ShareGpt, hy3::RecordFormat::Alpaca,
                                                           hy3::RecordFormat::PromptCompletion, hy3::RecordFormat::Text};
    const auto parsed = nlohmann::json::parse(line, nullptr, false);
    kinds.push_back(parsed.is_discarded() ? std::nullopt : hy3::detectRecordFormat(parsed));
    for (const hy3::ChatFormat& chat : formats())
        for (const auto& kind : kinds)
            for (hy3::LossMask mask : {hy3::LossMask::Assistant, hy3::LossMask::LastAssistant, hy3::LossMask::All}) {
                const hy3::LineOutcome o = hy3::tokenizeRecordLine(line, kind, chat, mask);
                if (o.ok != o.reason.empty()) __builtin_trap();  // a failure always says why
                if (o.ok && o.tokens.ids.size() != o.tokens.mask.size()) __builtin_trap();
                // A reason is for the user: never a library's bare exception text, without context.
                if (o.reason.rfind("[json.exception", 0) == 0) __builtin_trap();
            }
    return 0;
}
