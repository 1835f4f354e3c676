#pragma once
#include "data/jinja/ast.h"

#include <string>

namespace hy3::jinja {

// Parses template source (after HF's preprocessing: trim_blocks, lstrip_blocks, the final newline
// and {% generation %} tags). Throws hy3::Error "<name>:<line>: <reason>" for syntax it does not
// support, so a template is either rendered exactly or refused.
Body parseTemplate(const std::string& source, const std::string& name);

}  // namespace hy3::jinja
