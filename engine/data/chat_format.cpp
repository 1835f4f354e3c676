#include "data/chat_format.h"

#include "data/jinja/limits.h"
#include "data/jinja/value.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace hy3 {
using json = nlohmann::json;

namespace {

// A Hy3-preview token renamed into the release's family: `<｜hy_User｜>` -> `<｜hy_User:opensource｜>`,
// `<think>` -> `<think:opensource>` (the suffix goes before the closing bar or bracket).
std::string withSuffix(const std::string& token) {
    const std::string bar = "\xEF\xBD\x9C>";  // "｜>"
    const size_t at = token.size() >= bar.size() && token.compare(token.size() - bar.size(), bar.size(), bar) == 0
                          ? token.size() - bar.size()
                          : token.size() - 1;
    return token.substr(0, at) + ":opensource" + token.substr(at);
}

// Hy3-preview's tokens, as its tokenizer_config.json and chat_template.jinja spell them.
Hy3TokenFamily previewFamily() {
    Hy3TokenFamily f;
    f.name = "Hy3-preview";
    f.bos = "<\xEF\xBD\x9Chy_begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";  // <｜hy_begin▁of▁sentence｜>
    f.user = "<\xEF\xBD\x9Chy_User\xEF\xBD\x9C>";                                    // <｜hy_User｜>
    f.assistant = "<\xEF\xBD\x9Chy_Assistant\xEF\xBD\x9C>";                          // <｜hy_Assistant｜>
    f.eos = "<\xEF\xBD\x9Chy_eos\xEF\xBD\x9C>";                                      // <｜hy_eos｜>
    f.reasoningMode = "<\xEF\xBD\x9Creasoning_mode\xEF\xBD\x9C>";                    // <｜reasoning_mode｜>
    f.thinkOpen = "<think>";
    f.thinkClose = "</think>";
    f.toolCalls = "<tool_calls>";
    f.toolCallsEnd = "</tool_calls>";
    f.toolCall = "<tool_call>";
    f.toolCallEnd = "</tool_call>";
    f.toolSep = "<tool_sep>";
    f.argKey = "<arg_key>";
    f.argKeyEnd = "</arg_key>";
    f.argValue = "<arg_value>";
    f.argValueEnd = "</arg_value>";
    f.toolResponses = "<tool_responses>";
    f.toolResponsesEnd = "</tool_responses>";
    f.toolResponse = "<tool_response>";
    f.toolResponseEnd = "</tool_response>";
    return f;
}

// The release's family: every token with `:opensource`, and begin_of_sentence with underscores.
Hy3TokenFamily opensourceFamily() {
    Hy3TokenFamily f = previewFamily();
    f.name = ":opensource";
    f.bos = "<\xEF\xBD\x9Chy_begin_of_sentence\xEF\xBD\x9C>";
    for (std::string* t : {&f.bos, &f.user, &f.assistant, &f.eos, &f.reasoningMode, &f.thinkOpen, &f.thinkClose, &f.toolCalls,
                           &f.toolCallsEnd, &f.toolCall, &f.toolCallEnd, &f.toolSep, &f.argKey, &f.argKeyEnd, &f.argValue,
                           &f.argValueEnd, &f.toolResponses, &f.toolResponsesEnd, &f.toolResponse, &f.toolResponseEnd})
        *t = withSuffix(*t);
    return f;
}

std::vector<std::string> missingTokens(const Tokenizer& tokenizer, const std::vector<std::string>& tokens) {
    std::vector<std::string> missing;
    for (const std::string& t : tokens)
        if (tokenizer.tokenId(t) < 0) missing.push_back(t);
    return missing;
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : " ") + s;
    return out;
}

std::string stringField(const json& m, const char* key) {
    return m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : std::string();
}

// The reasoning of an assistant turn: `reasoning_content`, or `reasoning` as the template also reads.
std::string reasoningOf(const json& m) {
    const std::string r = stringField(m, "reasoning_content");
    return r.empty() ? stringField(m, "reasoning") : r;
}

// JSON as the chat templates' tojson writes it (Python's json.dumps: ", " and ": ", non-ASCII kept).
std::string toJsonText(const json& value) { return jinja::toJson(jinja::Value::fromJson(value)); }

bool hasTools(const json& tools) { return tools.is_array() && !tools.empty(); }

