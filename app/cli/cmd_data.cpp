#include "api/data_tools.h"
#include "cli/commands.h"
#include "cli/formats.h"

#include <unistd.h>

#include <iostream>

namespace hy3::cli {

namespace {

struct DataOptions {
    std::string project;
    std::vector<std::string> sets;
    int threads = 0;
    bool json = false;
};

// A progress line on a terminal (redrawn), or a line every 10% when output is a file or pipe.
std::function<void(const PrepareProgress&)> progressPrinter() {
    const bool tty = ::isatty(STDERR_FILENO);
    auto lastDecile = std::make_shared<int>(-1);
    return [tty, lastDecile](const PrepareProgress& p) {
        const double share = p.bytesTotal ? static_cast<double>(p.bytesRead) / static_cast<double>(p.bytesTotal) : 0;
        if (tty) {
            const int width = 30, filled = static_cast<int>(share * width);
            std::cerr << "\rpreparing [" << std::string(static_cast<size_t>(filled), '#') << std::string(static_cast<size_t>(width - filled), ' ')
                      << "] " << static_cast<int>(share * 100) << "%  " << p.records << " records" << std::flush;
        } else if (static_cast<int>(share * 10) > *lastDecile) {
            *lastDecile = static_cast<int>(share * 10);
            std::cerr << "preparing " << static_cast<int>(share * 100) << "% (" << p.records << " records)\n";
        }
    };
}

void addOptions(CLI::App* cmd, const std::shared_ptr<DataOptions>& o) {
    cmd->add_option("PROJECT", o->project, "project file (*.hy3proj)")->required();
    cmd->add_option("--set", o->sets, "override a setting, KEY=VALUE (repeatable)");
    cmd->add_option("--threads", o->threads, "tokenization threads (default: every CPU)");
}

}  // namespace

void addDataCommands(CLI::App& app, Action& action) {
    auto* prepare = app.add_subcommand("prepare", "tokenize the project's datasets into the token cache (reused while inputs are unchanged)");
    auto po = std::make_shared<DataOptions>();
    addOptions(prepare, po);
    prepare->callback([&action, po] {
        action = [po] {
            const PrepareResult r = api::prepareProject(po->project, po->sets, progressPrinter(), po->threads);
            if (::isatty(STDERR_FILENO)) std::cerr << "\n";
            std::cout << formatDataStats(r);
            return 0;
        };
    });

    auto* stats = app.add_subcommand("data-stats", "statistics of the project's data: records, tokens, lengths, packing");
    auto so = std::make_shared<DataOptions>();
    addOptions(stats, so);
    stats->add_flag("--json", so->json, "print one JSON object");
    stats->callback([&action, so] {
        action = [so] {
            const PrepareResult r = api::prepareProject(so->project, so->sets, so->json ? nullptr : progressPrinter(), so->threads);
            if (so->json) {
                nlohmann::json out = r.stats.toJson();
                out["cache_dir"] = r.cacheDir.string();
                out["reused"] = r.reused;
                std::cout << out.dump(2) << "\n";
            } else {
                std::cout << formatDataStats(r);
            }
            return 0;
        };
    });
}

}  // namespace hy3::cli
