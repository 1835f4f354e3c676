#include "checkpoint/peft_expert_layout.h"

#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>

namespace hy3 {
namespace {

using json = nlohmann::json;

const char* const kGateUp = "mlp.experts.gate_up_proj";
const char* const kDown = "mlp.experts.down_proj";
const char* const kGateUpPattern = ".*\\.experts\\.gate_up_proj";  // rank_pattern / alpha_pattern key

// The gate and up halves this adapter has for its routed experts (targets gate_proj, up_proj).
std::vector<std::string> gateUpHalves(const LoraSettings& s) {
    std::vector<std::string> halves;
    for (const char* m : {"gate_proj", "up_proj"})
        if (s.targets.count(m)) halves.push_back(m);
    return halves;
}

// lora_alpha that keeps the scale of rank `rank` when the fused rank is `fusedRank`.
double alphaFor(const LoraSettings& s, int64_t fusedRank) {
    const double ratio = static_cast<double>(fusedRank) / static_cast<double>(s.rank);
    return s.alpha * (s.useRslora ? std::sqrt(ratio) : ratio);
}

// "<layer prefix>.mlp.experts" + ".base_layer" per parameter nested inside: PEFT wraps the listed
// parameters in order, each wrapper around the previous one.
std::string fusedKey(const std::string& expertsPrefix, size_t index, size_t count, char which) {
    std::string key = expertsPrefix;
    for (size_t i = index + 1; i < count; ++i) key += ".base_layer";
    return key + ".lora_" + which + ".weight";
}

// A per-expert A [r, in] stack -> [E*R, in] with expert e's rows at e*R (R = r * parts).
torch::Tensor fusedA(const std::vector<std::vector<torch::Tensor>>& partsPerExpert) {
    std::vector<torch::Tensor> perExpert;
    for (const auto& parts : partsPerExpert) perExpert.push_back(torch::cat(parts, 0));
    return torch::cat(perExpert, 0).contiguous();
}

// Per-expert B blocks, placed block-diagonally into [out, R] each, then [out, R*E] with column
// k*E + e holding expert e's rank column k.
torch::Tensor fusedB(const std::vector<std::vector<torch::Tensor>>& partsPerExpert) {
    std::vector<torch::Tensor> perExpert;
    for (const auto& parts : partsPerExpert) perExpert.push_back(torch::block_diag(parts));
    const torch::Tensor stacked = torch::stack(perExpert, 2);  // [out, R, E]
    return stacked.reshape({stacked.size(0), -1}).contiguous();
}

struct ExpertKey {
    std::string prefix;  // base_model.model.model.layers.L.mlp.experts
    int64_t expert = -1;
    std::string module;  // gate_proj, up_proj, down_proj
    char which = 'A';
};

std::optional<ExpertKey> perExpertKey(const std::string& key) {
    static const std::regex pattern(R"(^(base_model\.model\.model\.layers\.\d+\.mlp\.experts)\.(\d+)\.(gate_proj|up_proj|down_proj)\.lora_([AB])\.weight$)");
    std::smatch m;
    if (!std::regex_match(key, m, pattern)) return std::nullopt;
    return ExpertKey{m[1], std::stoll(m[2]), m[3], m[4].str()[0]};
}

std::string perExpertName(const std::string& prefix, int64_t expert, const std::string& module, char which) {
    return prefix + "." + std::to_string(expert) + "." + module + ".lora_" + which + ".weight";
}

// The rank and alpha a fused parameter has by the config's patterns (PEFT: rank_pattern and
// alpha_pattern keys are regular expressions over the parameter's path).
std::pair<int64_t, double> fusedRankAndAlpha(const json& config, const std::string& parameter, const LoraSettings& s) {
    int64_t rank = s.rank;
    double alpha = s.alpha;
    const std::string path = "model.layers.0." + parameter;
    for (const char* field : {"rank_pattern", "alpha_pattern"}) {
        const auto it = config.find(field);
        if (it == config.end() || !it->is_object()) continue;
        for (const auto& [pattern, value] : it->items()) {
            bool matches = false;
            try {
                matches = std::regex_match(path, std::regex("(.*\\.)?(" + pattern + ")"));
            } catch (const std::regex_error&) {
                fail(std::string("adapter_config.json: ") + field, "\"" + pattern + "\" is not a regular expression");
            }
            if (!matches || !value.is_number()) continue;
            if (std::string(field) == "rank_pattern") rank = value.get<int64_t>();
            else alpha = value.get<double>();
        }
    }
    return {rank, alpha};
}

}  // namespace

std::vector<std::string> fusedExpertParameters(const LoraSettings& s) {
    std::vector<std::string> out;
    if (!s.routedExperts) return out;
    if (!gateUpHalves(s).empty()) out.push_back(kGateUp);
    if (s.targets.count("down_proj")) out.push_back(kDown);
    return out;
}

void addFusedExpertConfig(json& config, const LoraSettings& s) {
    const std::vector<std::string> parameters = fusedExpertParameters(s);
    if (parameters.empty()) return;
    config["target_parameters"] = parameters;
    const int64_t gateUpRank = s.rank * static_cast<int64_t>(gateUpHalves(s).size());
    if (gateUpRank != s.rank) {
        config["rank_pattern"] = {{kGateUpPattern, gateUpRank}};
        config["alpha_pattern"] = {{kGateUpPattern, alphaFor(s, gateUpRank)}};
    }
}

AdapterTensors fuseExpertAdapters(const AdapterTensors& perExpert, const LoraSettings& s) {
    AdapterTensors out;
    std::map<std::string, std::map<int64_t, std::map<std::string, std::pair<torch::Tensor, torch::Tensor>>>> layers;
    for (const auto& [key, t] : perExpert) {
        const auto k = perExpertKey(key);
        if (!k) {
            out[key] = t;
            continue;
        }
        auto& pair = layers[k->prefix][k->expert][k->module];
        (k->which == 'A' ? pair.first : pair.second) = t;
    }
    const std::vector<std::string> parameters = fusedExpertParameters(s), halves = gateUpHalves(s);
    for (const auto& [prefix, experts] : layers) {
        const int64_t count = static_cast<int64_t>(experts.size());
        if (experts.rbegin()->first != count - 1)
            fail(prefix, "holds adapters of " + std::to_string(count) + " experts, not experts 0.." + std::to_string(count - 1));
        for (size_t p = 0; p < parameters.size(); ++p) {
            const std::vector<std::string> modules = parameters[p] == kGateUp ? halves : std::vector<std::string>{"down_proj"};
            std::vector<std::vector<torch::Tensor>> As, Bs;
            for (const auto& [expert, byModule] : experts) {
                As.emplace_back();
                Bs.emplace_back();
                for (const std::string& m : modules) {
                    const auto it = byModule.find(m);
                    if (it == byModule.end() || !it->second.first.defined() || !it->second.second.defined())
                        fail(perExpertName(prefix, expert, m, 'A'), "missing (every expert needs its A and B)");
                    As.back().push_back(it->second.first);
                    Bs.back().push_back(it->second.second);
                }
            }
            // gate_up's B rows: gate's F rows then up's; with one half only, the other half's rows are zero.
            if (parameters[p] == kGateUp && modules.size() == 1)
                for (auto& parts : Bs) {
                    const torch::Tensor zeros = torch::zeros_like(parts[0]);
                    parts = modules[0] == "gate_proj" ? std::vector<torch::Tensor>{torch::cat({parts[0], zeros})}
                                                      : std::vector<torch::Tensor>{torch::cat({zeros, parts[0]})};
                }
            out[fusedKey(prefix, p, parameters.size(), 'A')] = fusedA(As);
            out[fusedKey(prefix, p, parameters.size(), 'B')] = fusedB(Bs);
        }
    }
    return out;
}

bool splitExpertAdapters(AdapterTensors& tensors, const json& config, const LoraSettings& s, const std::string& file) {
    static const std::regex pattern(R"(^(base_model\.model\.model\.layers\.\d+\.mlp\.experts)((?:\.base_layer)*)\.lora_([AB])\.weight$)");
    std::map<std::string, std::map<size_t, std::pair<torch::Tensor, torch::Tensor>>> layers;  // prefix -> nesting -> (A, B)
    for (auto it = tensors.begin(); it != tensors.end();) {
        std::smatch m;
        if (!std::regex_match(it->first, m, pattern)) {
            ++it;
            continue;
        }
        auto& pair = layers[m[1]][m[2].length() / std::string(".base_layer").size()];
        (m[3] == "A" ? pair.first : pair.second) = it->second;
        it = tensors.erase(it);
    }
    if (layers.empty()) return false;
    const auto listed = config.find("target_parameters");
    if (listed == config.end() || !listed->is_array() || listed->empty())
        fail(file, "has fused expert adapters (.mlp.experts.lora_A.weight) but adapter_config.json lists no target_parameters");
    std::vector<std::string> parameters;
    for (const json& p : *listed) {
        const std::string name = p.is_string() ? p.get<std::string>() : "";
        const std::string leaf = name.substr(name.rfind('.') + 1);
        if (leaf != "gate_up_proj" && leaf != "down_proj")
            fail(file + ": target_parameters", "\"" + name + "\" is not a Hy3 expert parameter (gate_up_proj or down_proj)");
        parameters.push_back(leaf == "gate_up_proj" ? kGateUp : kDown);
    }
    std::vector<std::string> halves = gateUpHalves(s);
    if (halves.empty()) halves = {"gate_proj", "up_proj"};
    for (const auto& [prefix, byNesting] : layers) {
        for (const auto& [nesting, pair] : byNesting) {
            if (nesting >= parameters.size()) fail(file + ": " + prefix, "nests more adapters than target_parameters lists");
            const std::string parameter = parameters[parameters.size() - 1 - nesting];
            const std::string where = fusedKey(prefix, parameters.size() - 1 - nesting, parameters.size(), 'A');
            const auto [rank, alpha] = fusedRankAndAlpha(config, parameter, s);
            LoraSettings fused = s;
            fused.rank = rank, fused.alpha = alpha;
            if (std::abs(fused.scale() - s.scale()) > 1e-9 * s.scale())
                fail(where, "scale " + std::to_string(fused.scale()) + " differs from the other modules' " + std::to_string(s.scale()));
            const torch::Tensor A = pair.first, B = pair.second;
            if (!A.defined() || !B.defined() || A.dim() != 2 || B.dim() != 2 || A.size(0) != B.size(1) || A.size(0) % rank != 0)
                fail(where, "expected lora_A [rank x experts, in] and lora_B [out, rank x experts]");
            const int64_t E = A.size(0) / rank;
            const torch::Tensor A3 = A.view({E, rank, A.size(1)}), B3 = B.view({B.size(0), rank, E});
            const bool gateUp = parameter == kGateUp;
            const int64_t F = gateUp ? B.size(0) / 2 : B.size(0);
            const int64_t r = s.rank;
            for (int64_t e = 0; e < E; ++e) {
                const torch::Tensor Ae = A3[e], Be = B3.select(2, e);
                auto put = [&](const std::string& module, const torch::Tensor& a, const torch::Tensor& b) {
                    tensors[perExpertName(prefix, e, module, 'A')] = a.contiguous().clone();
                    tensors[perExpertName(prefix, e, module, 'B')] = b.contiguous().clone();
                };
                if (!gateUp) {
                    if (rank != r) fail(where, "rank " + std::to_string(rank) + "; hy3 reads down_proj of rank " + std::to_string(r));
                    put("down_proj", Ae, Be);
                } else if (halves.size() == 2 && rank == 2 * r) {
                    // What hy3 writes: block-diagonal B. Anything off the blocks is an adapter trained fused.
                    if (Be.narrow(0, 0, F).narrow(1, r, r).abs().max().item<double>() != 0 ||
                        Be.narrow(0, F, F).narrow(1, 0, r).abs().max().item<double>() != 0)
                        fail(where, "gate_up_proj of rank " + std::to_string(rank) + " is not block-diagonal (a fused adapter of rank " +
                                        std::to_string(rank) + " needs separate gate and up ranks of " + std::to_string(rank) +
                                        "); write it with rank " + std::to_string(r) + " (no rank_pattern) instead");
                    put("gate_proj", Ae.narrow(0, 0, r), Be.narrow(0, 0, F).narrow(1, 0, r));
                    put("up_proj", Ae.narrow(0, r, r), Be.narrow(0, F, F).narrow(1, r, r));
                } else if (rank == r) {
                    // One A for both halves (PEFT trains gate_up as one module): exact as two adapters sharing A.
                    for (const std::string& half : {std::string("gate_proj"), std::string("up_proj")}) {
                        const torch::Tensor rows = Be.narrow(0, half == "gate_proj" ? 0 : F, F);
                        if (std::find(halves.begin(), halves.end(), half) != halves.end()) put(half, Ae, rows);
                        else if (rows.abs().max().item<double>() != 0)
                            fail(where, "adapts " + half + " too, which target_modules does not name");
                    }
                } else {
                    fail(where, "rank " + std::to_string(rank) + "; hy3 reads gate_up_proj of rank " + std::to_string(r) + " or " +
                                    std::to_string(2 * r));
                }
            }
        }
    }
    return true;
}

}  // namespace hy3