// The tool instructions Hy3's template puts after the system text (chat_template.jinja of
// Hy3-preview, and ms-swift's HyV3AgentTemplate._format_tools), up to and including the closing
// tool-calls token after which the reasoning marker follows.
std::string toolInstructions(const Hy3TokenFamily& t, const json& tools, bool afterSystemText) {
    std::string o = afterSystemText ? "\n\n" : "";
    o += "# Tools\n\nYou may call one or more functions to assist with the user query.";
    o += "\n\nYou are provided with function signatures within <tools></tools> XML tags:";
    o += "\n<tools>\n";
    for (size_t i = 0; i < tools.size(); ++i) o += (i ? "\n" : "") + toJsonText(tools[i]);
    o += "\n</tools>\n\n";
    o += "For function call returns, you should first print " + t.toolCalls + "\n";
    o += "For each function call, you should return object like:\n";
    o += t.toolCall + "{function-name}" + t.toolSep + "\n";
    o += t.argKey + "{arg-key-1}" + t.argKeyEnd + "\n";
    o += t.argValue + "{arg-value-1}" + t.argValueEnd + "\n";
    o += t.argKey + "{arg-key-2}" + t.argKeyEnd + "\n";
    o += t.argValue + "{arg-value-2}" + t.argValueEnd + "\n";
    o += "...\n" + t.toolCallEnd + "\n";
    o += "At the end of function call returns, you should print " + t.toolCallsEnd;
    return o;
}

// An assistant turn's tool calls: one key/value pair per line, strings raw, other values as JSON.
std::string toolCallsText(const Hy3TokenFamily& t, const json& calls, const std::string& where) {
    std::string o = t.toolCalls + "\n";
    for (const json& callIn : calls) {
        const json& call = callIn.contains("function") ? callIn["function"] : callIn;
        if (!call.is_object() || !call.contains("name") || !call["name"].is_string())
            fail(where, "a tool call without a function name");
        json arguments = call.value("arguments", json::object());
        if (arguments.is_string()) {
            arguments = json::parse(arguments.get<std::string>(), nullptr, false);
            if (arguments.is_discarded()) fail(where, "tool call arguments are a string that is not JSON");
        }
        if (!arguments.is_object()) fail(where, "tool call arguments must be an object of named arguments");
        o += t.toolCall + call["name"].get<std::string>() + t.toolSep + "\n";
        for (const auto& [key, value] : arguments.items())
            o += t.argKey + key + t.argKeyEnd + "\n" + t.argValue + (value.is_string() ? value.get<std::string>() : toJsonText(value)) +
                 t.argValueEnd + "\n";
        o += t.toolCallEnd + "\n";
    }
    return o + t.toolCallsEnd;
}

}  // namespace

std::vector<std::string> Hy3TokenFamily::coreTokens() const { return {bos, user, assistant, eos, reasoningMode, thinkOpen, thinkClose}; }

std::vector<std::string> Hy3TokenFamily::toolTokens() const {
    return {toolCalls, toolCallsEnd, toolCall, toolCallEnd, toolSep, argKey, argKeyEnd, argValue, argValueEnd,
            toolResponses, toolResponsesEnd, toolResponse, toolResponseEnd};
}

const Hy3TokenFamily& hy3PreviewTokens() {
    static const Hy3TokenFamily f = previewFamily();
    return f;
}

const Hy3TokenFamily& hy3OpensourceTokens() {
    static const Hy3TokenFamily f = opensourceFamily();
    return f;
}

std::optional<Hy3TokenFamily> detectHy3Family(const Tokenizer& tokenizer) {
    for (const Hy3TokenFamily* f : {&hy3OpensourceTokens(), &hy3PreviewTokens()})
        if (missingTokens(tokenizer, f->coreTokens()).empty()) return *f;
    return std::nullopt;
}

LossMask parseLossMask(const std::string& name) {
    if (name == "assistant") return LossMask::Assistant;
    if (name == "last_assistant") return LossMask::LastAssistant;
    if (name == "all") return LossMask::All;
    fail("data.loss_mask", "expected assistant, last_assistant or all, got \"" + name + "\"");
}

void checkReasoningEffort(const std::string& effort, const std::string& where) {
    if (effort != "no_think" && effort != "low" && effort != "high")
        fail(where, "expected no_think, low or high, got \"" + effort + "\"");
}

ChatFormat ChatFormat::jinja(std::shared_ptr<const Tokenizer> tokenizer, const std::string& source, const std::string& name,
                             const std::string& reasoningEffort) {
    checkReasoningEffort(reasoningEffort, "data.reasoning_effort");
    ChatFormat f;
    f.tokenizer_ = std::move(tokenizer);
    f.templ_ = std::make_shared<const jinja::Template>(source, name);
    f.family_ = detectHy3Family(*f.tokenizer_);
    f.reasoningEffort_ = reasoningEffort;
    return f;
}

