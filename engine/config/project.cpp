#include "config/project.h"

#include "config/layout_rules.h"
#include "config/resources.h"
#include "config/settings_schema.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_fields.h"

#include <cctype>
#include <optional>
#include <set>

namespace hy3 {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const char* const kFormats[] = {"auto", "messages", "sharegpt", "alpaca", "prompt_completion", "text"};
const char* const kSplits[] = {"train", "validation"};

bool isTemplateKeyword(const std::string& value) { return value == "auto" || value == "hy3"; }

template <size_t N>
bool oneOf(const std::string& value, const char* const (&list)[N]) {
    for (const char* item : list)
        if (value == item) return true;
    return false;
}

template <size_t N>
std::string listOf(const char* const (&list)[N]) {
    std::string out;
    for (const char* item : list) out += (out.empty() ? "" : ", ") + std::string(item);
    return out;
}

// Keys of the project that hold paths (relative to the project file on disk).
std::vector<std::string> pathKeys(const json& doc) {
    std::vector<std::string> keys;
    if (doc.contains("model") && doc["model"].is_object() && doc["model"].contains("path")) keys.push_back("model.path");
    if (doc.contains("model") && doc["model"].is_object() && doc["model"].contains("tokenizer")) keys.push_back("model.tokenizer");
    if (doc.contains("datasets") && doc["datasets"].is_array())
        for (size_t i = 0; i < doc["datasets"].size(); ++i)
            if (doc["datasets"][i].is_object() && doc["datasets"][i].contains("path"))
                keys.push_back("datasets[" + std::to_string(i) + "].path");
    if (doc.contains("output_dir")) keys.push_back("output_dir");
    if (doc.contains("chat_template") && doc["chat_template"].is_string() &&
        !isTemplateKeyword(doc["chat_template"].get<std::string>()))
        keys.push_back("chat_template");
    return keys;
}

class Validator {
public:
    Validator(const ProjectFile& project) : p_(project), doc_(project.document()) {}

    std::vector<FieldError> run() {
        checkSchemaVersion();
        checkName();
        checkModel();
        checkDatasets();
        checkChatTemplate();
        checkOutputDir();
        checkSections();
        checkSettings();
        checkCrossFields();
        return errors_;
    }

private:
    void add(const std::string& key, const std::string& message) { errors_.push_back({key, message}); }

    void checkSchemaVersion() {
        const json v = p_.get("schema_version");
        if (v.is_null()) return add("schema_version", "required field is missing (expected 1)");
        if (!v.is_number_integer()) return add("schema_version", "expected an integer, got " + v.dump());
        const int64_t n = v.get<int64_t>();
        if (n > kProjectSchemaVersion)
            add("schema_version", std::to_string(n) + " is newer than this workbench understands (" +
                                      std::to_string(kProjectSchemaVersion) + ")");
        else if (n < 1) add("schema_version", "must be 1, got " + std::to_string(n));
    }

    void checkName() {
        const json v = p_.get("name");
        if (!v.is_string() || v.get<std::string>().empty()) add("name", "required: a non-empty string");
    }

    void checkModel() {
        const json m = p_.get("model");
        if (!m.is_object()) return add("model", "required: an object with \"preset\" or \"path\"");
        if (m.contains("tokenizer")) {
            std::error_code ec;
            if (!m["tokenizer"].is_string()) add("model.tokenizer", "expected a folder with tokenizer.json");
            else if (!fs::exists(p_.absolutePath(m["tokenizer"].get<std::string>()) / "tokenizer.json", ec))
                add("model.tokenizer", "no tokenizer.json in " + p_.absolutePath(m["tokenizer"].get<std::string>()).string());
        }
        const bool hasPreset = m.contains("preset"), hasPath = m.contains("path");
        if (hasPreset == hasPath) return add("model", "give exactly one of \"preset\" and \"path\"");
        if (hasPreset) {
            if (!m["preset"].is_string()) return add("model.preset", "expected a preset name");
            if (!presetExists(m["preset"].get<std::string>()))
                add("model.preset", "unknown preset \"" + m["preset"].get<std::string>() + "\"");
            return;
        }
        if (!m["path"].is_string() || m["path"].get<std::string>().empty())
            return add("model.path", "expected a model directory path");
        const fs::path dir = p_.absolutePath(m["path"].get<std::string>());
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) return add("model.path", "directory not found: " + dir.string());
        if (!fs::exists(dir / "config.json", ec)) add("model.path", "no config.json in " + dir.string());
    }

