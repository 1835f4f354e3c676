#pragma once
// A plain eager transcription of the Hy3 forward pass (ATen ops with autograd, GQA by
// repeat_interleave, a loop over experts that selects each expert's tokens, full fp32 logits),
// reading the same parameters as Hy3Model. It is the yardstick: tests check the fused model
// against it, and `hy3 bench model --reference` times it.
#include "model/hy3_model.h"

namespace hy3 {

// lossSum/labelTokens when the batch has labels; logits [B, S, V] fp32 always.
ForwardOutput eagerReferenceForward(Hy3ModelImpl& model, const Batch& batch);

}  // namespace hy3
