#pragma once
// Matches the tensors of a model directory against the key table of its config: which tensor fills
// which part of the model, and every problem (missing, unexpected, wrong shape or dtype) as one line
// naming the file and the tensor. The loader stops at the first problem; verify lists them all.
#include "checkpoint/key_names.h"
#include "checkpoint/model_dir.h"

#include <functional>
#include <string>
#include <vector>

namespace hy3 {

struct KeyMatch {
    std::string key;          // tensor name in the checkpoint
    KeyBinding binding;       // where it goes (expert index global)
    bool groupedExperts = false;  // an HF [E, ...] tensor holding every expert
};

struct KeyMatchResult {
    std::vector<KeyMatch> tensors;      // to read, in file order
    std::vector<std::string> problems;  // "<file>: <tensor>: <reason>"
    int64_t skipped = 0;                // MTP layers and experts outside [first, last)
};

// `held` (optional) says which internal tensors the model holds (a pipeline stage holds some
// layers); tensors of the others are skipped, not missing.
KeyMatchResult matchKeys(ModelDirectory& dir, int64_t expertFirst, int64_t expertLast,
                         const std::function<bool(const std::string&)>& held = {});

}  // namespace hy3
