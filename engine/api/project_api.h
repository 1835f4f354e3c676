#pragma once
// Engine facade for project files, presets and the settings table. No torch headers.
#include "config/project.h"
#include "config/resources.h"
#include "config/settings_schema.h"
