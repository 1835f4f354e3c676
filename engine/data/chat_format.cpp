#include "data/chat_format.h"

#include "util/atomic_file.h"
#include "util/error.h"

namespace hy3 {
using json = nlohmann::json;

namespace hy3tokens {
const char* const kBos = "<\xEF\xBD\x9Chy_begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";  // <｜hy_begin▁of▁sentence｜>
const char* const kUser = "<\xEF\xBD\x9Chy_User\xEF\xBD\x9C>";                                    // <｜hy_User｜>
const char* const kAssistant = "<\xEF\xBD\x9Chy_Assistant\xEF\xBD\x9C>";                          // <｜hy_Assistant｜>
const char* const kEos = "<\xEF\xBD\x9Chy_eos\xEF\xBD\x9C>";                                      // <｜hy_eos｜>
const char* const kReasoningMode = "<\xEF\xBD\x9Chy_reasoning_mode\xEF\xBD\x9C>";                 // <｜hy_reasoning_mode｜>
const char* const kThinkOpen = "<think>";
const char* const kThinkClose = "</think>";
}  // namespace hy3tokens

LossMask parseLossMask(const std::string& name) {
    if (name == "assistant") return LossMask::Assistant;
    if (name == "last_assistant") return LossMask::LastAssistant;
    if (name == "all") return LossMask::All;
    fail("data.loss_mask", "expected assistant, last_assistant or all, got \"" + name + "\"");
}

ChatFormat ChatFormat::jinja(std::shared_ptr<const Tokenizer> tokenizer, const std::string& source, const std::string& name) {
    ChatFormat f;
    f.tokenizer_ = std::move(tokenizer);
    f.templ_ = std::make_shared<const jinja::Template>(source, name);
    return f;
}

ChatFormat ChatFormat::builtinHy3(std::shared_ptr<const Tokenizer> tokenizer, const std::string& reasoningEffort) {
    if (reasoningEffort != "no_think" && reasoningEffort != "low" && reasoningEffort != "high")
        fail("data.reasoning_effort", "expected no_think, low or high, got \"" + reasoningEffort + "\"");
    ChatFormat f;
    f.tokenizer_ = std::move(tokenizer);
    f.reasoningEffort_ = reasoningEffort;
    for (const char* token : {hy3tokens::kBos, hy3tokens::kUser, hy3tokens::kAssistant, hy3tokens::kEos, hy3tokens::kReasoningMode})
        if (f.tokenizer_->tokenId(token) < 0)
            fail(f.tokenizer_->source(), std::string("the built-in Hy3 chat format needs the special token ") + token);
    return f;
}

ChatFormat ChatFormat::choose(std::shared_ptr<const Tokenizer> tokenizer, const std::string& choice, const std::string& effort) {
    if (choice == "hy3") return builtinHy3(std::move(tokenizer), effort);
    if (choice == "auto" || choice.empty()) {
        if (!tokenizer->chatTemplate().empty()) {
            const std::string name = tokenizer->source() + " (chat_template)";
            return jinja(tokenizer, tokenizer->chatTemplate(), name);
        }
        return builtinHy3(std::move(tokenizer), effort);
    }
    return jinja(std::move(tokenizer), readTextFile(choice), choice);
}

std::string ChatFormat::description() const {
    return templ_ ? "Jinja template " + templ_->name() : "built-in Hy3 format (reasoning effort " + reasoningEffort_ + ")";
}

std::string ChatFormat::render(const json& messages, const json& tools, bool addGenerationPrompt, const json& extra) const {
    if (!templ_) return renderBuiltin(messages, addGenerationPrompt).text;
    json context = extra.is_object() ? extra : json::object();
    context["messages"] = messages;
    if (!tools.is_null()) context["tools"] = tools;
    context["add_generation_prompt"] = addGenerationPrompt;
    if (!tokenizer_->bosToken().empty()) context["bos_token"] = tokenizer_->bosToken();
    if (!tokenizer_->eosToken().empty()) context["eos_token"] = tokenizer_->eosToken();
    if (!tokenizer_->padToken().empty()) context["pad_token"] = tokenizer_->padToken();
    return templ_->render(context);
}

RenderedConversation ChatFormat::renderBuiltin(const json& messages, bool addGenerationPrompt) const {
    using namespace hy3tokens;
    RenderedConversation r;
    r.text = kBos;
    size_t first = 0;
    if (!messages.empty() && messages[0].value("role", "") == "system") {
        r.text += messages[0].value("content", "");
        first = 1;
    }
    r.text += std::string(kReasoningMode) + reasoningEffort_;
    for (size_t i = first; i < messages.size(); ++i) {
        const json& m = messages[i];
        const std::string role = m.value("role", "");
        const std::string content = m.contains("content") && m["content"].is_string() ? m["content"].get<std::string>() : "";
        if (role == "assistant") {
            r.text += kAssistant;
            const size_t begin = r.text.size();
            const std::string reasoning =
                m.contains("reasoning_content") && m["reasoning_content"].is_string() ? m["reasoning_content"].get<std::string>() : "";
            r.text += std::string(kThinkOpen) + reasoning + kThinkClose + content + kEos;
            r.assistantSpans.push_back({begin, r.text.size()});
        } else {  // user, tool, and later system messages are turns of the user's side
            r.text += std::string(kUser) + content;
        }
    }
    if (addGenerationPrompt) r.text += kAssistant;
    return r;
}

RenderedConversation ChatFormat::renderForTraining(const json& messages, const json& tools) const {
    if (!templ_) return renderBuiltin(messages, false);
    RenderedConversation r;
    r.text = render(messages, tools, false);
    const std::string& eos = tokenizer_->eosToken();
    for (size_t i = 0; i < messages.size(); ++i) {
        if (messages[i].value("role", "") != "assistant") continue;
        const json before(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i));
        const std::string prefix = render(before, tools, true);
        if (r.text.compare(0, prefix.size(), prefix) != 0)
            fail("message " + std::to_string(i), "the chat template renders this conversation's earlier turns differently "
                                                   "from its own prefix, so the assistant reply cannot be located");
        CharSpan span{prefix.size(), r.text.size()};
        const size_t eosAt = eos.empty() ? std::string::npos : r.text.find(eos, span.begin);
        if (eosAt != std::string::npos) {
            span.end = eosAt + eos.size();
        } else if (i + 1 < messages.size()) {
            const json upTo(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i + 1));
            const std::string through = render(upTo, tools, false);
            if (r.text.compare(0, through.size(), through) != 0)
                fail("message " + std::to_string(i), "cannot find where this assistant reply ends (no eos token in the template)");
            span.end = through.size();
        }
        r.assistantSpans.push_back(span);
    }
    return r;
}

