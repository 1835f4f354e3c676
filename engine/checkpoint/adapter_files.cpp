#include "checkpoint/adapter_files.h"

#include "checkpoint/peft_expert_layout.h"
#include "checkpoint/safetensors.h"
#include "checkpoint/tensor_io.h"
#include "checkpoint/verify.h"
#include "store/run_layout.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_fields.h"
#include "util/sha256.h"

#include <set>

namespace hy3 {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string joinedTargets(const LoraSettings& s, const char* separator) {
    std::string out;
    for (const char* m : kLoraModules)
        if (s.targets.count(m)) out += (out.empty() ? "" : separator) + std::string(m);
    return out;
}

// PEFT matches a string target_modules with re.fullmatch against each module's path (transformers
// names the shared expert shared_experts; the released checkpoint shared_mlp). The routed experts
// are target_parameters, not modules.
std::string targetRegex(const LoraSettings& s) {
    const std::string names = "(" + joinedTargets(s, "|") + ")";
    std::vector<std::string> groups;
    if (s.attention) groups.push_back("self_attn\\." + names);
    if (s.denseMlp) groups.push_back("mlp\\." + names);
    if (s.sharedExpert) groups.push_back("mlp\\.(shared_mlp|shared_experts)\\." + names);
    std::string alternatives;
    for (const std::string& g : groups) alternatives += (alternatives.empty() ? "" : "|") + g;
    return "model\\.layers\\.\\d+\\.(" + alternatives + ")";
}

}  // namespace

json adapterConfigJson(const LoraSettings& s, const std::string& baseModel) {
    json targets = json::array();
    for (const char* m : kLoraModules)
        if (s.targets.count(m)) targets.push_back(m);
    const bool everyGroup = s.attention && s.denseMlp && s.sharedExpert;
    json config = {{"peft_type", "LORA"},
            {"task_type", "CAUSAL_LM"},
            {"r", s.rank},
            {"lora_alpha", s.alpha},
            {"lora_dropout", s.dropout},
            {"use_rslora", s.useRslora},
            {"target_modules", everyGroup ? targets : json(targetRegex(s))},
            {"bias", "none"},
            {"fan_in_fan_out", false},
            {"inference_mode", true},
            {"base_model_name_or_path", baseModel}};
    addFusedExpertConfig(config, s);
    return config;
}

std::string writeAdapterTensors(const fs::path& file, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
    SafetensorsWriter writer(file, {{"format", "pt"}});
    for (const auto& [name, t] : tensors) writer.declare(name, DType::F32, t.sizes().vec());
    writer.begin();
    for (const auto& [name, t] : tensors) {
        const torch::Tensor cpu = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
        writer.write(name, cpu.data_ptr(), static_cast<size_t>(cpu.numel()) * sizeof(float));
    }
    return writer.finish();
}

std::map<std::string, std::string> completeAdapterDirectory(const fs::path& dir, const std::vector<fs::path>& parts,
                                                            const LoraSettings& settings, const std::string& baseModel) {
    AdapterTensors perExpert;  // adapters are small beside the model: all of them at once
    for (const fs::path& part : parts)
        for (auto& [key, t] : readSafetensors(part)) perExpert[key] = t;
    const AdapterTensors fused = fuseExpertAdapters(perExpert, settings);
    std::map<std::string, std::string> sha;
    sha[kAdapterWeightsFile] = writeAdapterTensors(dir / kAdapterWeightsFile, {fused.begin(), fused.end()});
    const std::string text = adapterConfigJson(settings, baseModel).dump(2) + "\n";
    writeFileAtomic(dir / kAdapterConfigFile, text);
    Sha256 hash;
    hash.update(text.data(), text.size());
    sha[kAdapterConfigFile] = hash.hex();
    return sha;
}

bool isAdapterDirectory(const fs::path& dir) {
    std::error_code ec;
    return fs::is_regular_file(dir / kAdapterConfigFile, ec);
}

