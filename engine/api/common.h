#pragma once
// What every user of the facade needs besides its requests and results: hy3::Error (the one-line
// errors that name the file, field or line) and the engine's number formatting (thousands
// separators, fixed and significant digits), so the GUI and the CLI show numbers as the engine does.
#include "util/error.h"
#include "util/format.h"
