#pragma once
// Engine facade for `hy3 launch` (the ranks of one node as child processes, dist/launcher.h) and
// the commands that start a run (job/hints.h), for the CLI and the workbench. No torch headers.
#include "dist/launcher.h"
#include "job/hints.h"
