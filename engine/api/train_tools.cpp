#include "api/train_tools.h"

#include "checkpoint/runnable_model.h"
#include "config/model_source.h"
#include "data/chat_format.h"
#include "model/dtype.h"
#include "model/generate.h"
#include "util/error.h"
#include "util/json_fields.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>

namespace hy3::api {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Hy3 replies open with a reasoning block, empty in no_think mode: "<think>...</think>answer".
void splitReasoning(GenerateResult& r) {
    const std::string open = "<think>", close = "</think>";
    if (r.text.compare(0, open.size(), open) != 0) return;
    const size_t end = r.text.find(close);
    if (end == std::string::npos) return;
    r.reasoning = r.text.substr(open.size(), end - open.size());
    r.text = r.text.substr(end + close.size());
}

}  // namespace

std::vector<GenerateResult> generate(const GenerateRequest& r) {
    if (r.threads > 0) at::set_num_threads(r.threads);
    ModelOptions options;
    options.dtype = parseDtype(r.dtype);
    const RunnableSpec runnable = resolveRunnable(r.model, r.adapter);
    Hy3Model model = openRunnable(runnable, options);
    const fs::path tokenizerDir = r.tokenizer.empty() ? runnable.tokenizerDir : fs::path(r.tokenizer);
    const ChatFormat format = ChatFormat::choose(Tokenizer::load(tokenizerDir), r.chatTemplate, r.reasoningEffort);
    const Tokenizer& tokenizer = format.tokenizer();

    GenerateOptions g;
    g.maxNewTokens = r.maxNewTokens;
    g.temperature = r.temperature;
    g.topP = r.topP;
    g.seed = r.seed;
    if (model->config().eos_token_id >= 0) g.stopIds.push_back(static_cast<int32_t>(model->config().eos_token_id));
    const int32_t eos = tokenizer.tokenId(tokenizer.eosToken());
    if (eos >= 0) g.stopIds.push_back(eos);

    std::vector<GenerateResult> out;
    for (const std::string& prompt : r.prompts) {
        json messages = json::array();
        if (!r.system.empty()) messages.push_back({{"role", "system"}, {"content", r.system}});
        messages.push_back({{"role", "user"}, {"content", prompt}});
        const std::vector<int32_t> ids = tokenizer.encode(format.render(messages, json(), true));
        const auto started = std::chrono::steady_clock::now();
        std::vector<int32_t> reply = generateTokens(*model, ids, g);
        GenerateResult result;
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        result.prompt = prompt;
        result.promptTokens = static_cast<int64_t>(ids.size());
        result.newTokens = static_cast<int64_t>(reply.size());
        result.stopped = !reply.empty() && std::find(g.stopIds.begin(), g.stopIds.end(), reply.back()) != g.stopIds.end();
        if (result.stopped) reply.pop_back();
        result.text = tokenizer.decode(reply, true);
        splitReasoning(result);
        out.push_back(std::move(result));
    }
    return out;
}

std::vector<Question> readQuestions(const std::string& file) {
    std::ifstream in(file);
    if (!in) fail(file, "cannot open");
    std::vector<Question> out;
    std::string line;
    for (int64_t number = 1; readLine(in, line, file, number); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = file + ":" + std::to_string(number);
        const json j = parseJson(line, where);
        const char* key = j.is_object() && j.contains("question") ? "question" : "prompt";
        if (!j.is_object() || !j.contains(key) || !j[key].is_string()) fail(where, "expected {\"question\": \"...\", \"answer\": \"...\"}");
        Question q;
        q.question = j[key].get<std::string>();
        if (j.contains("answer") && j["answer"].is_string()) q.answer = j["answer"].get<std::string>();
        out.push_back(std::move(q));
    }
    if (out.empty()) fail(file, "has no questions");
    return out;
}

QuestionScore scoreQuestions(GenerateRequest request, const std::vector<Question>& questions) {
    QuestionScore score;
    score.questions = questions;
    request.prompts.clear();
    for (const Question& q : questions) request.prompts.push_back(q.question);
    score.replies = generate(request);
    for (size_t i = 0; i < questions.size(); ++i) {
        const std::string& expected = questions[i].answer;
        const bool match = !expected.empty() && i < score.replies.size() && score.replies[i].text == expected;
        score.correct.push_back(match);
        score.scored += !expected.empty();
        score.right += match;
    }
    return score;
}

}  // namespace hy3::api
