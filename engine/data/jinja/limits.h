#pragma once
// Bounds on what a chat template may make the engine do. A template is code from a stranger's
// repository (tokenizer_config.json, chat_template.jinja): rendering it must end, with an error
// naming the template line, whatever it says. Each bound is far above what real chat templates
// need (the Qwen3, Llama 3.1, DeepSeek-V3 and gpt-oss templates render unchanged; the README's
// "Chat template limits" lists them).
#include <cstddef>
#include <cstdint>

namespace hy3::jinja::limits {

inline constexpr size_t kTemplateBytes = 1 << 20;           // the template source
inline constexpr int64_t kTagTokens = 2000;                 // tokens inside one {{ }} or {% %} (bounds expression trees)
inline constexpr int kNesting = 100;                        // nested parentheses, brackets, blocks
inline constexpr int kCallDepth = 100;                      // macro calls inside macro calls
inline constexpr int64_t kRangeItems = 100000;              // range(): as Python's sandboxed Jinja (MAX_RANGE)
inline constexpr int64_t kLoopIterations = 1000000;         // loop iterations in one render, all loops together
inline constexpr size_t kStringBytes = 64u << 20;           // any string built (output, +, ~, *, join, replace)
inline constexpr size_t kListItems = 1000000;               // any list built by +
inline constexpr double kConcatenatedBytes = 1u << 30;      // all strings built by + and ~ in one render, together

}  // namespace hy3::jinja::limits