    void checkDatasets() {
        const json d = p_.get("datasets");
        if (d.is_null()) return;
        if (!d.is_array()) return add("datasets", "expected an array of {path, format, split}");
        for (size_t i = 0; i < d.size(); ++i) {
            const std::string key = "datasets[" + std::to_string(i) + "]";
            const json& entry = d[i];
            if (!entry.is_object()) {
                add(key, "expected an object with \"path\"");
                continue;
            }
            if (!entry.contains("path") || !entry["path"].is_string() || entry["path"].get<std::string>().empty()) {
                add(key + ".path", "required: a file or folder path");
            } else {
                const fs::path path = p_.absolutePath(entry["path"].get<std::string>());
                std::error_code ec;
                if (!fs::exists(path, ec)) add(key + ".path", "not found: " + path.string());
            }
            if (entry.contains("format") && !(entry["format"].is_string() && oneOf(entry["format"].get<std::string>(), kFormats)))
                add(key + ".format", "expected one of " + listOf(kFormats) + ", got " + entry["format"].dump());
            if (entry.contains("split") && !(entry["split"].is_string() && oneOf(entry["split"].get<std::string>(), kSplits)))
                add(key + ".split", "expected one of " + listOf(kSplits) + ", got " + entry["split"].dump());
        }
    }

    void checkChatTemplate() {
        const json t = p_.get("chat_template");
        if (t.is_null()) return;
        if (!t.is_string()) return add("chat_template", "expected \"auto\", \"hy3\" or a template file path");
        const std::string value = t.get<std::string>();
        if (isTemplateKeyword(value)) return;
        std::error_code ec;
        if (!fs::is_regular_file(p_.absolutePath(value), ec))
            add("chat_template", "template file not found: " + p_.absolutePath(value).string());
    }

    void checkOutputDir() {
        const json o = p_.get("output_dir");
        if (!o.is_string() || o.get<std::string>().empty()) add("output_dir", "required: a directory path");
    }

    void checkSections() {
        for (const char* section : {"training", "data", "layout", "training.freeze", "lora"}) {
            const json v = p_.get(section);
            if (!v.is_null() && !v.is_object()) add(section, "expected an object, got " + v.dump());
        }
    }

    void checkSettings() {
        for (const SettingSpec& spec : settingSpecs()) {
            const json value = rawValue(spec.key);
            if (value.is_null()) continue;
            if (auto problem = checkSetting(spec, value)) add(spec.key, *problem);
        }
        const json targets = rawValue("lora.targets");
        if (targets.is_string()) {
            const std::set<std::string> known(std::begin(kLoraModules), std::end(kLoraModules));
            const std::vector<std::string> names = splitLoraTargets(targets.get<std::string>());
            if (names.empty()) add("lora.targets", "names no module (" + loraModuleList() + ")");
            for (const std::string& name : names)
                if (!known.count(name)) add("lora.targets", "unknown module \"" + name + "\" (" + loraModuleList() + ")");
        }
    }

    // Relations between settings, checked only when each setting involved is valid on its own.
    void checkCrossFields() {
        const auto value = [&](const std::string& key) -> std::optional<int64_t> {
            for (const FieldError& e : errors_)
                if (e.key == key || e.key == key.substr(0, key.find('.'))) return std::nullopt;
            return p_.get(key).get<int64_t>();
        };
        const auto pp = value("layout.pp"), dp = value("layout.dp"), ep = value("layout.ep");
        if (!dp) return;
        // The model and the devices are unknown here: the rules that need them wait for the run. A
        // setting already wrong on its own stands in as 1, which no rule objects to.
        const auto global = value("training.global_batch"), micro = value("training.micro_batch");
        const LayoutFacts facts{0, 0, 0, global.value_or(0), micro.value_or(0)};
        for (const LayoutProblem& problem : layoutProblems({pp.value_or(1), *dp, ep.value_or(1)}, facts)) add(problem.field, problem.reason);
    }

    json rawValue(const std::string& key) const {
        const auto pointer = keyToPointer(key);
        return doc_.contains(pointer) ? doc_.at(pointer) : json();
    }

    const ProjectFile& p_;
    const json& doc_;
    std::vector<FieldError> errors_;
};

}  // namespace

const char* const kLoraModules[7] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

std::string loraModuleList(const char* separator) {
    std::string out;
    for (const char* m : kLoraModules) out += (out.empty() ? "" : separator) + std::string(m);
    return out;
}

