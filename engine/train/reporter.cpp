#include "train/reporter.h"

#include "store/run_layout.h"
#include "util/error.h"
#include "util/format.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iostream>

namespace hy3 {
using json = nlohmann::json;
namespace {

void addToStore(RunStore& store, int64_t runId, const RunEvent& event) {
    const StoredEvent r = eventToRecord(event);
    store.addEvent(runId, r.step, r.kind, r.level, r.message, r.data.dump());
}

}  // namespace

RunReporter::RunReporter(RunStore* store, int64_t runId, bool jsonl, std::ostream& events, std::ostream& human,
                         const std::filesystem::path& logFile, bool primary)
    : store_(store),
      runId_(runId),
      jsonl_(jsonl && primary),
      events_(events),
      human_(human),
      tty_(primary && !jsonl && ::isatty(STDERR_FILENO)),
      primary_(primary) {
    if (!logFile.empty()) {
        std::filesystem::create_directories(logFile.parent_path());
        logFile_.open(logFile, std::ios::app);
    }
}

// The stream and the events file get the same line, serialised once (router events of a large
// model are long).
void RunReporter::publish(const RunEvent& event) {
    if (!jsonl_ && !eventsFile_.is_open()) return;
    const std::string line = eventToJson(event).dump();
    if (jsonl_) events_ << line << std::endl;
    appendToEventsFile(line);
}

void RunReporter::appendEventsTo(const std::filesystem::path& file) {
    if (!primary_) return;
    eventsFile_.open(file, std::ios::app);
    if (!eventsFile_) throw Error(file.string() + ": cannot open for appending: " + std::strerror(errno));
}

// One whole line per event, flushed: a reader on another machine sees whole events or none.
void RunReporter::appendToEventsFile(const std::string& line) {
    if (!eventsFile_.is_open()) return;
    eventsFile_ << line << '\n';
    eventsFile_.flush();
}

void RunReporter::record(const RunEvent& event) {
    if (store_) addToStore(*store_, runId_, event);
}

void RunReporter::humanLine(const std::string& line) {
    if (logFile_.is_open()) logFile_ << line << std::endl;
    if (!primary_) return;
    // stderr gets these lines with --events jsonl too: stdout carries the events.
    if (progressShown_) human_ << "\r\033[K";
    human_ << line << std::endl;
    progressShown_ = false;
}

void RunReporter::log(int64_t step, const std::string& line) {
    humanLine(line);
    const LogEvent event{step, "info", line};
    record(event);
    if (eventsFile_.is_open()) appendToEventsFile(eventToJson(event).dump());  // not on the stream: stderr has it
}

void RunReporter::start(const StartEvent& e) {
    publish(e);
    record(e);
    firstStep_ = e.step;
    started_ = std::chrono::steady_clock::now();
}

void RunReporter::router(const RouterEvent& e) {
    pendingRouter_.push_back(summarizeLoad(e.load));
    publish(e);
    if (store_) store_->addRouterLoad(runId_, e.step, e.layer, std::vector<uint32_t>(e.load.begin(), e.load.end()), e.bias);
    for (const RouterAlert& alert : routerWatch_.observe(e.step, e.layer, e.load)) warning(e.step, alert.text());
}

// A warning goes to the store and the events stream; the terminal and the log file get it as a
// line (not with --events jsonl, whose reader has it from the stream already).
void RunReporter::warning(int64_t step, const std::string& text) {
    if (!primary_) return;
    const LogEvent event{step, "warning", text};
    publish(event);
    record(event);
    if (!jsonl_) humanLine("warning: " + text);
    else if (logFile_.is_open()) logFile_ << "warning: " << text << std::endl;
}

void RunReporter::step(StepEvent m) {
    // The router summary of this step over its MoE layers (per layer in the router events).
    if (!pendingRouter_.empty()) {
        double worst = 0, cv = 0;
        int64_t idle = 0;
        for (const auto& r : pendingRouter_) worst = std::max(worst, r.maxOverMean), cv += r.cv, idle += r.idle;
        m.routerMaxMean = worst;
        m.routerCv = cv / static_cast<double>(pendingRouter_.size());
        m.routerIdle = idle;
    }
    pendingRouter_.clear();
    publish(m);
    if (store_) {
        const json event = eventToJson(m);
        std::vector<std::pair<std::string, double>> values;
        for (const char* key : {"loss", "lr", "grad_norm", "tokens_per_s", "mfu", "label_tokens", "tokens", "step_time_s", "rss_bytes",
                                "router_max_mean", "router_cv", "router_idle_experts", "cuda_allocated_bytes", "cuda_reserved_bytes", "cuda_peak_bytes"})
            if (event.contains(key) && event[key].is_number() && std::isfinite(event[key].get<double>())) values.emplace_back(key, event[key].get<double>());
        if (!m.skipped) store_->addMetrics(runId_, m.step, values);
        record(m);
    }

    // The human line: a redrawn progress bar on a terminal, else a line every few steps.
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const int64_t done = m.step - firstStep_;
    const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(m.totalSteps - m.step) : 0;
    char etaText[32];
    std::snprintf(etaText, sizeof etaText, "%d:%02d", static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    std::string line = "step " + std::to_string(m.step) + "/" + std::to_string(m.totalSteps) + "  loss " +
                       (m.skipped ? "skipped (" + m.skipReason + ")" : fixed(m.loss, 4)) + "  lr " + significant(m.lr, 3) + "  " +
                       fixed(m.tokensPerSecond, 0) + " tok/s  MFU " + fixed(100 * m.mfu, 1) + "%  ETA " + etaText;
    if (logFile_.is_open()) logFile_ << line << std::endl;
    if (jsonl_ || !primary_) return;
    if (tty_) {
        const int width = 20;
        const int filled = m.totalSteps > 0 ? static_cast<int>(width * m.step / m.totalSteps) : 0;
        human_ << "\r\033[K[" << std::string(static_cast<size_t>(filled), '#') << std::string(static_cast<size_t>(width - filled), '.') << "] "
               << line << std::flush;
        progressShown_ = true;
    } else if (m.skipped || m.step % 10 == 0 || m.step == m.totalSteps || m.step == firstStep_ + 1) {
        human_ << line << std::endl;
    }
}

void RunReporter::eval(const EvalEvent& e) {
    publish(e);
    if (store_) store_->addMetrics(runId_, e.step, {{"eval_loss", e.evalLoss}});
    record(e);
    humanLine("step " + std::to_string(e.step) + "  eval loss " + fixed(e.evalLoss, 4) + " over " + std::to_string(e.labelTokens) + " label tokens");
}

void RunReporter::checkpoint(const CheckpointEvent& e) {
    publish(e);
    record(e);
    humanLine("step " + std::to_string(e.step) + "  checkpoint " + e.path);
}

void RunReporter::end(const EndEvent& e) {
    publish(e);
    record(e);
    humanLine(e.message);
}

void RunReporter::error(const ErrorEvent& e) {
    publish(e);
    record(e);
    if (logFile_.is_open()) logFile_ << "error: " << e.message << std::endl;
    if (progressShown_) human_ << "\r\033[K";
    human_ << "error: " << e.message << std::endl;
    progressShown_ = false;
}

void RunReporter::recordAbort(const std::filesystem::path& storeFile, int64_t runId, int64_t step, const std::string& message, bool jsonl,
                              std::ostream& events) {
    try {
        RunStore store = RunStore::open(storeFile, RunStore::Mode::ReadWrite);
        addToStore(store, runId, ErrorEvent{step, message});
        addToStore(store, runId, EndEvent{step, "failed", "failed at step " + std::to_string(step)});
        store.setRunState(runId, "failed");
    } catch (const std::exception&) {
        // The store is unreachable too: the events stream and the exit status still tell.
    }
    const std::string lines = eventToJson(ErrorEvent{step, message}).dump() + "\n" + eventToJson(EndEvent{step, "failed", message}).dump() + "\n";
    if (jsonl) events << lines << std::flush;
    // The events file's followers learn the end too (the run's own stream of it is not flushed
    // from this thread; appending whole lines after it keeps every line whole).
    const std::filesystem::path file = RunLayout{storeFile.parent_path()}.eventsLog();
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) std::ofstream(file, std::ios::app) << lines << std::flush;
}

}  // namespace hy3
