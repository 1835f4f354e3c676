// hy3 prepare and data-stats, bench train and bench tokenizer.
#include "cli/formats.h"

#include "api/common.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace hy3::cli {
using namespace hy3::api;
using json = nlohmann::json;

std::string formatDataStats(const PrepareResult& r) {
    const DataStats& s = r.stats;
    std::ostringstream o;
    o << "token cache   " << r.cacheDir.string() << (r.reused ? " (reused: inputs unchanged)" : "") << "\n";
    o << "chat format   " << s.chatFormat << "\n";
    for (const auto& [file, format] : s.formats) o << "file          " << file << " (" << format << ")\n";
    o << "records       " << groupDigits(s.recordsRead) << " read, " << groupDigits(s.recordsSkipped) << " skipped\n";
    auto split = [&](const char* name, const SplitStats& x) {
        if (x.documents == 0 && x.dropped == 0) return;
        const double lossShare = x.tokens > 0 ? 100.0 * static_cast<double>(x.lossTokens) / static_cast<double>(x.tokens) : 0;
        o << name << "  " << groupDigits(x.documents) << " documents, " << groupDigits(x.tokens) << " tokens, "
          << fixed(lossShare, 1) << "% in the loss, longest " << x.longest << "\n";
        o << "              truncated " << x.truncated << ", dropped " << x.dropped << " (seq_len " << s.seqLen << ")\n";
        o << "              " << groupDigits(x.rows) << " rows per epoch, packing efficiency " << fixed(100 * x.packingEfficiency, 1) << "%\n";
        o << "              lengths:";
        for (size_t b = 0; b < x.histogram.size(); ++b) {
            if (x.histogram[b] == 0) continue;
            const bool over = b + 1 == x.histogram.size();
            o << (over ? " >" + std::to_string(s.seqLen) : " <=" + std::to_string(std::min<int64_t>(s.seqLen, (static_cast<int64_t>(b) + 1) * s.histogramWidth)))
              << ":" << x.histogram[b];
        }
        o << "\n";
    };
    split("train       ", s.train);
    split("validation  ", s.validation);
    if (!r.reused && s.seconds > 0)
        o << "throughput    " << fixed(static_cast<double>(s.bytesRead) / s.seconds / 1e6, 1) << " MB/s, "
          << fixed(static_cast<double>(s.recordsRead + s.recordsSkipped) / s.seconds, 0) << " records/s (" << fixed(s.seconds, 1) << " s)\n";
    for (const SkippedLine& k : s.skipped) o << "skipped       " << k.file << ":" << k.line << ": " << k.reason << "\n";
    if (s.recordsSkipped > static_cast<int64_t>(s.skipped.size()))
        o << "              (all " << s.recordsSkipped << " in " << (r.cacheDir / "skipped.jsonl").string() << ")\n";
    return o.str();
}

