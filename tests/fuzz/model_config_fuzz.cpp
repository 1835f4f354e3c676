// libFuzzer harness: a config.json from anywhere, parsed as the Hy3 model configuration, then every
// number the workbench derives from it (parameter counts, FLOPs per token, the layout planner's
// memory plan), where an integer overflow is a finding (UndefinedBehaviorSanitizer).
#include "config/layout_plan.h"
#include "config/model_config.h"
#include "config/model_cost.h"
#include "fuzz_support.h"
#include "util/error.h"
#include "util/json_fields.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const hy3::ModelConfig config = hy3::parseModelConfig(hy3::parseJson(text, "config.json"), "config.json");
        const hy3::ParameterCount count = hy3::countParameters(config);
        (void)count;
        (void)hy3::trainingFlopsPerToken(config, 4096);
        hy3::PlanSettings settings;
        settings.devices = 8;
        (void)hy3::planLayouts(config, settings);
    } catch (const hy3::Error&) {
    }
    return 0;
}
