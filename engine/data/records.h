#pragma once
// SFT record formats (one JSON object per line), turned into a conversation or plain text:
//   messages           {"messages": [{"role", "content", "reasoning_content"?, "tool_calls"?}], "tools"?,
//                       "reasoning_effort"?}  (Tencent's Hy3 fine-tuning data: no_think, low or high)
//   sharegpt           {"conversations": [{"from": "human"|"gpt"|"system"|"observation"|..., "value"}], "system"?, "tools"?}
//   alpaca             {"instruction", "input"?, "output", "system"?}
//   prompt_completion  {"prompt", "completion"}    (one user turn and the assistant's reply)
//   text               {"text"}                    (continued pretraining: every token in the loss)
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace hy3 {

enum class RecordFormat { Messages, ShareGpt, Alpaca, PromptCompletion, Text };

const char* recordFormatName(RecordFormat f);
// "auto" gives nullopt (detect per file); unknown names throw naming `where`.
std::optional<RecordFormat> parseRecordFormat(const std::string& name, const std::string& where);
// The format a record looks like, by its keys; nullopt when none fits.
std::optional<RecordFormat> detectRecordFormat(const nlohmann::json& record);

struct Record {
    bool isText = false;
    std::string text;                                     // text records
    nlohmann::json messages = nlohmann::json::array();    // chat records, normalised to role/content
    nlohmann::json tools;                                 // null when absent
    std::string reasoningEffort;                          // the record's own; empty: the project's
};

// Checks and converts one record. Throws hy3::Error with the reason (missing field, wrong role,
// empty assistant reply, ...); the caller adds the file and line.
Record parseRecord(const nlohmann::json& record, RecordFormat format);

}  // namespace hy3
