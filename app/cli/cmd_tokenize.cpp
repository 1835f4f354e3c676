#include "api/data_tools.h"
#include "cli/commands.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

namespace hy3::cli {

namespace {
struct TokenizeOptions {
    std::string tokenizer, text, jsonl;
    bool json = false;
};
}  // namespace

void addTokenizeCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("tokenize", "token ids of a text (no special tokens added), or of every line of a JSONL file");
    auto o = std::make_shared<TokenizeOptions>();
    cmd->add_option("--tokenizer", o->tokenizer, "folder with tokenizer.json (a model directory)")->required();
    auto* text = cmd->add_option("--text", o->text, "the text to tokenize");
    auto* jsonl = cmd->add_option("--jsonl", o->jsonl, "file with one JSON string per line; prints one JSON array of ids per line");
    text->excludes(jsonl);
    cmd->add_flag("--json", o->json, "with --text: print {\"ids\": [...], \"tokens\": [...]}");
    cmd->callback([&action, o, text, jsonl] {
        if (text->count() + jsonl->count() == 0) throw CLI::RequiredError("--text or --jsonl");
        action = [o] {
            const auto tokenizer = api::loadTokenizer(o->tokenizer);
            if (!o->jsonl.empty()) {
                api::tokenizeJsonLines(*tokenizer, o->jsonl, std::cout);
                return 0;
            }
            const std::vector<int32_t> ids = tokenizer->encode(o->text);
            if (o->json) {
                nlohmann::json tokens = nlohmann::json::array();
                for (int32_t id : ids) tokens.push_back(tokenizer->tokenText(id));
                std::cout << nlohmann::json{{"ids", ids}, {"tokens", tokens}}.dump() << "\n";
            } else {
                for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
                std::cout << "\n";
            }
            return 0;
        };
    });
}

}  // namespace hy3::cli
