#include "api/data_tools.h"

#include "data/chat_format.h"
#include "data/project_data.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_fields.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <filesystem>
#include <fstream>

namespace hy3::api {

std::shared_ptr<const Tokenizer> loadTokenizer(const std::string& dir) { return Tokenizer::load(dir); }

Conversation readConversation(const std::string& file) {
    const nlohmann::json doc = readJsonFile(file);
    Conversation c;
    if (doc.is_array()) {
        c.messages = doc;
    } else if (doc.is_object() && doc.contains("messages") && doc["messages"].is_array()) {
        c.messages = doc["messages"];
        if (doc.contains("tools")) c.tools = doc["tools"];
        if (doc.contains("reasoning_effort") && doc["reasoning_effort"].is_string()) c.reasoningEffort = doc["reasoning_effort"];
    } else {
        fail(file, "expected an array of messages or {\"messages\": [...]}");
    }
    return c;
}

namespace {
ChatFormat formatFor(const RenderRequest& r) {
    return ChatFormat::choose(Tokenizer::load(r.tokenizer), r.templateChoice, r.reasoningEffort);
}
}  // namespace

std::string renderConversation(const RenderRequest& r, const Conversation& c) {
    return formatFor(r).render(c.messages, c.tools, r.addGenerationPrompt, r.extra, c.reasoningEffort);
}

RenderedTokens renderTokens(const RenderRequest& r, const Conversation& c, const std::string& lossMask) {
    const ChatFormat format = formatFor(r);
    const TokenizedConversation t = format.tokenize(c.messages, c.tools, parseLossMask(lossMask), c.reasoningEffort);
    RenderedTokens out{t.ids, t.mask, {}};
    for (int32_t id : t.ids) out.tokens.push_back(format.tokenizer().tokenText(id));
    return out;
}

void renderJsonLines(const RenderRequest& r, const std::string& file, std::ostream& out) {
    const ChatFormat format = formatFor(r);
    std::ifstream in(file);
    if (!in) fail(file, "cannot open");
    std::string line;
    for (int64_t number = 1; readLine(in, line, file, number); ++number) {
        const std::string where = file + ":" + std::to_string(number);
        const nlohmann::json c = parseJson(line, where);
        if (!c.is_object() || !c.contains("messages")) fail(where, "expected {\"messages\": [...]}");
        out << nlohmann::json(format.render(c["messages"], c.value("tools", nlohmann::json()), c.value("add_generation_prompt", false),
                                            c.value("extra", nlohmann::json::object())))
                   .dump()
            << "\n";
    }
}

namespace {

// "[1,2,3]\n", as nlohmann's dump() writes an array of integers, without building one.
void appendJsonArray(const std::vector<int32_t>& ids, std::string& text) {
    char number[16];
    text += '[';
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) text += ',';
        const auto end = std::to_chars(number, number + sizeof number, ids[i]).ptr;
        text.append(number, end);
    }
    text += "]\n";
}

constexpr size_t kFlushBytes = 1 << 20;

}  // namespace

void tokenizeJsonLines(const Tokenizer& tokenizer, const std::string& file, std::ostream& out) {
    std::ifstream in(file);
    if (!in) fail(file, "cannot open");
    std::string line, text;
    std::vector<int32_t> ids;
    for (int64_t number = 1; readLine(in, line, file, number); ++number) {
        const nlohmann::json value = parseJson(line, file + ":" + std::to_string(number));
        if (!value.is_string()) fail(file + ":" + std::to_string(number), "expected a JSON string");
        ids.clear();
        tokenizer.encode(value.get<std::string>(), ids, nullptr);
        appendJsonArray(ids, text);
        if (text.size() >= kFlushBytes) {
            out.write(text.data(), static_cast<std::streamsize>(text.size()));
            text.clear();
        }
    }
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

PrepareResult prepareProject(const std::string& projectFile, const std::vector<std::string>& overrides,
                             const std::function<void(const PrepareProgress&)>& progress, int threads) {
    const Project project = loadProject(projectFile, overrides);
    return prepareData(dataConfigFor(project), dataCacheRoot(project), progress, threads);
}

PrepareResult prepareProjectFile(const ProjectFile& file, const std::function<void(const PrepareProgress&)>& progress,
                                 const std::atomic<bool>* cancel) {
    const Project project = file.resolve();
    return prepareData(dataConfigFor(project), dataCacheRoot(project), progress, 0, cancel);
}

std::optional<PrepareResult> findPreparedProjectData(const ProjectFile& file) {
    const Project project = file.resolve();
    return findPreparedData(dataConfigFor(project), dataCacheRoot(project));
}

std::unique_ptr<RecordBrowser> openRecordBrowser(const ProjectFile& file, const std::atomic<bool>* cancel) {
    return std::make_unique<RecordBrowser>(dataConfigFor(file.resolve()), cancel);
}


}  // namespace hy3::api
