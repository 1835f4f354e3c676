#pragma once
// Engine facade for the executables' start-up: process-wide settings applied once, and the
// process's own memory figures (runtime/process_setup.h). No torch headers.
#include "runtime/process_setup.h"
