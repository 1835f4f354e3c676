#pragma once
// Engine facade for `hy3 forward`. No torch headers.
#include <cstdint>
#include <string>
#include <vector>

namespace hy3::api {

struct ForwardRequest {
    std::string modelDir;      // HF model directory
    std::string adapter;       // a PEFT LoRA adapter directory to run with (optional); with grads,
                               // grad.<adapter key> for each adapter tensor instead of the base's
    std::string input;         // safetensors with input_ids [+ labels, attention_mask, position_ids, cu_seqlens]
    std::string output;        // safetensors to write
    std::string dtype = "fp32";  // fp32 or bf16
    std::string device = "auto";  // auto, cpu or cuda (GPU 0)
    bool grads = false;        // also write grad.<on-disk key> for every trainable tensor
    double biasUpdate = -1;    // >= 0: apply one aux-loss-free bias update and write the new biases
    bool activationCheckpointing = false;
};

struct ForwardSummary {
    bool hasLoss = false;
    double loss = 0;           // mean over label tokens (HF convention)
    int64_t labelTokens = 0;
    double gradNorm = 0;
    std::vector<std::string> written;  // tensor names in the output file
};

ForwardSummary runForward(const ForwardRequest& request);


}  // namespace hy3::api