TokenizedConversation ChatFormat::tokenize(const json& messages, const json& tools, LossMask policy) const {
    RenderedConversation r = renderForTraining(messages, tools);
    std::vector<CharSpan> spans = r.assistantSpans;
    if (policy == LossMask::LastAssistant && spans.size() > 1) spans.erase(spans.begin(), spans.end() - 1);
    // Offsets are in the normalised text; move the span edges there if normalising changes it.
    std::string text = tokenizer_->normalize(r.text);
    if (text != r.text)
        for (CharSpan& s : spans) {
            s.begin = tokenizer_->normalize(r.text.substr(0, s.begin)).size();
            s.end = tokenizer_->normalize(r.text.substr(0, s.end)).size();
        }
    TokenizedConversation out;
    std::vector<uint32_t> offsets;
    tokenizer_->encode(text, out.ids, &offsets);
    out.mask.assign(out.ids.size(), policy == LossMask::All ? 1 : 0);
    if (policy != LossMask::All) {
        size_t s = 0;
        for (size_t t = 0; t < offsets.size(); ++t) {
            while (s < spans.size() && offsets[t] >= spans[s].end) ++s;
            if (s < spans.size() && offsets[t] >= spans[s].begin) out.mask[t] = 1;
        }
    }
    return out;
}

TokenizedConversation ChatFormat::tokenizeText(const std::string& text) const {
    TokenizedConversation out;
    out.ids = tokenizer_->encode(text);
    const int32_t eos = tokenizer_->tokenId(tokenizer_->eosToken());
    if (eos >= 0) out.ids.push_back(eos);
    out.mask.assign(out.ids.size(), 1);
    return out;
}

}  // namespace hy3
