#pragma once
// Turning a conversation into the text and tokens a model trains on, with the loss mask.
//
// With a Jinja chat template (the model's own, or a file) the whole conversation is rendered once;
// each assistant reply is located as what follows the render of the conversation up to that reply
// with add_generation_prompt=true, through the tokenizer's eos token. Without a template the
// built-in Hy3 format is used (README: "Chat formats").
#include "data/jinja/template.h"
#include "data/tokenizer.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hy3 {

enum class LossMask { Assistant, LastAssistant, All };
LossMask parseLossMask(const std::string& name);  // "assistant", "last_assistant", "all"

struct CharSpan {
    size_t begin = 0, end = 0;  // bytes of the rendered text
};

struct RenderedConversation {
    std::string text;
    std::vector<CharSpan> assistantSpans;  // every assistant reply, in order
};

struct TokenizedConversation {
    std::vector<int32_t> ids;
    std::vector<uint8_t> mask;  // 1 = counts in the loss
};

class ChatFormat {
public:
    // A Jinja template (`name` is its file, for errors).
    static ChatFormat jinja(std::shared_ptr<const Tokenizer> tokenizer, const std::string& source, const std::string& name);
    // The built-in Hy3 format with a reasoning-effort marker: no_think, low or high.
    static ChatFormat builtinHy3(std::shared_ptr<const Tokenizer> tokenizer, const std::string& reasoningEffort);
    // "auto" (the tokenizer's template, else built-in), "hy3", or a path to a Jinja file.
    static ChatFormat choose(std::shared_ptr<const Tokenizer> tokenizer, const std::string& choice, const std::string& reasoningEffort);

    bool isBuiltin() const { return !templ_; }
    std::string description() const;

    // Renders for inference or display. `messages` is an array of {role, content, ...}.
    std::string render(const nlohmann::json& messages, const nlohmann::json& tools, bool addGenerationPrompt,
                       const nlohmann::json& extra = nlohmann::json::object()) const;
    // Renders with the spans of the assistant replies. Throws hy3::Error when a reply cannot be
    // located (the template renders earlier turns differently from their prefix).
    RenderedConversation renderForTraining(const nlohmann::json& messages, const nlohmann::json& tools) const;
    // Tokens and loss mask of a conversation under a mask policy.
    TokenizedConversation tokenize(const nlohmann::json& messages, const nlohmann::json& tools, LossMask policy) const;
    // Plain text for continued pretraining: the text then eos, every token in the loss.
    TokenizedConversation tokenizeText(const std::string& text) const;

    const Tokenizer& tokenizer() const { return *tokenizer_; }

private:
    std::shared_ptr<const Tokenizer> tokenizer_;
    std::shared_ptr<const jinja::Template> templ_;  // null: built-in Hy3
    std::string reasoningEffort_;
    RenderedConversation renderBuiltin(const nlohmann::json& messages, bool addGenerationPrompt) const;
};

// The special tokens of the built-in Hy3 format.
namespace hy3tokens {
extern const char* const kBos;
extern const char* const kUser;
extern const char* const kAssistant;
extern const char* const kEos;
extern const char* const kReasoningMode;
extern const char* const kThinkOpen;
extern const char* const kThinkClose;
}  // namespace hy3tokens

}  // namespace hy3
