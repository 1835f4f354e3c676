#include "config/settings_schema.h"

#include "config/project.h"
#include "util/format.h"

#include <cmath>

namespace hy3 {
namespace {

SettingSpec integer(std::string key, int64_t def, double min, double max, std::string group, std::string help) {
    SettingSpec s;
    s.key = std::move(key);
    s.kind = SettingKind::Integer;
    s.defaultValue = def;
    s.min = min;
    s.max = max;
    s.group = std::move(group);
    s.help = std::move(help);
    return s;
}

SettingSpec number(std::string key, double def, double min, double max, bool minExclusive, std::string group,
                   std::string help) {
    SettingSpec s;
    s.key = std::move(key);
    s.kind = SettingKind::Number;
    s.defaultValue = def;
    s.min = min;
    s.max = max;
    s.minExclusive = minExclusive;
    s.group = std::move(group);
    s.help = std::move(help);
    return s;
}

SettingSpec boolean(std::string key, bool def, std::string group, std::string help) {
    SettingSpec s;
    s.key = std::move(key);
    s.kind = SettingKind::Boolean;
    s.defaultValue = def;
    s.group = std::move(group);
    s.help = std::move(help);
    return s;
}

SettingSpec choice(std::string key, std::string def, std::vector<std::string> choices, std::string group,
                   std::string help) {
    SettingSpec s;
    s.key = std::move(key);
    s.kind = SettingKind::Choice;
    s.defaultValue = def;
    s.choices = std::move(choices);
    s.group = std::move(group);
    s.help = std::move(help);
    return s;
}

SettingSpec text(std::string key, std::string def, std::string group, std::string help) {
    SettingSpec s;
    s.key = std::move(key);
    s.kind = SettingKind::Text;
    s.defaultValue = def;
    s.group = std::move(group);
    s.help = std::move(help);
    return s;
}

std::vector<SettingSpec> buildSpecs() {
    return {
        // basics
        number("training.learning_rate", 2e-5, 0, 10, true, "basics", "peak learning rate"),
        choice("training.lr_schedule", "cosine", {"constant", "linear", "cosine"}, "basics",
               "learning-rate decay after warm-up"),
        integer("training.epochs", 1, 1, 100000, "basics", "passes over the training split (when max_steps is 0)"),
        integer("training.max_steps", 0, 0, 1e12, "basics", "optimizer steps to run; 0 = run the given epochs"),
        integer("training.global_batch", 8, 1, 1e9, "basics", "sequences (rows) per optimizer step, over all ranks"),
        integer("training.micro_batch", 1, 1, 1e9, "basics", "rows per forward/backward on one rank"),
        integer("training.seq_len", 4096, 16, 1048576, "basics", "tokens per row"),
        boolean("training.packing", true, "basics", "pack several documents into each row (else pad each)"),
        integer("training.eval_every", 0, 0, 1e12, "basics", "evaluate every N steps; 0 = only at the end"),
        integer("training.checkpoint_every", 0, 0, 1e12, "basics", "save a checkpoint every N steps; 0 = only at the end"),
        // schedule
        integer("training.warmup_steps", 0, 0, 1e12, "schedule", "linear warm-up steps from 0 to the peak rate"),
        number("training.min_lr", 0.0, 0, 10, false, "schedule", "learning rate at the end of the decay"),
        // optimizer
        number("training.weight_decay", 0.0, 0, 10, false, "optimizer", "AdamW decoupled weight decay (not on norms, biases)"),
        number("training.adam_beta1", 0.9, 0, 0.999999, false, "optimizer", "AdamW beta1"),
        number("training.adam_beta2", 0.95, 0, 0.999999, false, "optimizer", "AdamW beta2"),
        number("training.adam_eps", 1e-8, 0, 1, true, "optimizer", "AdamW epsilon"),
        number("training.grad_clip", 1.0, 0, 1e6, false, "optimizer", "clip the global gradient norm to this; 0 = off"),
        integer("training.seed", 42, 0, 4294967295.0, "optimizer", "seed for initialisation, shuffling and dropout"),
        choice("training.dtype", "bf16", {"fp32", "bf16"}, "optimizer", "parameter dtype (fp32 master weights either way)"),
        integer("training.max_bad_steps", 3, 1, 1000, "optimizer", "non-finite steps in a row before the run stops"),
        // MoE
        number("training.expert_bias_update", 0.0, 0, 1, false, "moe", "aux-loss-free balancing factor u; 0 keeps the bias frozen"),
        number("training.aux_loss_coef", 0.0, 0, 10, false, "moe", "sequence-level auxiliary balance loss coefficient"),
        boolean("training.activation_checkpointing", false, "memory", "recompute each block in backward to save memory"),
        // what trains
        boolean("training.freeze.embeddings", false, "freeze", "keep embed_tokens fixed"),
        boolean("training.freeze.attention", false, "freeze", "keep attention projections and q/k norms fixed"),
        boolean("training.freeze.router", false, "freeze", "keep the router gates fixed"),
        boolean("training.freeze.shared_expert", false, "freeze", "keep the shared expert fixed"),
        boolean("training.freeze.experts", false, "freeze", "keep the routed experts fixed"),
        boolean("training.freeze.lm_head", false, "freeze", "keep lm_head fixed"),
        // LoRA
        choice("training.method", "full", {"full", "lora"}, "lora", "full fine-tuning, or LoRA adapters on a frozen base"),
        integer("lora.rank", 16, 1, 4096, "lora", "adapter rank r"),
        number("lora.alpha", 32.0, 0, 1e6, true, "lora", "scale alpha: the adapter term is multiplied by alpha / r"),
        number("lora.dropout", 0.0, 0, 0.99, false, "lora", "dropout on the adapter's input while training"),
        boolean("lora.use_rslora", false, "lora", "rank-stabilised scale alpha / sqrt(r) instead of alpha / r"),
        text("lora.targets", loraModuleList(","), "lora",
             "modules given adapters, as PEFT's target_modules (comma-separated)"),
        boolean("lora.attention", true, "lora", "the targets reach the attention projections"),
        boolean("lora.dense_mlp", true, "lora", "the targets reach the dense MLP layers"),
        boolean("lora.shared_expert", true, "lora", "the targets reach the shared expert"),
        boolean("lora.routed_experts", true, "lora", "the targets reach every routed expert"),
        boolean("lora.train_router", false, "lora", "also train the router gates fully (they never get an adapter)"),
        text("lora.init_adapter", "", "lora",
             "start from this PEFT adapter directory (continue training an adapter) instead of fresh A and zero B; "
             "its rank, scale and modules must be the project's"),
        // checkpoints
        integer("training.keep_last", 3, 1, 1e6, "checkpoints", "checkpoints kept, newest first"),
        integer("training.keep_best", 1, 0, 1e6, "checkpoints", "checkpoints kept by best eval loss, besides the newest"),
        // data
        number("data.validation_fraction", 0.05, 0, 0.9, false, "data", "share of training records held out for eval"),
        choice("data.loss_mask", "assistant", {"assistant", "all", "last_assistant"}, "data",
               "which tokens count in the loss"),
        choice("data.truncation", "cut", {"cut", "drop"}, "data", "records longer than seq_len: cut (keep the start) or drop"),
        choice("data.reasoning_effort", "no_think", {"no_think", "low", "high"}, "data",
               "Hy3 reasoning-effort marker for the built-in template"),
        // layout
        choice("training.device", "auto", {"auto", "cpu", "cuda"}, "layout",
               "where each rank computes: auto = its GPU (LOCAL_RANK) when one is visible, else the CPU"),
        integer("layout.pp", 1, 1, 1024, "layout", "pipeline stages"),
        integer("layout.dp", 1, 1, 65536, "layout", "data-parallel replicas; world size = pp x dp"),
        integer("layout.ep", 1, 1, 65536, "layout", "expert-parallel group size; divides dp and the expert count"),
        integer("distributed.timeout_s", 600, 1, 86400, "distributed", "seconds one collective (or the rendezvous) may take"),
        integer("distributed.heartbeat_s", 30, 1, 3600, "distributed", "a rank silent this long counts as gone; the others stop"),
    };
}

}  // namespace

const std::vector<SettingSpec>& settingSpecs() {
    static const std::vector<SettingSpec> specs = buildSpecs();
    return specs;
}

const SettingSpec* findSetting(const std::string& key) {
    for (const SettingSpec& spec : settingSpecs())
        if (spec.key == key) return &spec;
    return nullptr;
}

std::optional<std::string> checkSetting(const SettingSpec& spec, const nlohmann::json& value) {
    auto range = [&](double v) -> std::optional<std::string> {
        const bool low = spec.minExclusive ? v <= spec.min : v < spec.min;
        if (low || v > spec.max) {
            std::string bounds = (spec.minExclusive ? "> " : ">= ") + plainNumber(spec.min);
            if (spec.max < 1e11) bounds += " and <= " + plainNumber(spec.max);
            return "must be " + bounds + ", got " + value.dump();
        }
        return std::nullopt;
    };
    switch (spec.kind) {
    case SettingKind::Integer:
        if (!value.is_number_integer()) return "expected an integer, got " + value.dump();
        return range(static_cast<double>(value.get<int64_t>()));
    case SettingKind::Number:
        if (!value.is_number() || !std::isfinite(value.get<double>())) return "expected a number, got " + value.dump();
        return range(value.get<double>());
    case SettingKind::Boolean:
        if (!value.is_boolean()) return "expected true or false, got " + value.dump();
        return std::nullopt;
    case SettingKind::Choice: {
        if (value.is_string())
            for (const std::string& c : spec.choices)
                if (c == value.get<std::string>()) return std::nullopt;
        std::string list;
        for (const std::string& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
        return "expected one of " + list + ", got " + value.dump();
    }
    case SettingKind::Text:
        if (!value.is_string()) return "expected a string, got " + value.dump();
        return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace hy3