std::string formatTrainBench(const TrainBenchResult& b) {
    std::ostringstream o;
    o << "train " << b.source << " (" << b.dtype << (b.loraRank > 0 ? ", LoRA rank " + std::to_string(b.loraRank) : std::string()) << "), " << b.accumulation << " x micro-batch " << b.microBatch << " x seq "
      << b.seqLen << ", " << b.threads << " thread(s)";
    if (b.ranks.size() > 1) o << ", " << b.ranks.size() << " ranks: pp " << b.pp << " x dp " << b.dp << ", ep " << b.ep;
    o << "\n";
    o << "step               " << fixed(b.stepMs, 1) << " ms  (forward, backward, clipping, AdamW, bias update)\n";
    o << "update             " << fixed(b.updateMs, 1) << " ms  (of the step: norm, clipping, AdamW, bias update" << (b.ranks.size() > 1 ? ", rank 0" : "") << ")\n";
    o << "tokens/s           " << fixed(b.tokensPerSecond, 0) << "\n";
    o << "achieved           " << fixed(b.flopsPerSecond / 1e9, 1) << " GFLOP/s of model FLOPs (" << siUnits(b.trainingFlopsPerToken, "FLOP")
      << "/token)\n";
    o << "matmul peak        " << fixed(b.peakFlopsPerSecond / 1e9, 1) << " GFLOP/s ("
      << (b.device == "cpu" || b.device.empty() ? std::string("2048^3 fp32, same threads") : "8192^3 " + b.dtype + " on " + b.device)
      << ", timed between steps)\n";
    o << "MFU                " << fixed(100 * b.mfu, 1) << " % (median of per-step ratios)\n";
    o << "peak RSS           " << fixed(static_cast<double>(b.peakRssBytes) / (1 << 20), 0) << " MiB" << (b.ranks.size() > 1 ? " (the largest rank)" : "") << "\n";
    if (b.ranks.size() > 1) {
        // "grad sync ms": the part of the data-parallel gradient sum left after the backward (exposed);
        // "early": of the gradient buckets, those whose sum started while the backward ran.
        o << "gradient sum       " << (b.overlapGradientSync ? "overlapped with the last backward, in buckets" : "after the backward (--sync-after-backward)") << "\n";
        o << "rank  stage  dp  ep   step ms   grad sync ms    early   update ms   all-to-all MB/step   peak RSS MiB\n";
        for (const RankBench& k : b.ranks) {
            char line[180];
            const std::string early = std::to_string(k.bucketsOverlapped) + "/" + std::to_string(k.buckets);
            std::snprintf(line, sizeof line, "%4d  %5d  %2d  %2d  %8.1f  %13.1f  %7s  %10.1f  %19.2f  %13.0f\n", k.rank, k.stage, k.dpRank, k.epRank,
                          k.stepMs, k.gradientSyncMs, early.c_str(), k.updateMs, k.allToAllBytesPerStep / 1e6,
                          static_cast<double>(k.peakRssBytes) / (1 << 20));
            o << line;
        }
    }
    o << formatTimeSplit(b.split);
    return o.str();
}

std::string trainBenchJson(const TrainBenchResult& b) {
    return json{{"source", b.source},         {"dtype", b.dtype},   {"lora_rank", b.loraRank}, {"device", b.device},
                {"seq_len", b.seqLen},        {"micro_batch", b.microBatch},
                {"accumulation", b.accumulation}, {"threads", b.threads},
                {"step_ms", b.stepMs},        {"update_ms", b.updateMs},    {"tokens_per_s", b.tokensPerSecond},
                {"flops_per_s", b.flopsPerSecond}, {"peak_flops_per_s", b.peakFlopsPerSecond},
                {"mfu", b.mfu},               {"training_flops_per_token", b.trainingFlopsPerToken},
                {"peak_rss_bytes", b.peakRssBytes},
                {"layout", {{"pp", b.pp}, {"dp", b.dp}, {"ep", b.ep}}},
                {"overlap_gradient_sync", b.overlapGradientSync},
                {"time_split", timeSplitJson(b.split)},
                {"ranks", [&] {
                     json ranks = json::array();
                     for (const RankBench& k : b.ranks)
                         ranks.push_back({{"rank", k.rank}, {"stage", k.stage}, {"dp_rank", k.dpRank}, {"ep_rank", k.epRank},
                                          {"step_ms", k.stepMs}, {"gradient_sync_ms", k.gradientSyncMs}, {"gradient_buckets", k.buckets},
                                          {"buckets_overlapped", k.bucketsOverlapped},
                                          {"update_ms", k.updateMs},
                                          {"all_to_all_bytes_per_step", k.allToAllBytesPerStep},
                                          {"peak_rss_bytes", k.peakRssBytes}});
                     return ranks;
                 }()}}
        .dump(2);
}

std::string formatTokenizerBench(const TokenizerBenchResult& r) {
    std::ostringstream o;
    o << "tokenizer   " << r.tokenizer << "\n";
    o << "corpus      " << r.corpus << ": " << r.lines << " lines, " << shortBytes(static_cast<double>(r.bytes)) << ", " << r.tokens
      << " tokens per pass, " << r.repeats << " passes\n";
    o << "engine      " << fixed(r.engineMbPerS, 2) << " MB/s (one thread)\n";
    return o.str();
}

std::string tokenizerBenchJson(const TokenizerBenchResult& r) {
    return json{{"tokenizer", r.tokenizer}, {"corpus", r.corpus}, {"lines", r.lines}, {"bytes", r.bytes},
                {"tokens", r.tokens},       {"repeats", r.repeats}, {"engine_mb_per_s", r.engineMbPerS}}
        .dump(2);
}

}  // namespace hy3::cli
