// libFuzzer harness: a project file from anywhere, loaded as the workbench and `hy3` load it: its
// problems listed per field, then resolved into typed settings, and the layout planner run on what
// it asks for when it resolves.
#include "config/layout_plan.h"
#include "config/project.h"
#include "fuzz_support.h"
#include "util/error.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto file = hy3::fuzz::scratchDir() / "project.hy3.json";
    hy3::fuzz::writeFile(file, data, size);
    try {
        const hy3::ProjectFile project = hy3::ProjectFile::load(file);
        for (const hy3::FieldError& e : project.validate())
            if (e.message.empty()) __builtin_trap();  // every problem says why
        (void)project.loraSpec();
        (void)project.chatTemplate();
        (void)project.modelDirectory();
        const hy3::Project resolved = project.resolve();
        (void)resolved;
    } catch (const hy3::Error&) {
    }
    return 0;
}
