#include "api/train_tools.h"
#include "cli/commands.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace hy3::cli {

void addTrainCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("train", "train a project: prepare data, train, evaluate, checkpoint, export");
    auto req = std::make_shared<TrainRequest>();
    auto events = std::make_shared<std::string>();
    cmd->add_option("project", req->project, "project file (*.hy3proj)")->required();
    cmd->add_option("--max-steps", req->maxSteps, "optimizer steps (overrides training.max_steps)");
    cmd->add_option("--output", req->output, "output folder for the run (overrides output_dir)");
    cmd->add_option("--resume", req->resume, "continue from a checkpoint: \"latest\" or its folder")->expected(0, 1)->default_str("latest");
    cmd->add_flag("--weights-only", req->weightsOnly, "with --resume: start a new run from the checkpoint's weights (fresh optimizer)");
    cmd->add_option("--events", *events, "\"jsonl\": one JSON object per event on stdout")->check(CLI::IsMember({"jsonl"}));
    cmd->add_option("--set", req->overrides, "KEY=VALUE: change a project setting for this run (VALUE is JSON); repeatable");
    cmd->add_option("--run-name", req->runName, "name of the run folder (default: the start time)");
    cmd->add_option("--threads", req->threads, "CPU threads (default: LibTorch's)");
    cmd->add_option("--stop-after", req->stopAfter, "stop after this step with a checkpoint, as if interrupted");
    cmd->add_option("--save-batches", req->saveBatches,
                    "DIR: write every micro-batch as trained (step-S-rank-R-micro-M.safetensors, as hy3 forward --input reads)");
    cmd->add_option("--inject-nan-at", req->injectNanAt, "testing: make this step's loss NaN; repeatable")->group("");
    cmd->callback([&action, req, events, cmd] {
        // A bare --resume means latest.
        if (cmd->count("--resume") > 0 && req->resume.empty()) req->resume = "latest";
        req->eventsJsonl = *events == "jsonl";
        action = [req] {
            installStopSignalHandlers();
            const TrainOutcome outcome = runTraining(*req, std::cout, std::cerr);
            return outcome.exitCode;
        };
    });
}

void addGenerateCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("generate", "answer prompts with a trained model (chat template, KV cache)");
    auto req = std::make_shared<api::GenerateRequest>();
    auto questions = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("model", req->model, "checkpoint folder (a LoRA checkpoint runs its adapter on its base), model directory, "
                                          "a run's checkpoints folder, or a preset")->required();
    cmd->add_option("--adapter", req->adapter, "PEFT LoRA adapter directory to run unmerged on the model");
    cmd->add_option("--prompt,-p", req->prompts, "a user message; repeatable");
    cmd->add_option("--questions", *questions, "JSONL of {\"question\", \"answer\"}: answer each and score exact matches");
    cmd->add_option("--system", req->system, "a system message before each prompt");
    cmd->add_option("--tokenizer", req->tokenizer, "tokenizer folder (default: the model's)");
    cmd->add_option("--chat-template", req->chatTemplate, "auto, hy3, or a .jinja file")->capture_default_str();
    cmd->add_option("--reasoning-effort", req->reasoningEffort, "no_think, low or high (built-in Hy3 format)")->capture_default_str();
    cmd->add_option("--max-new-tokens", req->maxNewTokens, "tokens to generate at most")->capture_default_str();
    cmd->add_option("--temperature", req->temperature, "0 = greedy")->capture_default_str();
    cmd->add_option("--top-p", req->topP, "nucleus sampling (with --temperature > 0)")->capture_default_str();
    cmd->add_option("--seed", req->seed, "sampling seed")->capture_default_str();
    cmd->add_option("--dtype", req->dtype, "fp32 or bf16")->capture_default_str();
    cmd->add_option("--threads", req->threads, "CPU threads (default: LibTorch's)");
    cmd->add_flag("--json", *json, "one JSON object per reply");
    cmd->callback([&action, req, questions, json] {
        if (req->prompts.empty() && questions->empty()) throw CLI::RequiredError("--prompt or --questions");
        action = [req, questions, json] {
            std::vector<api::Question> asked;
            if (!questions->empty()) asked = api::readQuestions(*questions);
            else
                for (const auto& p : req->prompts) asked.push_back({p, ""});
            const api::QuestionScore score = api::scoreQuestions(*req, asked);
            const auto& replies = score.replies;
            const int64_t scored = score.scored, correct = score.right;
            int64_t newTokens = 0;
            double seconds = 0;
            for (size_t i = 0; i < replies.size(); ++i) {
                const auto& r = replies[i];
                const std::string& expected = asked[i].answer;
                const bool match = score.correct[i];
                newTokens += r.newTokens;
                seconds += r.seconds;
                if (*json) {
                    nlohmann::json j = {{"prompt", r.prompt}, {"reply", r.text}, {"reasoning", r.reasoning}, {"prompt_tokens", r.promptTokens},
                                        {"new_tokens", r.newTokens}, {"seconds", r.seconds}, {"stopped", r.stopped}};
                    if (!expected.empty()) j["expected"] = expected, j["correct"] = match;
                    std::cout << j.dump() << "\n";
                } else if (expected.empty()) {
                    std::cout << r.prompt << "\n  -> " << r.text << "\n";
                } else {
                    std::cout << (match ? "ok    " : "wrong ") << r.prompt << "  ->  " << r.text
                              << (match ? "" : "   (expected " + expected + ")") << "\n";
                }
            }
            if (!*json) {
                std::cerr << replies.size() << " replies, " << newTokens << " tokens in " << seconds << " s ("
                          << (seconds > 0 ? static_cast<double>(newTokens) / seconds : 0.0) << " tokens/s)\n";
                if (scored > 0) std::cout << correct << " of " << scored << " answers correct\n";
            }
            return 0;
        };
    });
}

}  // namespace hy3::cli
