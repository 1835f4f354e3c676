#pragma once
// Engine facade: what `hy3 model-info` and the GUI's Model page show about a model config.
// No torch headers here or below.
#include "config/model_config.h"
#include "config/model_cost.h"
#include "config/project.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hy3::api {

struct ModelReport {
    std::string source;        // the preset name or the directory/file given
    std::string config_path;   // the config.json read
    bool is_preset = false;
    ModelConfig config;
    ParameterCount parameters;
    int64_t seq_len = 0;
    double training_flops_per_token = 0;
    // Human-readable architecture lines ("Attention" -> "64 heads x 128, 8 KV heads (GQA), q/k norm").
    std::vector<std::pair<std::string, std::string>> architecture;
};

// `source` is a preset name or a path to a config.json or a model directory. Throws hy3::Error.
ModelReport describeModel(const std::string& source, int64_t seqLen);

// What comes with the model besides its config: the tokenizer and chat template training would use,
// and `hy3 checkpoint verify`'s problems for a model directory (headers and shapes, no tensor data).
struct ModelFiles {
    std::string tokenizer;              // the folder with tokenizer.json, or empty
    std::string chatTemplate;           // how conversations are rendered, or empty
    std::vector<std::string> problems;  // every problem found, including a missing tokenizer
};
// `tokenizer`: the project's model.tokenizer override (a folder), or empty.
ModelFiles checkModelFiles(const std::string& source, const std::string& tokenizer = "");
// checkModelFiles for the model and tokenizer a valid project names: what `hy3 train` would stop
// at before its first step. Empty for an invalid project (its field errors say why).
std::vector<std::string> projectModelProblems(const ProjectFile& project);


}  // namespace hy3::api
