#pragma once
// A CPU generator seeded by a run's seed and a tensor's name (and expert), so every tensor of a
// model draws the same values whatever the layout that holds it. `salt` keeps the draws of
// different kinds of tensors (the base model's, LoRA's) apart.
#include <ATen/CPUGeneratorImpl.h>

#include <cstdint>
#include <string>

namespace hy3 {

inline at::Generator namedGenerator(uint64_t seed, uint64_t salt, const std::string& name, int64_t expert) {
    uint64_t h = seed ^ salt;
    for (char ch : name + "#" + std::to_string(expert)) h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001B3ull;
    return at::make_generator<at::CPUGeneratorImpl>(h);
}

}  // namespace hy3
