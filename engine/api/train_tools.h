#pragma once
// Engine facade for `hy3 train` and `hy3 generate`. No torch headers.
#include "job/stop_signal.h"
#include "job/trainer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hy3::api {


struct GenerateRequest {
    std::string model;             // checkpoint folder (LoRA ones too), model directory, a run's checkpoints folder, or a preset
    std::string adapter;           // a PEFT LoRA adapter directory run unmerged on `model` (a LoRA checkpoint brings its own)
    std::string tokenizer;         // default: the model directory's tokenizer files
    std::vector<std::string> prompts;
    std::string system;            // an optional system message before each prompt
    std::string chatTemplate = "auto";
    std::string reasoningEffort = "no_think";
    int64_t maxNewTokens = 64;
    double temperature = 0;        // 0: greedy
    double topP = 1.0;
    uint64_t seed = 0;
    std::string dtype = "fp32";
    int threads = 0;
};

struct GenerateResult {
    std::string prompt;
    std::string text;              // the reply, special tokens and the reasoning block removed
    std::string reasoning;         // what stood between <think> and </think> at the start of the reply
    int64_t promptTokens = 0, newTokens = 0;
    double seconds = 0;
    bool stopped = false;          // ended at an end-of-turn token (else at max_new_tokens)
};

// One reply per prompt, each from a fresh KV cache.
std::vector<GenerateResult> generate(const GenerateRequest& request);

// A question file: one JSON object per line with "question" (or "prompt") and optionally "answer".
struct Question {
    std::string question, answer;
};
std::vector<Question> readQuestions(const std::string& file);

// Every question asked (as a user turn, with `request`'s model and decoding), each reply scored as
// an exact match of its answer (questions without an answer are asked, not scored).
struct QuestionScore {
    std::vector<Question> questions;
    std::vector<GenerateResult> replies;  // in the questions' order
    std::vector<bool> correct;            // per question; false where there is no answer
    int64_t scored = 0, right = 0;
};
QuestionScore scoreQuestions(GenerateRequest request, const std::vector<Question>& questions);

}  // namespace hy3::api
