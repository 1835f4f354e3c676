#include "api/lora_tools.h"

#include "checkpoint/adapter_files.h"
#include "util/error.h"

#include <map>
#include <set>

namespace hy3::api {

namespace {

// "base_model.model.model.layers.12.mlp.experts.7.gate_proj.lora_A.weight" -> layer 12, its group
// ("attention", "dense MLP", "shared expert", "routed experts"), the expert (or -1) and the module.
struct KeyParts {
    int64_t layer = -1, expert = -1;
    std::string group, module;
};

KeyParts partsOf(const std::string& key) {
    KeyParts p;
    const std::string prefix = "base_model.model.model.layers.";
    if (key.rfind(prefix, 0) != 0) return p;
    size_t at = prefix.size();
    const size_t dot = key.find('.', at);
    p.layer = std::stoll(key.substr(at, dot - at));
    const std::string rest = key.substr(dot + 1);
    const std::string path = rest.substr(0, rest.find(".lora_"));
    p.module = path.substr(path.rfind('.') + 1);
    if (path.rfind("self_attn.", 0) == 0) p.group = "attention";
    else if (path.rfind("mlp.shared_mlp.", 0) == 0) p.group = "shared expert";
    else if (path.rfind("mlp.experts.", 0) == 0) {
        p.group = "routed experts";
        p.expert = std::stoll(path.substr(12, path.find('.', 12) - 12));
    } else if (path.rfind("mlp.", 0) == 0) {
        p.group = "dense MLP";
    }
    return p;
}

std::string shortModule(const std::string& m) { return m.substr(0, m.find("_proj")); }

}  // namespace

AdapterReport inspectAdapter(const std::string& path) {
    const AdapterDirectory a = readAdapterDirectory(path);
    AdapterReport r;
    r.path = a.path.string();
    r.baseModel = a.baseModel;
    r.rank = a.settings.rank;
    r.alpha = a.settings.alpha;
    r.dropout = a.settings.dropout;
    r.useRslora = a.settings.useRslora;
    r.scale = a.settings.scale();
    r.expertLayout = a.expertLayout;
    for (const char* m : kLoraModules)
        if (a.settings.targets.count(m)) r.targets.push_back(m);
    // layer -> group -> modules, and the experts each expert module covers.
    std::map<int64_t, std::map<std::string, std::set<std::string>>> modules;
    std::map<int64_t, std::set<int64_t>> experts;
    for (const auto& [key, t] : a.tensors) {
        r.parameters += t.numel();
        r.bytes += static_cast<uint64_t>(t.numel()) * 4;
        const KeyParts p = partsOf(key);
        if (p.layer < 0 || p.group.empty()) fail(path + ": " + key, "not the key of a Hy3 module");
        modules[p.layer][p.group].insert(p.module);
        if (p.expert >= 0) experts[p.layer].insert(p.expert);
    }
    std::vector<std::pair<int64_t, std::string>> described;  // layer -> what it has
    for (const auto& [layer, groups] : modules) {
        std::string line;
        bool first = true;
        for (const char* group : {"attention", "dense MLP", "shared expert", "routed experts"}) {
            const auto it = groups.find(group);
            if (it == groups.end()) continue;
            std::string names;
            for (const char* m : kLoraModules)
                if (it->second.count(m)) names += (names.empty() ? "" : "/") + shortModule(m);
            line += std::string(first ? " " : "; ");
            line += std::string(group) == "routed experts" ? std::to_string(experts[layer].size()) + " experts x " + names : std::string(group) + " " + names;
            first = false;
        }
        described.emplace_back(layer, line);
        r.coverage.push_back("layer " + std::to_string(layer) + ":" + line);
    }
    // Runs of consecutive layers with the same adapters share one line ("layers 1-79: ...").
    for (size_t i = 0; i < described.size();) {
        size_t j = i;
        while (j + 1 < described.size() && described[j + 1].first == described[j].first + 1 && described[j + 1].second == described[i].second) ++j;
        const std::string first = std::to_string(described[i].first), last = std::to_string(described[j].first);
        r.coverageSummary.push_back((i == j ? "layer " + first : "layers " + first + "-" + last) + ":" + described[i].second);
        i = j + 1;
    }
    return r;
}

}  // namespace hy3::api
