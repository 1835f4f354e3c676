#include "api/common.h"
#include "api/data_tools.h"
#include "cli/commands.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace hy3::cli {

namespace {
struct RenderOptions {
    api::RenderRequest request;
    std::string messages, jsonl, lossMask = "assistant";
    std::vector<std::string> vars;
    bool ids = false, mask = false;
};
}  // namespace

void addRenderCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("render", "a conversation as the chat template renders it, or its token ids and loss mask");
    auto o = std::make_shared<RenderOptions>();
    cmd->add_option("--tokenizer", o->request.tokenizer, "folder with tokenizer.json (and its chat template)")->required();
    auto* messages = cmd->add_option("--messages", o->messages, "JSON file: an array of messages, or {\"messages\", \"tools\"}");
    auto* jsonl = cmd->add_option("--jsonl", o->jsonl, "one case per line: {\"messages\", \"tools\", \"add_generation_prompt\", \"extra\"}");
    messages->excludes(jsonl);
    cmd->add_option("--template", o->request.templateChoice, "auto, hy3 (built-in) or a .jinja file")->capture_default_str();
    cmd->add_option("--reasoning-effort", o->request.reasoningEffort, "built-in Hy3 format: no_think, low or high")->capture_default_str();
    cmd->add_flag("--add-generation-prompt", o->request.addGenerationPrompt, "end with the assistant's opening");
    cmd->add_option("--var", o->vars, "more template variables, KEY=JSON (e.g. enable_thinking=false)");
    cmd->add_flag("--ids", o->ids, "print token ids (as training tokenizes it)");
    cmd->add_flag("--mask", o->mask, "print the loss mask (1 = in the loss)");
    cmd->add_option("--loss-mask", o->lossMask, "assistant, last_assistant or all")->capture_default_str();
    cmd->callback([&action, o, messages, jsonl] {
        if (messages->count() + jsonl->count() == 0) throw CLI::RequiredError("--messages or --jsonl");
        action = [o] {
            for (const std::string& v : o->vars) {
                const size_t eq = v.find('=');
                if (eq == std::string::npos) fail("--var " + v, "expected KEY=JSON");
                nlohmann::json value;
                try {
                    value = nlohmann::json::parse(v.substr(eq + 1));
                } catch (const nlohmann::json::exception&) {  // not JSON: the text itself
                    value = v.substr(eq + 1);
                }
                o->request.extra[v.substr(0, eq)] = value;
            }
            if (!o->jsonl.empty()) {
                api::renderJsonLines(o->request, o->jsonl, std::cout);
                return 0;
            }
            const api::Conversation c = api::readConversation(o->messages);
            if (!o->ids && !o->mask) {
                std::cout << api::renderConversation(o->request, c);
                return 0;
            }
            const api::RenderedTokens t = api::renderTokens(o->request, c, o->lossMask);
            nlohmann::json out = nlohmann::json::object();
            if (o->ids) out["ids"] = t.ids, out["tokens"] = t.tokens;
            if (o->mask) out["mask"] = t.mask;
            std::cout << out.dump() << "\n";
            return 0;
        };
    });
}

}  // namespace hy3::cli
