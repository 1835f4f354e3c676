#pragma once
// Project files (*.hy3proj): JSON with `schema_version: 1`. The JSON document is the source of
// truth: edits go into it by dotted key, unknown fields survive load/save, and `resolve()` turns it
// into typed settings with paths made absolute. Paths are stored relative to the project file.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hy3 {

constexpr int kProjectSchemaVersion = 1;

struct Layout {
    int64_t pp = 1;  // pipeline stages
    int64_t dp = 1;  // data-parallel replicas
    int64_t ep = 1;  // expert-parallel group size (divides dp)
    int64_t worldSize() const { return pp * dp; }
};

struct DistributedSettings {
    int64_t timeout_s = 600;    // one collective, or the rendezvous
    int64_t heartbeat_s = 30;   // silence after which a rank counts as gone
};

// What the project says about its model; config/model_source.h resolves it.
struct ModelSpec {
    std::string preset;               // a preset name from resources/presets, or empty
    std::filesystem::path directory;  // an HF model directory (absolute), or empty
    std::filesystem::path tokenizer;  // model.tokenizer: a tokenizer folder overriding the default (absolute), or empty
    bool isPreset() const { return !preset.empty(); }
};

struct DatasetSpec {
    std::filesystem::path path;   // absolute
    std::string format = "auto";  // auto, messages, sharegpt, alpaca, prompt_completion, text
    std::string split = "train";  // train or validation
};

struct FreezeSettings {
    bool embeddings = false, attention = false, router = false;
    bool shared_expert = false, experts = false, lm_head = false;
};

// LoRA (training.method "lora"): PEFT's settings; engine/model/lora.h applies them.
struct LoraSpec {
    int64_t rank = 0;
    double alpha = 0, dropout = 0;
    bool use_rslora = false;
    std::vector<std::string> targets;  // q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj
    bool attention = false, dense_mlp = false, shared_expert = false, routed_experts = false;
    bool train_router = false;
    std::string init_adapter;  // absolute path of the adapter to start from; empty: a fresh one
};

// Filled field by field from the project file, a missing field taking its schema default
// (settings_schema.cpp): the defaults live there only, so none are repeated here.
struct TrainingSettings {
    double learning_rate = 0, min_lr = 0;
    std::string lr_schedule;
    int64_t warmup_steps = 0, epochs = 0, max_steps = 0;
    int64_t global_batch = 0, micro_batch = 0, seq_len = 0;
    bool packing = false;
    int64_t eval_every = 0, checkpoint_every = 0, keep_last = 0, keep_best = 0;
    double weight_decay = 0, adam_beta1 = 0, adam_beta2 = 0, adam_eps = 0, grad_clip = 0;
    int64_t seed = 0, max_bad_steps = 0;
    std::string dtype;
    std::string device;  // "auto", "cpu" or "cuda"
    double expert_bias_update = 0, aux_loss_coef = 0;
    bool activation_checkpointing = false;
    FreezeSettings freeze;
    std::string method;  // "full" or "lora"
    LoraSpec lora;
    bool isLora() const { return method == "lora"; }
};

// The module names of a lora.targets text ("q_proj, v_proj"); the unknown ones are the caller's to
// report.
std::vector<std::string> splitLoraTargets(const std::string& text);
// The modules LoRA may target (PEFT's target_modules names for Hy3), in model order, and the
// same joined by `separator` ("q_proj, k_proj, ..." for messages, "q_proj,k_proj,..." as the default).
extern const char* const kLoraModules[7];
std::string loraModuleList(const char* separator = ", ");

struct DataSettings {
    double validation_fraction = 0;
    std::string loss_mask, truncation, reasoning_effort;
    std::string chat_template;  // "auto", "hy3", or an absolute path to a Jinja file
};

struct Project {
    std::string name;
    ModelSpec model;
    std::vector<DatasetSpec> datasets;
    DataSettings data;
    TrainingSettings training;
    Layout layout;
    DistributedSettings distributed;
    std::filesystem::path output_dir;  // absolute
};

// One problem with a project file: the dotted key of the field ("training.learning_rate",
// "datasets[1].path") and the reason.
struct FieldError {
    std::string key;
    std::string message;
};

class ProjectFile {
public:
    // A new project with defaults, to be saved at `file` (which fixes the base of relative paths).
    static ProjectFile createNew(const std::filesystem::path& file, const std::string& name);
    // Reads a project file. Throws hy3::Error when the file is missing or not a JSON object.
    // Field problems do not throw here; see validate().
    static ProjectFile load(const std::filesystem::path& file);
    static ProjectFile fromJson(const nlohmann::json& doc, const std::filesystem::path& file);

    const nlohmann::json& document() const { return doc_; }
    const std::filesystem::path& file() const { return file_; }
    std::filesystem::path directory() const { return file_.parent_path(); }

    // The value at a dotted key, or null when absent. Settings from the schema fall back to their default.
    nlohmann::json get(const std::string& key) const;
    // Sets a value at a dotted key ("training.learning_rate", "layout.dp", "datasets[0].format").
    void set(const std::string& key, const nlohmann::json& value);
    // Parses "KEY=VALUE" (VALUE as JSON; a bare word is taken as a string) and sets it. Throws hy3::Error.
    void applyOverride(const std::string& assignment);
    // Stores an absolute path at a key, relative to the project's directory.
    void setPath(const std::string& key, const std::filesystem::path& absolute);
    std::filesystem::path absolutePath(const std::string& stored) const;

    // The chat template setting as the engine takes it: "auto", "hy3", or an absolute path.
    std::string chatTemplate() const;
    // model.path as an absolute path, or empty when the model is a preset.
    std::filesystem::path modelDirectory() const;
    // The lora.* settings (schema defaults for the missing ones), as resolve() reads them.
    LoraSpec loraSpec() const;
    // training.method is "lora" (the base frozen, adapters train).
    bool isLora() const { return get("training.method") == "lora"; }

    void setModelPreset(const std::string& preset);
    void setModelDirectory(const std::filesystem::path& absolute);
    void addDataset(const std::filesystem::path& absolute, const std::string& format, const std::string& split);
    void removeDataset(size_t index);

    // Every problem, each naming its field. Empty means resolve() succeeds.
    std::vector<FieldError> validate() const;
    // Typed settings. Throws hy3::Error naming the file and the first invalid field.
    Project resolve() const;

    // Writes atomically to file(). saveAs() moves the project: relative paths are rebased.
    void save() const;
    void saveAs(const std::filesystem::path& file);

private:
    ProjectFile(nlohmann::json doc, std::filesystem::path file);
    nlohmann::json doc_;
    std::filesystem::path file_;
};

// Loads a project file, applies `--set KEY=VALUE` overrides, validates and resolves it.
Project loadProject(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

// "a.b[2].c" -> JSON pointer "/a/b/2/c". Throws hy3::Error on a malformed key.
nlohmann::json::json_pointer keyToPointer(const std::string& key);

}  // namespace hy3
