#pragma once
// What a project's settings mean for its data: which tokenizer, which chat format, where the token
// cache lives.
#include "config/project.h"
#include "data/dataset.h"

namespace hy3 {

// The project's tokenizer folder (config/model_source.h, tokenizerDirOf). Throws naming the field.
std::filesystem::path tokenizerDirFor(const Project& project);
DataConfig dataConfigFor(const Project& project);
std::filesystem::path dataCacheRoot(const Project& project);

}  // namespace hy3
