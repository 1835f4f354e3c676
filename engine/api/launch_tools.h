#pragma once
// Engine facade for `hy3 launch`: the ranks of one node as child processes (dist/launcher.h).
// No torch headers.
#include "dist/launcher.h"