LoraSpec ProjectFile::loraSpec() const {
    // A value the schema refuses reads as its default here (validate() names it), so the
    // workbench can show a project that does not resolve.
    auto value = [&](const char* key) {
        const json v = get(key);
        const SettingSpec* spec = findSetting(key);
        return checkSetting(*spec, v) ? spec->defaultValue : v;
    };
    auto flag = [&](const char* key) { return value(key).get<bool>(); };
    LoraSpec l;
    l.rank = value("lora.rank").get<int64_t>();
    l.alpha = value("lora.alpha").get<double>();
    l.dropout = value("lora.dropout").get<double>();
    l.use_rslora = flag("lora.use_rslora");
    l.targets = splitLoraTargets(value("lora.targets").get<std::string>());
    l.attention = flag("lora.attention");
    l.dense_mlp = flag("lora.dense_mlp");
    l.shared_expert = flag("lora.shared_expert");
    l.routed_experts = flag("lora.routed_experts");
    l.train_router = flag("lora.train_router");
    const std::string init = value("lora.init_adapter").get<std::string>();
    l.init_adapter = init.empty() ? "" : absolutePath(init).string();
    return l;
}

std::vector<std::string> splitLoraTargets(const std::string& text) {
    std::vector<std::string> names;
    std::string current;
    for (char ch : text + ",") {
        if (ch == ',' || ch == ' ' || ch == '\t') {
            if (!current.empty()) names.push_back(current);
            current.clear();
        } else {
            current += ch;
        }
    }
    return names;
}

Project loadProject(const fs::path& file, const std::vector<std::string>& overrides) {
    ProjectFile project = ProjectFile::load(file);
    for (const std::string& o : overrides) project.applyOverride(o);
    return project.resolve();
}

json::json_pointer keyToPointer(const std::string& key) {
    std::string pointer;
    std::string token;
    auto flush = [&] {
        if (token.empty()) fail("key \"" + key + "\"", "empty name in a dotted key");
        pointer += "/" + token;
        token.clear();
    };
    for (size_t i = 0; i < key.size(); ++i) {
        const char ch = key[i];
        if (ch == '.') {
            const bool afterIndex = i > 0 && key[i - 1] == ']';
            if (!token.empty() || !afterIndex) flush();  // flush() rejects an empty name
        } else if (ch == '[') {
            if (!token.empty()) flush();
            const size_t close = key.find(']', i);
            if (close == std::string::npos || close == i + 1) fail("key \"" + key + "\"", "unclosed or empty [index]");
            for (size_t j = i + 1; j < close; ++j)
                if (!std::isdigit(static_cast<unsigned char>(key[j]))) fail("key \"" + key + "\"", "index must be a number");
            pointer += "/" + key.substr(i + 1, close - i - 1);
            i = close;
        } else if (ch == '/' || ch == '~') {
            fail("key \"" + key + "\"", "characters / and ~ are not allowed in keys");
        } else {
            token += ch;
        }
    }
    if (!token.empty()) flush();
    if (pointer.empty()) fail("key \"" + key + "\"", "empty key");
    return json::json_pointer(pointer);
}

ProjectFile::ProjectFile(json doc, fs::path file) : doc_(std::move(doc)), file_(std::move(file)) {}

ProjectFile ProjectFile::createNew(const fs::path& file, const std::string& name) {
    json doc = {
        {"schema_version", kProjectSchemaVersion},
        {"name", name},
        {"model", {{"preset", "hy3-tiny"}}},
        {"datasets", json::array()},
        {"chat_template", "auto"},
        {"training", json::object()},
        {"data", json::object()},
        {"layout", {{"pp", 1}, {"dp", 1}, {"ep", 1}}},
        {"output_dir", "runs"},
    };
    return ProjectFile(std::move(doc), fs::absolute(file));
}

ProjectFile ProjectFile::load(const fs::path& file) {
    return fromJson(readJsonFile(file), file);
}

ProjectFile ProjectFile::fromJson(const json& doc, const fs::path& file) {
    if (!doc.is_object()) fail(file.string(), "a project file must hold a JSON object");
    return ProjectFile(doc, fs::absolute(file));
}

json ProjectFile::get(const std::string& key) const {
    const auto pointer = keyToPointer(key);
    if (doc_.contains(pointer)) return doc_.at(pointer);
    if (const SettingSpec* spec = findSetting(key)) return spec->defaultValue;
    return json();
}

void ProjectFile::set(const std::string& key, const json& value) {
    const auto pointer = keyToPointer(key);
    try {
        doc_[pointer] = value;
    } catch (const json::exception& e) {
        fail(file_.string() + ": " + key, std::string("cannot set this key (") + e.what() + ")");
    }
}

