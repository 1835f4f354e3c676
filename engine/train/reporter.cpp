#include "train/reporter.h"

#include "util/format.h"

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <iostream>

namespace hy3 {
using json = nlohmann::json;

RouterSummary summarizeLoad(const std::vector<int64_t>& load) {
    RouterSummary s;
    if (load.empty()) return s;
    double sum = 0, sq = 0, mx = 0;
    for (int64_t v : load) {
        sum += static_cast<double>(v);
        sq += static_cast<double>(v) * static_cast<double>(v);
        mx = std::max(mx, static_cast<double>(v));
        s.idle += v == 0;
    }
    const double n = static_cast<double>(load.size()), mean = sum / n;
    if (mean > 0) {
        s.maxOverMean = mx / mean;
        s.cv = std::sqrt(std::max(0.0, sq / n - mean * mean)) / mean;
    }
    return s;
}

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

void RunReporter::publish(const json& event) {
    if (jsonl_) events_ << event.dump() << std::endl;
}

void RunReporter::storeEvent(int64_t step, const std::string& kind, const std::string& level, const std::string& message,
                             const json& data) {
    if (store_) store_->addEvent(runId_, step, kind, level, message, data.dump());
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
    storeEvent(step, "log", "info", line, json::object());
}

void RunReporter::start(int64_t step, const json& info) {
    json event = info;
    event["event"] = "start";
    event["step"] = step;
    publish(event);
    storeEvent(step, "start", "info", "run started at step " + std::to_string(step), info);
    firstStep_ = step;
    started_ = std::chrono::steady_clock::now();
}

void RunReporter::router(int64_t step, int64_t layer, const std::vector<int64_t>& load, const std::vector<float>& bias) {
    const RouterSummary s = summarizeLoad(load);
    pendingRouter_.push_back(s);
    publish({{"event", "router"}, {"step", step}, {"layer", layer}, {"load", load}, {"bias", bias},
          {"max_mean", s.maxOverMean}, {"cv", s.cv}, {"idle_experts", s.idle}});
    if (store_) {
        std::vector<uint32_t> counts(load.begin(), load.end());
        store_->addRouterLoad(runId_, step, layer, counts, bias);
    }
}

void RunReporter::step(const StepMetrics& m) {
    json event = {{"event", "step"},          {"step", m.step},       {"loss", m.loss},
                  {"lr", m.lr},               {"grad_norm", m.gradNorm}, {"tokens_per_s", m.tokensPerSecond},
                  {"mfu", m.mfu},             {"tokens", m.tokens},   {"label_tokens", m.labelTokens},
                  {"step_time_s", m.stepSeconds}, {"rss_bytes", m.rssBytes}, {"total_steps", m.totalSteps}};
    if (m.cudaReserved > 0) event["cuda_allocated_bytes"] = m.cudaAllocated, event["cuda_reserved_bytes"] = m.cudaReserved;
    // Router summaries of this step over the MoE layers (per layer in the router events).
    if (!pendingRouter_.empty()) {
        double worst = 0, cv = 0;
        int64_t idle = 0;
        for (const auto& r : pendingRouter_) worst = std::max(worst, r.maxOverMean), cv += r.cv, idle += r.idle;
        event["router_max_mean"] = worst;
        event["router_cv"] = cv / static_cast<double>(pendingRouter_.size());
        event["router_idle_experts"] = idle;
    }
    if (m.skipped) event["skipped"] = true, event["reason"] = m.skipReason;
    publish(event);
    if (store_) {
        std::vector<std::pair<std::string, double>> values;
        for (const char* key : {"loss", "lr", "grad_norm", "tokens_per_s", "mfu", "label_tokens", "tokens", "step_time_s", "rss_bytes",
                                "router_max_mean", "router_cv", "router_idle_experts", "cuda_allocated_bytes", "cuda_reserved_bytes"})
            if (event.contains(key) && event[key].is_number() && std::isfinite(event[key].get<double>())) values.emplace_back(key, event[key].get<double>());
        if (!m.skipped) store_->addMetrics(runId_, m.step, values);
        storeEvent(m.step, "step", m.skipped ? "warning" : "info", m.skipped ? "step skipped: " + m.skipReason : "", event);
    }
    pendingRouter_.clear();

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

void RunReporter::eval(int64_t step, double evalLoss, int64_t labelTokens) {
    publish({{"event", "eval"}, {"step", step}, {"eval_loss", evalLoss}, {"label_tokens", labelTokens}});
    if (store_) store_->addMetrics(runId_, step, {{"eval_loss", evalLoss}});
    storeEvent(step, "eval", "info", "eval loss " + fixed(evalLoss, 4), {{"eval_loss", evalLoss}});
    humanLine("step " + std::to_string(step) + "  eval loss " + fixed(evalLoss, 4) + " over " + std::to_string(labelTokens) + " label tokens");
}

void RunReporter::checkpoint(int64_t step, const std::string& path, const json& metrics) {
    publish({{"event", "checkpoint"}, {"step", step}, {"path", path}, {"metrics", metrics}});
    storeEvent(step, "checkpoint", "info", "checkpoint " + path, {{"path", path}});
    humanLine("step " + std::to_string(step) + "  checkpoint " + path);
}

void RunReporter::end(int64_t step, const std::string& status, const std::string& message) {
    publish({{"event", "end"}, {"step", step}, {"status", status}, {"message", message}});
    storeEvent(step, "end", status == "finished" || status == "stopped" ? "info" : "error", message, {{"status", status}});
    humanLine(message);
}

void RunReporter::recordAbort(const std::filesystem::path& storeFile, int64_t runId, int64_t step, const std::string& message, bool jsonl,
                              std::ostream& events) {
    try {
        RunStore store = RunStore::open(storeFile, RunStore::Mode::ReadWrite);
        store.addEvent(runId, step, "error", "error", message, "{}");
        store.addEvent(runId, step, "end", "error", "failed at step " + std::to_string(step), R"({"status":"failed"})");
        store.setRunState(runId, "failed");
    } catch (const std::exception&) {
        // The store is unreachable too: the events stream and the exit status still tell.
    }
    if (jsonl)
        events << json{{"event", "error"}, {"step", step}, {"message", message}}.dump() << "\n"
               << json{{"event", "end"}, {"step", step}, {"status", "failed"}, {"message", message}}.dump() << std::endl;
}

void RunReporter::error(int64_t step, const std::string& message) {
    publish({{"event", "error"}, {"step", step}, {"message", message}});
    storeEvent(step, "error", "error", message, json::object());
    if (logFile_.is_open()) logFile_ << "error: " << message << std::endl;
    if (progressShown_) human_ << "\r\033[K";
    human_ << "error: " << message << std::endl;
    progressShown_ = false;
}

}  // namespace hy3
