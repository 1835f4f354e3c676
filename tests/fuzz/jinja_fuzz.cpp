// libFuzzer harness: a chat template from anywhere, parsed and rendered with a small conversation
// (tools and tool calls included). Any crash, hang, sanitizer report, leak or escaped non-hy3
// exception is a finding; hy3::Error is the expected answer to a bad template.
#include "data/jinja/template.h"
#include "util/error.h"
#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string source(reinterpret_cast<const char*>(data), size);
    static const nlohmann::json context = nlohmann::json::parse(R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"},{"role":"assistant","content":"yo","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]}],"add_generation_prompt":true,"tools":[{"type":"function","function":{"name":"f"}}],"bos_token":"<s>"})");
    try {
        hy3::jinja::Template t(source, "fuzz.jinja");
        (void)t.render(context);
    } catch (const hy3::Error&) {
    }
    return 0;
}