void ProjectFile::applyOverride(const std::string& assignment) {
    const size_t eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) fail("--set " + assignment, "expected KEY=VALUE");
    const std::string key = assignment.substr(0, eq);
    const std::string text = assignment.substr(eq + 1);
    json value;
    try {
        value = json::parse(text);
    } catch (const json::exception&) {  // not JSON (or a number too large for a double)
        value = text;  // a bare word such as cosine or runs/a is a string
    }
    if (const SettingSpec* spec = findSetting(key))
        if (auto problem = checkSetting(*spec, value)) fail("--set " + key, *problem);
    set(key, value);
}

void ProjectFile::setPath(const std::string& key, const fs::path& absolute) {
    const fs::path relative = absolute.lexically_normal().lexically_relative(directory());
    set(key, (relative.empty() ? absolute.lexically_normal() : relative).generic_string());
}

fs::path ProjectFile::absolutePath(const std::string& stored) const {
    const fs::path p(stored);
    return (p.is_absolute() ? p : directory() / p).lexically_normal();
}

// Changing the model keeps a tokenizer override the user set.
std::string ProjectFile::chatTemplate() const {
    const std::string templ = get("chat_template").is_string() ? get("chat_template").get<std::string>() : "auto";
    return isTemplateKeyword(templ) ? templ : absolutePath(templ).string();
}

std::filesystem::path ProjectFile::modelDirectory() const {
    const json path = get("model.path");
    return path.is_string() && !path.get<std::string>().empty() ? absolutePath(path.get<std::string>()) : std::filesystem::path();
}

void ProjectFile::setModelPreset(const std::string& preset) {
    json model = {{"preset", preset}};
    if (doc_.contains("model") && doc_["model"].is_object() && doc_["model"].contains("tokenizer")) model["tokenizer"] = doc_["model"]["tokenizer"];
    doc_["model"] = model;
}

void ProjectFile::setModelDirectory(const fs::path& absolute) {
    json model = json::object();
    if (doc_.contains("model") && doc_["model"].is_object() && doc_["model"].contains("tokenizer")) model["tokenizer"] = doc_["model"]["tokenizer"];
    doc_["model"] = model;
    setPath("model.path", absolute);
}

void ProjectFile::addDataset(const fs::path& absolute, const std::string& format, const std::string& split) {
    if (!doc_.contains("datasets") || !doc_["datasets"].is_array()) doc_["datasets"] = json::array();
    doc_["datasets"].push_back(json{{"path", ""}, {"format", format}, {"split", split}});
    setPath("datasets[" + std::to_string(doc_["datasets"].size() - 1) + "].path", absolute);
}

void ProjectFile::removeDataset(size_t index) {
    if (doc_.contains("datasets") && doc_["datasets"].is_array() && index < doc_["datasets"].size())
        doc_["datasets"].erase(index);
}

std::vector<FieldError> ProjectFile::validate() const { return Validator(*this).run(); }

Project ProjectFile::resolve() const {
    const auto errors = validate();
    if (!errors.empty()) fail(file_.string() + ": " + errors.front().key, errors.front().message);

    Project p;
    p.name = get("name").get<std::string>();
    const json model = get("model");
    if (model.contains("preset")) p.model.preset = model["preset"].get<std::string>();
    else p.model.directory = absolutePath(model["path"].get<std::string>());
    if (model.contains("tokenizer")) p.model.tokenizer = absolutePath(model["tokenizer"].get<std::string>());

    const json datasets = get("datasets");
    if (datasets.is_array())
        for (const json& d : datasets)
            p.datasets.push_back({absolutePath(d["path"].get<std::string>()), d.value("format", "auto"),
                                  d.value("split", "train")});

    auto num = [&](const std::string& key) { return get(key).get<double>(); };
    auto integer = [&](const std::string& key) { return get(key).get<int64_t>(); };
    auto flag = [&](const std::string& key) { return get(key).get<bool>(); };
    auto text = [&](const std::string& key) { return get(key).get<std::string>(); };

    p.data.chat_template = chatTemplate();
    p.data.validation_fraction = num("data.validation_fraction");
    p.data.loss_mask = text("data.loss_mask");
    p.data.truncation = text("data.truncation");
    p.data.reasoning_effort = text("data.reasoning_effort");

    TrainingSettings& t = p.training;
    t.learning_rate = num("training.learning_rate");
    t.min_lr = num("training.min_lr");
    t.lr_schedule = text("training.lr_schedule");
    t.warmup_steps = integer("training.warmup_steps");
    t.epochs = integer("training.epochs");
    t.max_steps = integer("training.max_steps");
    t.global_batch = integer("training.global_batch");
    t.micro_batch = integer("training.micro_batch");
    t.seq_len = integer("training.seq_len");
    t.packing = flag("training.packing");
    t.eval_every = integer("training.eval_every");
    t.checkpoint_every = integer("training.checkpoint_every");
    t.keep_last = integer("training.keep_last");
    t.keep_best = integer("training.keep_best");
    t.weight_decay = num("training.weight_decay");
    t.adam_beta1 = num("training.adam_beta1");
    t.adam_beta2 = num("training.adam_beta2");
    t.adam_eps = num("training.adam_eps");
    t.grad_clip = num("training.grad_clip");
    t.seed = integer("training.seed");
    t.max_bad_steps = integer("training.max_bad_steps");
    t.dtype = text("training.dtype");
    t.device = text("training.device");
    t.expert_bias_update = num("training.expert_bias_update");
    t.aux_loss_coef = num("training.aux_loss_coef");
    t.activation_checkpointing = flag("training.activation_checkpointing");
    t.freeze.embeddings = flag("training.freeze.embeddings");
    t.freeze.attention = flag("training.freeze.attention");
    t.freeze.router = flag("training.freeze.router");
    t.freeze.shared_expert = flag("training.freeze.shared_expert");
    t.freeze.experts = flag("training.freeze.experts");
    t.freeze.lm_head = flag("training.freeze.lm_head");
    t.method = text("training.method");
    t.lora = loraSpec();

    p.layout.pp = integer("layout.pp");
    p.layout.dp = integer("layout.dp");
    p.layout.ep = integer("layout.ep");
    p.distributed.timeout_s = integer("distributed.timeout_s");
    p.distributed.heartbeat_s = integer("distributed.heartbeat_s");
    p.output_dir = absolutePath(get("output_dir").get<std::string>());
    return p;
}

