#pragma once
// Where a model comes from, resolved once: a preset name, an HF model directory or a config.json.
// Every "preset or path" the engine is given (the project's model, `--model`, `--preset`, a
// workbench field) goes through resolveModelSource, which parses the config once; the result is
// passed down instead of the name. No torch here.
#include "config/model_config.h"
#include "config/project.h"

#include <filesystem>
#include <string>

namespace hy3 {

struct ModelSource {
    std::string name;                   // as given: the preset's name or the path
    std::string preset;                 // the preset's name when it is one, else empty
    std::filesystem::path configFile;   // the config.json that was read
    std::filesystem::path directory;    // the model directory (weights, tokenizer files); empty for a preset or a bare config.json
    ModelConfig config;                 // parsed once
    bool isPreset() const { return !preset.empty(); }
    // A preset's bundled tokenizer folder (resources/tokenizers/<hy3_tokenizer>), or empty when the
    // preset names none or this is not a preset. The folder may be missing from the install.
    std::filesystem::path bundledTokenizer() const;
    // Which base a LoRA adapter was trained on, to check it is run and resumed on the same one:
    // "preset:NAME" (its weights come from training.seed, recorded beside it), or for a model
    // directory "sha256:" + 16 hex digits over config.json and the name and size of every
    // safetensors file (so it survives a move of the directory, not a change of its weights' files).
    std::string identity() const;
};

// `spec`: a preset name, a model directory or a config.json. Throws hy3::Error naming `spec`
// (and the known presets when it is neither a path nor a preset).
ModelSource resolveModelSource(const std::string& spec);
// The project's model (model.preset or model.path).
ModelSource resolveModelSource(const ModelSpec& model);

// The tokenizer folder training uses: model.tokenizer when set, else the model directory, else
// the preset's bundled tokenizer. Throws naming the project field when there is none or the
// folder lacks tokenizer.json. Reads no model config but a preset's.
std::filesystem::path tokenizerDirOf(const ModelSpec& model);

}  // namespace hy3
