#pragma once
// Turning a conversation into the text and tokens a model trains on, with the loss mask.
//
// Without a template the built-in Hy3 format is used (README: "The Hy3 conversation format"), in
// the token family the tokenizer has: Hy3-preview's (`<｜hy_User｜>`, `<think>`, ...) or the
// release's `:opensource` one (`<｜hy_User:opensource｜>`, `<think:opensource>`, ...). With a
// Jinja chat template (the model's own, or a file) the whole conversation is rendered once. Each
// assistant reply is then located: when the render has one Hy3 Assistant token and one eos per
// reply, by Tencent's rule (from the token after each Assistant token through the next eos, as
// `finetune/deepspeed_support/train.py` labels it); for any other template as what follows the
// render of the conversation up to that reply with add_generation_prompt=true, through the
// tokenizer's eos token.
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

// The reasoning efforts Hy3 knows; throws naming `where` for any other.
void checkReasoningEffort(const std::string& effort, const std::string& where);

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

// The special tokens of one Hy3 token family, spelled exactly as its tokenizer has them.
struct Hy3TokenFamily {
    std::string name;  // "Hy3-preview" or ":opensource"
    std::string bos, user, assistant, eos, reasoningMode, thinkOpen, thinkClose;
    std::string toolCalls, toolCallsEnd, toolCall, toolCallEnd, toolSep, argKey, argKeyEnd, argValue, argValueEnd;
    std::string toolResponses, toolResponsesEnd, toolResponse, toolResponseEnd;
    // The tokens every conversation uses, and those only tool use needs.
    std::vector<std::string> coreTokens() const;
    std::vector<std::string> toolTokens() const;
};
const Hy3TokenFamily& hy3PreviewTokens();
const Hy3TokenFamily& hy3OpensourceTokens();
// The family whose core tokens the tokenizer has (`:opensource` first); nullopt when neither.
std::optional<Hy3TokenFamily> detectHy3Family(const Tokenizer& tokenizer);

class ChatFormat {
public:
    // A Jinja template (`name` is its file, for errors).
    static ChatFormat jinja(std::shared_ptr<const Tokenizer> tokenizer, const std::string& source, const std::string& name,
                            const std::string& reasoningEffort = "no_think");
    // The built-in Hy3 format; `reasoningEffort` (no_think, low or high) is the default for
    // conversations that do not name their own. Throws naming the missing tokens when the
    // tokenizer has neither Hy3 family.
    static ChatFormat builtinHy3(std::shared_ptr<const Tokenizer> tokenizer, const std::string& reasoningEffort);
    // "auto" (the tokenizer's template, else built-in), "hy3", or a path to a Jinja file.
    static ChatFormat choose(std::shared_ptr<const Tokenizer> tokenizer, const std::string& choice, const std::string& reasoningEffort);

    bool isBuiltin() const { return !templ_; }
    std::string description() const;

    // Renders for display (addGenerationPrompt false: the training stream) or inference (true:
    // history reasoning before the last user turn dropped, then the generation prompt).
    // `messages` is an array of {role, content, ...}; `effort` overrides the default when set.
    std::string render(const nlohmann::json& messages, const nlohmann::json& tools, bool addGenerationPrompt,
                       const nlohmann::json& extra = nlohmann::json::object(), const std::string& effort = "") const;
    // Renders with the spans of the assistant replies. Throws hy3::Error when a reply cannot be
    // located (the template renders earlier turns differently from their prefix).
    RenderedConversation renderForTraining(const nlohmann::json& messages, const nlohmann::json& tools,
                                           const std::string& effort = "") const;
    // Tokens and loss mask of a conversation under a mask policy.
    TokenizedConversation tokenize(const nlohmann::json& messages, const nlohmann::json& tools, LossMask policy,
                                   const std::string& effort = "") const;
    // Plain text for continued pretraining: the text then eos, every token in the loss.
    TokenizedConversation tokenizeText(const std::string& text) const;

    const Tokenizer& tokenizer() const { return *tokenizer_; }
    // The Hy3 token family of the tokenizer, if it has one.
    const std::optional<Hy3TokenFamily>& family() const { return family_; }

private:
    std::shared_ptr<const Tokenizer> tokenizer_;
    std::shared_ptr<const jinja::Template> templ_;  // null: built-in Hy3
    std::optional<Hy3TokenFamily> family_;
    std::string reasoningEffort_;
    std::string effortFor(const std::string& effort) const;
    RenderedConversation renderBuiltin(const nlohmann::json& messages, const nlohmann::json& tools, bool inference,
                                       const std::string& effort) const;
    std::string renderJinja(const nlohmann::json& messages, const nlohmann::json& tools, bool addGenerationPrompt, bool training,
                            const nlohmann::json& extra, const std::string& effort) const;
    std::optional<std::vector<CharSpan>> hy3Spans(const std::string& text, size_t replies) const;
    std::vector<CharSpan> prefixSpans(const std::string& text, const nlohmann::json& messages, const nlohmann::json& tools,
                                      const std::string& effort) const;
};

}  // namespace hy3
