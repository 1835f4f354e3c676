#pragma once
// What a project's settings mean for its data: which tokenizer, which chat format, where the token
// cache lives.
#include "config/project.h"
#include "data/dataset.h"

namespace hy3 {

// model.tokenizer if set; else the model directory; else the preset's bundled tokenizer
// (resources/tokenizers/<the preset's "hy3_tokenizer">). Throws naming the project field.
std::filesystem::path tokenizerDirFor(const Project& project);
DataConfig dataConfigFor(const Project& project);
std::filesystem::path dataCacheRoot(const Project& project);

}  // namespace hy3
