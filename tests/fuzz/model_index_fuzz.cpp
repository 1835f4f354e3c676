// libFuzzer harness: a model directory's model.safetensors.index.json from anywhere, beside the
// fixture's real config.json and shards; every tensor it maps is located in its shard.
#include "checkpoint/model_dir.h"
#include "fuzz_support.h"
#include "util/error.h"
namespace fs = std::filesystem;
static fs::path modelDir() {
    static const fs::path dir = [] {
        const fs::path d = hy3::fuzz::scratchDir() / "model";
        const fs::path fixture = hy3::fuzz::sourceDir() / "../shared/fixtures/hy3-tiny/checkpoint";
        fs::create_directories(d);
        for (const auto& entry : fs::directory_iterator(fixture))
            if (entry.path().extension() != ".json" || entry.path().filename() == "config.json")
                fs::create_symlink(fs::absolute(entry.path()), d / entry.path().filename());
        return d;
    }();
    return dir;
}
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const fs::path dir = modelDir();
    hy3::fuzz::writeFile(dir / "model.safetensors.index.json", data, size);
    try {
        hy3::ModelDirectory md = hy3::ModelDirectory::open(dir, true);
        for (const std::string& name : md.tensorNames()) {
            try {
                (void)md.locate(name);
            } catch (const hy3::Error&) {  // a key the shard lacks: named, then the next key
            }
        }
    } catch (const hy3::Error&) {
    }
    return 0;
}