namespace {

using ordered_json = nlohmann::ordered_json;

// `value` with its objects' keys in the order `reference` (the file as the user wrote it) has
// them; keys it lacks follow in name order. nlohmann::json keeps keys sorted, so saving without
// this reordered the user's file.
ordered_json inOrderOf(const json& value, const ordered_json* reference) {
    if (value.is_object()) {
        ordered_json out = ordered_json::object();
        if (reference && reference->is_object())
            for (const auto& [key, ref] : reference->items())
                if (value.contains(key)) out[key] = inOrderOf(value.at(key), &ref);
        for (const auto& [key, v] : value.items())
            if (!out.contains(key)) out[key] = inOrderOf(v, nullptr);
        return out;
    }
    if (value.is_array()) {
        ordered_json out = ordered_json::array();
        for (size_t i = 0; i < value.size(); ++i)
            out.push_back(inOrderOf(value[i], reference && reference->is_array() && i < reference->size() ? &(*reference)[i] : nullptr));
        return out;
    }
    return ordered_json(value);
}

// The key order to save in: the file's own as it is on disk, else (a new project) the order
// createNew lists the sections in.
ordered_json keyOrderOf(const fs::path& file) {
    std::error_code ec;
    if (fs::is_regular_file(file, ec)) {
        try {
            const ordered_json onDisk = ordered_json::parse(readTextFile(file));
            if (onDisk.is_object()) return onDisk;
        } catch (const std::exception&) {
            // Unreadable or not JSON: the canonical order below.
        }
    }
    ordered_json canonical = ordered_json::object();
    for (const char* key : {"schema_version", "name", "model", "datasets", "chat_template", "data", "training", "layout", "output_dir"})
        canonical[key] = nullptr;
    return canonical;
}

std::string projectText(const json& doc, const fs::path& orderFrom) {
    const ordered_json order = keyOrderOf(orderFrom);
    return inOrderOf(doc, &order).dump(2) + "\n";
}

}  // namespace

void ProjectFile::save() const { writeFileAtomic(file_, projectText(doc_, file_)); }

void ProjectFile::saveAs(const fs::path& file) {
    const fs::path target = fs::absolute(file);
    // Rebase every stored relative path so it still names the same file from the new folder. The
    // project changes only once the new file is written.
    json rebasedDoc = doc_;
    for (const std::string& key : pathKeys(doc_)) {
        const json value = doc_.at(keyToPointer(key));
        if (!value.is_string()) continue;
        const fs::path stored(value.get<std::string>());
        if (stored.is_absolute()) continue;
        const fs::path absolute = absolutePath(stored.string());
        const fs::path rebased = absolute.lexically_relative(target.parent_path());
        rebasedDoc[keyToPointer(key)] = (rebased.empty() ? absolute : rebased).generic_string();
    }
    writeFileAtomic(target, projectText(rebasedDoc, file_));
    doc_ = std::move(rebasedDoc);
    file_ = target;
}

}  // namespace hy3