AdapterDirectory readAdapterDirectory(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(dir.string(), "no such adapter directory");
    const fs::path configFile = dir / kAdapterConfigFile;
    if (!fs::is_regular_file(configFile, ec)) fail(dir.string(), "no adapter_config.json (expected a PEFT LoRA adapter directory)");
    const json doc = readJsonFile(configFile);
    JsonFields f(doc, configFile.string());
    if (f.optionalString("peft_type").value_or("") != "LORA") f.fail("peft_type", "expected \"LORA\"");
    AdapterDirectory a;
    a.path = dir;
    a.settings.rank = f.integer("r");
    a.settings.alpha = f.number("lora_alpha");
    a.settings.dropout = f.optionalNumber("lora_dropout").value_or(0.0);
    a.settings.useRslora = f.boolean("use_rslora", false);
    a.baseModel = f.optionalString("base_model_name_or_path").value_or("");
    if (f.optionalString("bias").value_or("none") != "none") f.fail("bias", "only \"none\" is supported");
    a.settings.targets.clear();
    const json* targets = f.find("target_modules");
    const json* parameters = f.find("target_parameters");
    const bool hasParameters = parameters && parameters->is_array() && !parameters->empty();
    if ((!targets || targets->is_null()) && !hasParameters) f.fail("target_modules", "required field is missing");
    const std::string text = !targets || targets->is_null() ? "" : targets->is_string() ? targets->get<std::string>() : targets->dump();
    for (const char* m : kLoraModules)
        if (text.find(m) != std::string::npos) a.settings.targets.insert(m);
    // Fused expert parameters adapt what they hold (gate_up_proj: both halves unless
    // target_modules names one; down_proj).
    const std::string listed = hasParameters ? parameters->dump() : "";
    if (listed.find("gate_up_proj") != std::string::npos && !a.settings.targets.count("gate_proj") && !a.settings.targets.count("up_proj"))
        a.settings.targets.insert({"gate_proj", "up_proj"});
    if (listed.find("down_proj") != std::string::npos) a.settings.targets.insert("down_proj");

    const fs::path weights = dir / kAdapterWeightsFile;
    if (!fs::is_regular_file(weights, ec)) fail(dir.string(), "no adapter_model.safetensors");
    for (auto& [name, t] : readSafetensors(weights)) {
        if (name.rfind("base_model.model.", 0) != 0 || (name.find(".lora_A.weight") == std::string::npos && name.find(".lora_B.weight") == std::string::npos))
            fail(weights.string() + ": " + name, "not a LoRA adapter key (base_model.model.<module>.lora_A.weight or .lora_B.weight)");
        if (t.dim() != 2) fail(weights.string() + ": " + name, "expected a matrix");
        // transformers' module name for the shared expert, as PEFT writes it from that model.
        std::string key = name;
        if (const size_t at = key.find(".mlp.shared_experts."); at != std::string::npos) key.replace(at, 20, ".mlp.shared_mlp.");
        a.tensors[key] = t.to(torch::kFloat);
    }
    const bool fused = splitExpertAdapters(a.tensors, doc, a.settings, weights.string());
    // The groups: which kinds of module paths the file has.
    a.settings.attention = a.settings.denseMlp = a.settings.sharedExpert = a.settings.routedExperts = false;
    for (const auto& [name, t] : a.tensors) {
        if (name.find(".self_attn.") != std::string::npos) a.settings.attention = true;
        else if (name.find(".mlp.shared_mlp.") != std::string::npos) a.settings.sharedExpert = true;
        else if (name.find(".mlp.experts.") != std::string::npos) a.settings.routedExperts = true;
        else if (name.find(".mlp.") != std::string::npos) a.settings.denseMlp = true;
    }
    a.expertLayout = !a.settings.routedExperts ? "" : fused ? "fused" : "per expert";
    checkLoraSettings(a.settings);
    return a;
}

std::optional<AdapterOrigin> adapterOrigin(const fs::path& adapterDir) {
    std::error_code ec;
    const fs::path parent = fs::absolute(adapterDir).lexically_normal().parent_path();
    fs::path meta = CheckpointLayout{parent}.meta();
    if (!fs::is_regular_file(meta, ec)) {  // RUN/adapter: the checkpoint RUN/checkpoints/LATEST names
        const auto latest = loraCheckpointAdapter(RunLayout{parent}.checkpoints());
        if (!latest) return std::nullopt;
        meta = CheckpointLayout{latest->parent_path()}.meta();
    }
    const json doc = readJsonFile(meta);
    JsonFields f(doc, meta.string());
    AdapterOrigin origin;
    origin.meta = meta;
    origin.source = f.string("source");
    if (origin.source.rfind("preset:", 0) == 0) origin.source = origin.source.substr(7);
    origin.identity = f.optionalString("base_model").value_or("");
    origin.seed = static_cast<uint64_t>(f.optionalInteger("seed").value_or(42));
    return origin;
}

LoraAdapters loadAdapter(const fs::path& dir, const ModelSource& base, torch::Device device) {
    const AdapterDirectory a = readAdapterDirectory(dir);
    const ModelConfig& c = base.config;
    LoraAdapters adapters(c, a.settings, 0, c.num_hidden_layers, 0, c.num_experts, device, 0);
    adapters->loadPeftTensors(a.tensors, (a.path / kAdapterWeightsFile).string());  // keys and shapes first: the most specific error
    if (const auto origin = adapterOrigin(dir); origin && !origin->identity.empty() && origin->identity != base.identity())
        fail(dir.string(), "was trained on another base (" + origin->source + ", " + origin->identity + " in " + origin->meta.string() +
                               "); " + base.name + " is " + base.identity() + " (its config.json or shard sizes differ)");
    return adapters;
}

}  // namespace hy3
