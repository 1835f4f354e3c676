// hy3 model-info, checkpoint inspect and export, bench model.
#include "cli/formats.h"

#include "api/common.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace hy3::cli {
using namespace hy3::api;

std::string formatModelReport(const ModelReport& r) {
    std::ostringstream out;
    out << "Model        " << r.source << (r.is_preset ? " (preset)" : "") << "\n";
    out << "Config       " << r.config_path << "\n";
    for (const auto& [name, value] : r.architecture) {
        out << name << std::string(name.size() < 13 ? 13 - name.size() : 1, ' ') << value << "\n";
    }
    if (!r.config.absentFields.empty()) {
        out << "\nFields absent from config.json (readers differ; an export writes each):\n";
        for (const std::string& line : r.config.absentFields) out << "  " << line << "\n";
    }
    out << "\nParameters   " << std::string(16, ' ') << "total" << std::string(16, ' ') << "active\n";
    auto row = [&](const std::string& name, int64_t total, int64_t active) {
        const std::string t = groupDigits(total), a = groupDigits(active);
        out << "  " << name << std::string(name.size() < 20 ? 20 - name.size() : 1, ' ')
            << std::string(t.size() < 19 ? 19 - t.size() : 1, ' ') << t
            << std::string(a.size() < 22 ? 22 - a.size() : 1, ' ') << a << "\n";
    };
    for (const ParameterRow& p : r.parameters.rows) row(p.component, p.total, p.active);
    row("total", r.parameters.total, r.parameters.active);
    out << "  = " << shortCount(static_cast<double>(r.parameters.total)) << " total, "
        << shortCount(static_cast<double>(r.parameters.active)) << " active per token\n";
    if (r.parameters.mtp > 0)
        out << "  MTP block on disk (not trained): " << groupDigits(r.parameters.mtp) << " (with it "
            << groupDigits(r.parameters.total + r.parameters.mtp) << ")\n";
    if (r.parameters.buffers > 0)
        out << "  expert-bias buffers (not trained): " << groupDigits(r.parameters.buffers) << "\n";
    out << "\nTraining FLOPs per token at seq len " << r.seq_len << ": "
        << siUnits(r.training_flops_per_token, "FLOP") << "\n"
        << "  (Megatron convention: forward + backward = 3x forward, causal attention counted half)\n";
    return out.str();
}

std::string modelReportJson(const ModelReport& r) {
    const ModelConfig& c = r.config;
    nlohmann::json components = nlohmann::json::array();
    for (const ParameterRow& p : r.parameters.rows)
        components.push_back({{"component", p.component}, {"total", p.total}, {"active", p.active}});
    nlohmann::json layers = nlohmann::json::array();
    for (bool dense : c.dense_layers) layers.push_back(dense ? "dense" : "moe");
    nlohmann::json out = {
        {"source", r.source},
        {"is_preset", r.is_preset},
        {"config_path", r.config_path},
        {"model_type", c.model_type},
        {"num_hidden_layers", c.num_hidden_layers},
        {"layer_plan", describeLayerPlan(c)},
        {"absent_fields", c.absentFields},
        {"layer_types", layers},
        {"hidden_size", c.hidden_size},
        {"num_attention_heads", c.num_attention_heads},
        {"num_key_value_heads", c.num_key_value_heads},
        {"head_dim", c.head_dim},
        {"intermediate_size", c.intermediate_size},
        {"num_experts", c.num_experts},
        {"num_experts_per_tok", c.num_experts_per_tok},
        {"num_shared_experts", c.num_shared_experts},
        {"moe_intermediate_size", c.moe_intermediate_size},
        {"vocab_size", c.vocab_size},
        {"parameters",
         {{"total", r.parameters.total},
          {"active", r.parameters.active},
          {"mtp", r.parameters.mtp},
          {"total_with_mtp", r.parameters.total + r.parameters.mtp},
          {"buffers", r.parameters.buffers},
          {"components", components}}},
        {"seq_len", r.seq_len},
        {"training_flops_per_token", r.training_flops_per_token},
        {"flops_convention", "megatron: 3x forward, causal attention halved"},
    };
    return out.dump(2);
}

std::string formatInspectReport(const InspectReport& r) {
    std::ostringstream out;
    if (r.location.checkpointDir) out << "Checkpoint   " << r.location.checkpointDir->string() << "\n";
    out << "Model        " << r.location.modelDir.string() << "\n";
    out << "Config       " << r.config.num_hidden_layers << " layers (" << describeLayerPlan(r.config) << "), hidden "
        << r.config.hidden_size << ", " << r.config.num_experts << " experts top-" << r.config.num_experts_per_tok
        << ", vocab " << r.config.vocab_size << "\n";
    out << "Shards       " << r.shards.size() << "\n";
    out << "Tensors      " << r.tensors.size() << " (" << r.mtpTensors << " of the MTP block), "
        << groupDigits(r.elements) << " elements, " << shortBytes(static_cast<double>(r.tensorBytes)) << "\n";
    if (r.meta) {
        out << "Step         " << r.meta->value("step", int64_t(0)) << " saved " << r.meta->value("time", std::string()) << "\n";
        if (r.meta->contains("metrics")) out << "Metrics      " << (*r.meta)["metrics"].dump() << "\n";
        if (!r.meta->value("parent", std::string()).empty()) out << "Parent       " << r.meta->value("parent", std::string()) << "\n";
        if (r.meta->contains("source_model")) out << "Source model " << (*r.meta)["source_model"].get<std::string>() << "\n";
    }
    out << "\n";
    for (const TensorRow& t : r.tensors)
        out << t.name << "  " << t.dtype << " " << shapeText(t.shape) << "  " << groupDigits(static_cast<int64_t>(t.bytes))
            << " B  (" << t.file << ")\n";
    return out.str();
}

