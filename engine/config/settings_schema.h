#pragma once
// The table of every scalar setting a project file holds (training, data, layout): its dotted key,
// type, range or choices, default and a one-line help text. Validation, defaults, `--set KEY=VALUE`
// and the GUI's settings panel all read this one table.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hy3 {

enum class SettingKind { Integer, Number, Boolean, Choice, Text };

struct SettingSpec {
    std::string key;                   // dotted path in the project file, e.g. "training.learning_rate"
    SettingKind kind = SettingKind::Number;
    nlohmann::json defaultValue;       // used when the project file leaves the field out
    double min = 0;                    // numeric range (inclusive); ignored for other kinds
    double max = 0;
    bool minExclusive = false;         // true: value must be > min
    std::vector<std::string> choices;  // for Choice
    std::string group;                 // "basics", "optimizer", "schedule", "data", "moe", "checkpoints", ...
    std::string help;                  // one line shown in the GUI and `hy3 train --help-settings`
};

const std::vector<SettingSpec>& settingSpecs();
const SettingSpec* findSetting(const std::string& key);

// Checks one value against its spec; returns the reason it is invalid, or nothing when valid.
std::optional<std::string> checkSetting(const SettingSpec& spec, const nlohmann::json& value);

}  // namespace hy3
