#pragma once
// Engine facade for the data commands (tokenize, render, prepare, data-stats)
// and the GUI's data page. No torch headers.
#include "config/project.h"
#include "data/dataset.h"
#include "data/record_browser.h"
#include "data/tokenizer.h"

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace hy3::api {

std::shared_ptr<const Tokenizer> loadTokenizer(const std::string& dir);

struct RenderRequest {
    std::string tokenizer;               // folder with tokenizer.json
    std::string templateChoice = "auto"; // auto, hy3, or a .jinja file
    std::string reasoningEffort = "no_think";
    bool addGenerationPrompt = false;
    nlohmann::json extra = nlohmann::json::object();  // more template variables (enable_thinking, ...)
};

// A conversation file: an array of messages, or {"messages": [...], "tools": [...]}.
struct Conversation {
    nlohmann::json messages = nlohmann::json::array();
    nlohmann::json tools;  // null when absent
    std::string reasoningEffort;  // {"reasoning_effort": ...} of the file; empty: the request's
};
Conversation readConversation(const std::string& file);

// The rendered text.
std::string renderConversation(const RenderRequest& request, const Conversation& conversation);
// Token ids and loss mask of the conversation as training sees it.
struct RenderedTokens {
    std::vector<int32_t> ids;
    std::vector<uint8_t> mask;
    std::vector<std::string> tokens;
};
RenderedTokens renderTokens(const RenderRequest& request, const Conversation& conversation, const std::string& lossMask);
// Each line of FILE is {"messages", "tools"?, "add_generation_prompt"?, "extra"?}; writes one JSON
// string (the render) per line.
void renderJsonLines(const RenderRequest& request, const std::string& file, std::ostream& out);

// Reads FILE (one JSON string per line) and writes one JSON array of ids per line to `out`.
// Throws hy3::Error naming the file and line for a line that is not a JSON string.
void tokenizeJsonLines(const Tokenizer& tokenizer, const std::string& file, std::ostream& out);


// Prepares (or reuses) the token cache of a project, after `--set` overrides.
PrepareResult prepareProject(const std::string& projectFile, const std::vector<std::string>& overrides,
                             const std::function<void(const PrepareProgress&)>& progress = {}, int threads = 0);
// The same for a project held in memory (the workbench's, maybe unsaved); `*cancel` stops it.
PrepareResult prepareProjectFile(const ProjectFile& project, const std::function<void(const PrepareProgress&)>& progress,
                                 const std::atomic<bool>* cancel);

// The project's token cache when it was prepared before, else nothing (cheap: no tokenizing).
std::optional<PrepareResult> findPreparedProjectData(const ProjectFile& project);

// The conversation preview over a project's datasets, with the project's tokenizer, chat template,
// loss mask and sequence length. Throws hy3::Error naming the field that stops it.
std::unique_ptr<RecordBrowser> openRecordBrowser(const ProjectFile& project, const std::atomic<bool>* cancel);


}  // namespace hy3::api