std::string inspectReportJson(const InspectReport& r) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const TensorRow& t : r.tensors)
        tensors.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"bytes", t.bytes}, {"file", t.file}});
    nlohmann::json out = {
        {"model_dir", r.location.modelDir.string()},
        {"checkpoint_dir", r.location.checkpointDir ? r.location.checkpointDir->string() : ""},
        {"config", {{"num_hidden_layers", r.config.num_hidden_layers}, {"hidden_size", r.config.hidden_size},
                    {"num_experts", r.config.num_experts}, {"num_experts_per_tok", r.config.num_experts_per_tok},
                    {"vocab_size", r.config.vocab_size}, {"layer_plan", describeLayerPlan(r.config)}}},
        {"shards", r.shards},
        {"totals", {{"tensors", r.tensors.size()}, {"bytes", r.tensorBytes}, {"elements", r.elements}, {"mtp_tensors", r.mtpTensors}}},
        {"tensors", tensors},
        {"meta", r.meta ? *r.meta : nlohmann::json()},
    };
    return out.dump(2);
}

std::string exportSummaryJson(const ExportSummary& s) {
    return nlohmann::json{{"destination", s.destination},
                          {"tensors", s.tensors},
                          {"shards", s.shards},
                          {"tensor_bytes", s.tensorBytes},
                          {"mtp_files", s.mtpFiles},
                          {"model_bytes_in_memory", s.modelBytesInMemory},
                          {"peak_rss_bytes", s.peakRssBytes}}
        .dump(2);
}

std::string compareReportJson(const CompareReport& r) {
    nlohmann::json j{{"a", r.a},
                     {"b", r.b},
                     {"probe", r.probe},
                     {"positions", r.positions},
                     {"max_abs_logit_diff", r.maxAbsDiff},
                     {"mean_abs_logit_diff", r.meanAbsDiff},
                     {"mean_kl", r.meanKl},
                     {"top1_agreement", r.top1Agreement},
                     {"experts_reached", r.expertsReached},
                     {"experts_total", r.expertsTotal},
                     {"tolerance", r.tolerance},
                     {"within_tolerance", r.withinTolerance}};
    if (r.hasLoss) {
        j["loss_a"] = r.lossA;
        j["loss_b"] = r.lossB;
    }
    return j.dump(2);
}

std::string formatModelBench(const ModelBenchResult& b) {
    std::ostringstream o;
    o << "model " << b.source << " (" << b.implementation << "), batch " << b.batch << " x seq " << b.seqLen << ", "
      << b.threads << " thread(s)\n";
    o << "forward            " << fixed(b.forwardMs, 1) << " ms\n";
    o << "forward+backward   " << fixed(b.forwardBackwardMs, 1) << " ms  (" << fixed(b.tokensPerSecond, 0) << " tokens/s)\n";
    o << "achieved           " << fixed(b.flopsPerSecond / 1e9, 1) << " GFLOP/s of model FLOPs ("
      << siUnits(b.trainingFlopsPerToken, "FLOP") << "/token, 3x forward, causal attention halved)\n";
    o << "matmul peak        " << fixed(b.peakFlopsPerSecond / 1e9, 1) << " GFLOP/s ("
      << (b.device == "cpu" || b.device.empty() ? std::string("2048^3 fp32, same threads") : "8192^3 " + b.dtype + " on " + b.device)
      << ", timed between steps)\n";
    o << "MFU                " << fixed(100 * b.mfu, 1) << " % (median of per-step ratios)\n";
    o << formatTimeSplit(b.split);
    return o.str();
}

std::string formatTimeSplit(const TimeSplit& split) {
    if (split.phaseMs.empty()) return "";
    std::ostringstream o;
    o << "time split         " << fixed(split.passMs, 1) << " ms a pass (separate passes that wait for the device at every phase boundary)\n";
    for (const auto& [phase, ms] : split.phaseMs) {
        if (ms <= 0) continue;
        o << "  " << phase << std::string(phase.size() < 17 ? 17 - phase.size() : 1, ' ') << fixed(ms, 1) << " ms  ("
          << fixed(split.passMs > 0 ? 100 * ms / split.passMs : 0, 1) << " %)\n";
    }
    return o.str();
}

nlohmann::json timeSplitJson(const TimeSplit& split) {
    nlohmann::json phases = nlohmann::json::object();
    for (const auto& [phase, ms] : split.phaseMs) phases[phase] = ms;
    return {{"pass_ms", split.passMs}, {"phases_ms", phases}};
}

std::string modelBenchJson(const ModelBenchResult& b) {
    return nlohmann::json{{"source", b.source},
                          {"implementation", b.implementation},
                          {"batch", b.batch},
                          {"seq_len", b.seqLen},
                          {"threads", b.threads},
                          {"device", b.device},
                          {"dtype", b.dtype},
                          {"forward_ms", b.forwardMs},
                          {"forward_backward_ms", b.forwardBackwardMs},
                          {"tokens_per_s", b.tokensPerSecond},
                          {"flops_per_s", b.flopsPerSecond},
                          {"peak_flops_per_s", b.peakFlopsPerSecond},
                          {"mfu", b.mfu},
                          {"training_flops_per_token", b.trainingFlopsPerToken},
                          {"time_split", timeSplitJson(b.split)}}
        .dump(2);
}

}  // namespace hy3::cli