ChatFormat ChatFormat::builtinHy3(std::shared_ptr<const Tokenizer> tokenizer, const std::string& reasoningEffort) {
    checkReasoningEffort(reasoningEffort, "data.reasoning_effort");
    ChatFormat f;
    f.tokenizer_ = std::move(tokenizer);
    f.reasoningEffort_ = reasoningEffort;
    f.family_ = detectHy3Family(*f.tokenizer_);
    if (!f.family_)
        fail(f.tokenizer_->source(), "the built-in Hy3 chat format needs the special tokens of Hy3-preview or of the :opensource "
                                     "release; this tokenizer lacks " + joined(missingTokens(*f.tokenizer_, hy3PreviewTokens().coreTokens())) +
                                         " (Hy3-preview) and " + joined(missingTokens(*f.tokenizer_, hy3OpensourceTokens().coreTokens())) +
                                         " (:opensource)");
    return f;
}

ChatFormat ChatFormat::choose(std::shared_ptr<const Tokenizer> tokenizer, const std::string& choice, const std::string& effort) {
    if (choice == "hy3") return builtinHy3(std::move(tokenizer), effort);
    if (choice == "auto" || choice.empty()) {
        if (!tokenizer->chatTemplate().empty()) {
            const std::string name = tokenizer->source() + " (chat_template)";
            return jinja(tokenizer, tokenizer->chatTemplate(), name, effort);
        }
        return builtinHy3(std::move(tokenizer), effort);
    }
    return jinja(std::move(tokenizer), readTextFile(choice, jinja::limits::kTemplateBytes), choice, effort);
}

std::string ChatFormat::description() const {
    if (templ_) return "Jinja template " + templ_->name();
    return "built-in Hy3 format, " + family_->name + " tokens (reasoning effort " + reasoningEffort_ + " unless a record names its own)";
}

std::string ChatFormat::effortFor(const std::string& effort) const {
    if (effort.empty()) return reasoningEffort_;
    checkReasoningEffort(effort, "reasoning_effort");
    return effort;
}

std::string ChatFormat::render(const json& messages, const json& tools, bool addGenerationPrompt, const json& extra,
                               const std::string& effort) const {
    if (!templ_) return renderBuiltin(messages, tools, addGenerationPrompt, effortFor(effort)).text;
    return renderJinja(messages, tools, addGenerationPrompt, !addGenerationPrompt, extra, effortFor(effort));
}

std::string ChatFormat::renderJinja(const json& messages, const json& tools, bool addGenerationPrompt, bool training, const json& extra,
                                    const std::string& effort) const {
    json context = extra.is_object() ? extra : json::object();
    context["messages"] = messages;
    if (!tools.is_null()) context["tools"] = tools;
    context["add_generation_prompt"] = addGenerationPrompt;
    // What Tencent's fine-tuning passes to Hy3's template (finetune/deepspeed_support/train.py);
    // other templates ignore both.
    if (!context.contains("reasoning_effort")) context["reasoning_effort"] = effort;
    if (!context.contains("is_training")) context["is_training"] = training;
    if (!tokenizer_->bosToken().empty()) context["bos_token"] = tokenizer_->bosToken();
    if (!tokenizer_->eosToken().empty()) context["eos_token"] = tokenizer_->eosToken();
    if (!tokenizer_->padToken().empty()) context["pad_token"] = tokenizer_->padToken();
    return templ_->render(context);
}

