#pragma once
// What the CLI prints: each report as text for a terminal and as JSON (--json). The engine returns
// results; the wording and layout of them for a terminal live here.
#include "api/bench_tools.h"
#include "api/checkpoint_tools.h"
#include "api/data_tools.h"
#include "api/model_report.h"
#include "api/plan_tools.h"
#include "api/system_report.h"

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace hy3::cli {

std::string formatModelReport(const api::ModelReport& report);  // hy3 model-info
std::string modelReportJson(const api::ModelReport& report);
std::string formatInspectReport(const InspectReport& report);   // hy3 checkpoint inspect
std::string inspectReportJson(const InspectReport& report);
std::string exportSummaryJson(const api::ExportSummary& summary);  // hy3 checkpoint export --json
std::string compareReportJson(const api::CompareReport& report);    // hy3 checkpoint compare --json
std::string formatSystemInfo(const SystemInfo& info);           // hy3 info
std::string systemInfoJson(const SystemInfo& info);
std::string formatLayoutPlan(const LayoutPlanResult& plan);     // hy3 plan
std::string layoutPlanJson(const LayoutPlanResult& plan);
std::string formatDataStats(const PrepareResult& result);       // hy3 prepare, hy3 data-stats
std::string formatModelBench(const ModelBenchResult& result);   // hy3 bench model
std::string modelBenchJson(const ModelBenchResult& result);
std::string formatTrainBench(const TrainBenchResult& result);   // hy3 bench train
std::string formatTimeSplit(const TimeSplit& split);             // both benches' phase lines
nlohmann::json timeSplitJson(const TimeSplit& split);
std::string trainBenchJson(const TrainBenchResult& result);
std::string formatTokenizerBench(const TokenizerBenchResult& result);  // hy3 bench tokenizer
std::string tokenizerBenchJson(const TokenizerBenchResult& result);

}  // namespace hy3::cli
