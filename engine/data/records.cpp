#include "data/records.h"

#include "util/error.h"

namespace hy3 {
using json = nlohmann::json;

namespace {

std::string requireString(const json& object, const char* key, const std::string& where) {
    if (!object.contains(key)) throw Error(where + "missing \"" + key + "\"");
    if (!object[key].is_string()) throw Error(where + "\"" + key + "\" is not a string");
    return object[key].get<std::string>();
}

// Checks roles and replies of a normalised conversation.
void validateConversation(const json& messages) {
    if (!messages.is_array() || messages.empty()) throw Error("no messages");
    bool anyAssistant = false;
    for (size_t i = 0; i < messages.size(); ++i) {
        const json& m = messages[i];
        const std::string where = "message " + std::to_string(i) + ": ";
        if (!m.is_object()) throw Error(where + "not an object");
        const std::string role = requireString(m, "role", where);
        if (role != "system" && role != "user" && role != "assistant" && role != "tool")
            throw Error(where + "unknown role \"" + role + "\" (system, user, assistant or tool)");
        const bool hasToolCalls = m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty();
        if (role == "assistant") {
            anyAssistant = true;
            const bool empty = !m.contains("content") || m["content"].is_null() ||
                               (m["content"].is_string() && m["content"].get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos);
            if (empty && !hasToolCalls) throw Error(where + "empty assistant reply");
            if (m.contains("content") && !m["content"].is_null() && !m["content"].is_string())
                throw Error(where + "content is not a string");
        } else if (!m.contains("content") || !m["content"].is_string()) {
            throw Error(where + "content is missing or not a string");
        }
        if (m.contains("reasoning_content") && !m["reasoning_content"].is_null() && !m["reasoning_content"].is_string())
            throw Error(where + "reasoning_content is not a string");
    }
    if (!anyAssistant) throw Error("no assistant reply to learn from");
}

json normaliseMessages(const json& in) {
    json out = json::array();
    for (const json& m : in) {
        json n = m;
        if (n.is_object() && n.contains("content") && n["content"].is_null() && n.value("role", "") == "assistant") n["content"] = "";
        out.push_back(n);
    }
    return out;
}

std::string shareGptRole(const std::string& from, size_t index) {
    if (from == "human" || from == "user") return "user";
    if (from == "gpt" || from == "assistant" || from == "function_call") return "assistant";
    if (from == "system") return "system";
    if (from == "observation" || from == "tool" || from == "function") return "tool";
    throw Error("turn " + std::to_string(index) + ": unknown speaker \"" + from + "\" (human, gpt, system or observation)");
}

}  // namespace

const char* recordFormatName(RecordFormat f) {
    switch (f) {
    case RecordFormat::Messages: return "messages";
    case RecordFormat::ShareGpt: return "sharegpt";
    case RecordFormat::Alpaca: return "alpaca";
    case RecordFormat::PromptCompletion: return "prompt_completion";
    case RecordFormat::Text: return "text";
    }
    return "?";
}

std::optional<RecordFormat> parseRecordFormat(const std::string& name, const std::string& where) {
    if (name == "auto") return std::nullopt;
    for (RecordFormat f : {RecordFormat::Messages, RecordFormat::ShareGpt, RecordFormat::Alpaca, RecordFormat::PromptCompletion,
                           RecordFormat::Text})
        if (name == recordFormatName(f)) return f;
    fail(where, "unknown format \"" + name + "\" (auto, messages, sharegpt, alpaca, prompt_completion, text)");
}

std::optional<RecordFormat> detectRecordFormat(const json& r) {
    if (!r.is_object()) return std::nullopt;
    if (r.contains("messages")) return RecordFormat::Messages;
    if (r.contains("conversations")) return RecordFormat::ShareGpt;
    if (r.contains("instruction") && r.contains("output")) return RecordFormat::Alpaca;
    if (r.contains("prompt") && r.contains("completion")) return RecordFormat::PromptCompletion;
    if (r.contains("text")) return RecordFormat::Text;
    return std::nullopt;
}

Record parseRecord(const json& r, RecordFormat format) {
    if (!r.is_object()) throw Error("not a JSON object");
    Record out;
    switch (format) {
    case RecordFormat::Messages:
        if (!r.contains("messages") || !r["messages"].is_array()) throw Error("missing \"messages\" array");
        out.messages = normaliseMessages(r["messages"]);
        if (r.contains("tools") && !r["tools"].is_null()) {
            if (!r["tools"].is_array()) throw Error("\"tools\" is not an array");
            out.tools = r["tools"];
        }
        if (r.contains("reasoning_effort") && !r["reasoning_effort"].is_null()) {
            const json& e = r["reasoning_effort"];
            if (!e.is_string() || (e != "no_think" && e != "low" && e != "high"))
                throw Error("\"reasoning_effort\" must be \"no_think\", \"low\" or \"high\", got " + e.dump());
            out.reasoningEffort = e.get<std::string>();
        }
        break;
    case RecordFormat::ShareGpt: {
        if (!r.contains("conversations") || !r["conversations"].is_array()) throw Error("missing \"conversations\" array");
        if (r.contains("system") && r["system"].is_string() && !r["system"].get<std::string>().empty())
            out.messages.push_back({{"role", "system"}, {"content", r["system"]}});
        const json& turns = r["conversations"];
        for (size_t i = 0; i < turns.size(); ++i) {
            if (!turns[i].is_object()) throw Error("turn " + std::to_string(i) + ": not an object");
            const std::string where = "turn " + std::to_string(i) + ": ";
            out.messages.push_back({{"role", shareGptRole(requireString(turns[i], "from", where), i)},
                                    {"content", requireString(turns[i], "value", where)}});
        }
        if (r.contains("tools") && r["tools"].is_array()) out.tools = r["tools"];
        break;
    }
    case RecordFormat::Alpaca: {
        std::string user = requireString(r, "instruction", "");
        if (r.contains("input") && r["input"].is_string() && !r["input"].get<std::string>().empty())
            user += "\n\n" + r["input"].get<std::string>();
        if (r.contains("system") && r["system"].is_string() && !r["system"].get<std::string>().empty())
            out.messages.push_back({{"role", "system"}, {"content", r["system"]}});
        out.messages.push_back({{"role", "user"}, {"content", user}});
        out.messages.push_back({{"role", "assistant"}, {"content", requireString(r, "output", "")}});
        break;
    }
    case RecordFormat::PromptCompletion:
        out.messages.push_back({{"role", "user"}, {"content", requireString(r, "prompt", "")}});
        out.messages.push_back({{"role", "assistant"}, {"content", requireString(r, "completion", "")}});
        break;
    case RecordFormat::Text:
        out.isText = true;
        out.text = requireString(r, "text", "");
        if (out.text.empty()) throw Error("empty \"text\"");
        return out;
    }
    validateConversation(out.messages);
    return out;
}

}  // namespace hy3
