#pragma once
// The one table of tensor names. Internally each layer holds fused tensors (q/k/v as one
// projection, gate+up as one, all experts of a layer grouped); on disk the released Hy3 layout
// splits them (per-expert keys), and HF transformers' layout groups experts differently. A
// KeyBinding says which slice of which internal tensor (config/tensor_names.h) an on-disk key
// holds, so loading, exporting and per-key gradients all go through this table.
#include "config/model_config.h"
#include "config/tensor_names.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hy3 {

enum class KeyLayout {
    Released,      // model.layers.L.mlp.router.gate.weight, mlp.experts.{e}.gate_proj.weight, ...
    Transformers,  // model.layers.L.mlp.gate.weight, mlp.experts.gate_up_proj [E, 2Im, H], ...
};

struct KeyBinding {
    std::string key;          // name in the checkpoint file
    std::string param;        // internal parameter or buffer name, e.g. "layers.1.experts_gate_up"
    int64_t expert = -1;      // index along dim 0 of a grouped expert tensor (local to the rank), or -1
    int64_t rowStart = 0;     // rows [rowStart, rowStart + rowCount) of that tensor (after the expert index)
    int64_t rowCount = -1;    // -1: all rows
    bool buffer = false;      // non-trainable (the expert bias)
    bool alwaysFp32 = false;  // stored and held in F32 whatever the model dtype (router, expert bias)
    std::vector<int64_t> shape;  // shape of the on-disk tensor
};

// Every key of a model in the given layout. Routed experts are limited to [expertFirst, expertLast)
// (global indices); their `expert` field is local (e - expertFirst). MTP layers are not listed.
std::vector<KeyBinding> keyBindings(const ModelConfig& config, KeyLayout layout, int64_t expertFirst,
                                    int64_t expertLast);

// Decoder layer index of a key "model.layers.N.*", or -1 for other keys.
int64_t layerOfKey(const std::string& key);

}  // namespace hy3