// The built-in Hy3 format, rule by rule as Hy3's chat_template.jinja writes it (README: "The Hy3
// conversation format" names the source of each rule).
RenderedConversation ChatFormat::renderBuiltin(const json& messages, const json& tools, bool inference, const std::string& effort) const {
    const Hy3TokenFamily& t = *family_;
    const bool withTools = hasTools(tools);
    bool anyToolCalls = false;
    size_t lastUser = 0;
    std::string system;
    for (size_t i = 0; i < messages.size(); ++i) {
        const std::string role = messages[i].value("role", "");
        if (role == "system") system += stringField(messages[i], "content");  // every system text, in order, right after bos
        if (role == "user") lastUser = i;
        if (role == "tool" || (messages[i].contains("tool_calls") && !messages[i]["tool_calls"].empty())) anyToolCalls = true;
    }
    if (withTools || anyToolCalls)
        if (const auto missing = missingTokens(*tokenizer_, t.toolTokens()); !missing.empty())
            fail(tokenizer_->source(), "this conversation uses tools, but the tokenizer lacks " + joined(missing));

    RenderedConversation r;
    r.text = t.bos + system;
    if (withTools) r.text += toolInstructions(t, tools, !system.empty());
    r.text += t.reasoningMode + "reasoning_effort:" + effort;
    bool inResponses = false;  // inside a <tool_responses> block
    auto closeResponses = [&] {
        if (inResponses) r.text += t.toolResponsesEnd;
        inResponses = false;
    };
    for (size_t i = 0; i < messages.size(); ++i) {
        const json& m = messages[i];
        const std::string role = m.value("role", "");
        const std::string content = stringField(m, "content");
        if (role == "system") continue;
        if (role == "user") {
            closeResponses();
            r.text += t.user + content;
        } else if (role == "assistant") {
            closeResponses();
            r.text += t.assistant;
            const size_t begin = r.text.size();
            // At inference the reasoning of turns before the last user turn is dropped.
            const std::string reasoning = inference && i < lastUser ? std::string() : reasoningOf(m);
            r.text += t.thinkOpen + reasoning + t.thinkClose + content;
            if (m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty())
                r.text += toolCallsText(t, m["tool_calls"], "message " + std::to_string(i));
            r.text += t.eos;
            r.assistantSpans.push_back({begin, r.text.size()});
        } else if (role == "tool") {
            if (!inResponses) r.text += t.toolResponses + "\n";
            inResponses = true;
            r.text += t.toolResponse + "\n" + content + "\n" + t.toolResponseEnd + "\n";
        } else {
            fail("message " + std::to_string(i), "unknown role \"" + role + "\" (system, user, assistant or tool)");
        }
    }
    closeResponses();
    if (inference) r.text += t.assistant + t.thinkOpen + (effort == "no_think" ? t.thinkClose : std::string());
    return r;
}

// Tencent's rule for Hy3 templates: each reply runs from the token after an Assistant token
// through the next eos token, both found in the rendered text. Nullopt when the template does not
// write one Assistant token and one eos per reply (it is not a Hy3 template after all).
std::optional<std::vector<CharSpan>> ChatFormat::hy3Spans(const std::string& text, size_t replies) const {
    const Hy3TokenFamily& t = *family_;
    std::vector<CharSpan> spans;
    for (size_t at = text.find(t.assistant); at != std::string::npos; at = text.find(t.assistant, at)) {
        const size_t begin = at + t.assistant.size();
        const size_t eos = text.find(t.eos, begin);
        if (eos == std::string::npos) return std::nullopt;
        spans.push_back({begin, eos + t.eos.size()});
        at = eos;
    }
    if (spans.size() != replies) return std::nullopt;
    return spans;
}

// Any other template: a reply is what follows the render of the turns before it with the
// generation prompt, through the next eos token.
std::vector<CharSpan> ChatFormat::prefixSpans(const std::string& text, const json& messages, const json& tools,
                                              const std::string& effort) const {
    std::vector<CharSpan> spans;
    const std::string& eos = tokenizer_->eosToken();
    for (size_t i = 0; i < messages.size(); ++i) {
        if (messages[i].value("role", "") != "assistant") continue;
        const json before(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i));
        const std::string prefix = renderJinja(before, tools, true, true, json::object(), effort);
        if (text.compare(0, prefix.size(), prefix) != 0)
            fail("message " + std::to_string(i), "the chat template renders this conversation's earlier turns differently "
                                                   "from its own prefix, so the assistant reply cannot be located");
        CharSpan span{prefix.size(), text.size()};
        const size_t eosAt = eos.empty() ? std::string::npos : text.find(eos, span.begin);
        if (eosAt != std::string::npos) {
            span.end = eosAt + eos.size();
        } else if (i + 1 < messages.size()) {
            const json upTo(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i + 1));
            const std::string through = renderJinja(upTo, tools, false, true, json::object(), effort);
            if (text.compare(0, through.size(), through) != 0)
                fail("message " + std::to_string(i), "cannot find where this assistant reply ends (no eos token in the template)");
            span.end = through.size();
        }
        spans.push_back(span);
    }
    return spans;
}

RenderedConversation ChatFormat::renderForTraining(const json& messages, const json& tools, const std::string& effortIn) const {
    const std::string effort = effortFor(effortIn);
    if (!templ_) return renderBuiltin(messages, tools, false, effort);
    RenderedConversation r;
    r.text = renderJinja(messages, tools, false, true, json::object(), effort);
    size_t replies = 0;
    for (const json& m : messages) replies += m.value("role", "") == "assistant" ? 1 : 0;
    std::optional<std::vector<CharSpan>> spans;
    if (family_) spans = hy3Spans(r.text, replies);
    r.assistantSpans = spans ? std::move(*spans) : prefixSpans(r.text, messages, tools, effort);
    return r;
}

TokenizedConversation ChatFormat::tokenize(const json& messages, const json& tools, LossMask policy, const std::string& effort) const {
    RenderedConversation r = renderForTraining(messages, tools, effort);
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
