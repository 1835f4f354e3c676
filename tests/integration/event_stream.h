#pragma once
// Helpers for the tests that read `hy3 train --events jsonl` output and its run directories.
#include "store/run_events.h"

#include <nlohmann/json.hpp>

#include <QByteArray>
#include <QDir>
#include <QString>

#include <map>
#include <vector>

namespace hy3::test {

// One JSON object per non-empty line of a run's stdout; each must be a run event of the typed
// schema (store/run_events.h), or the test run ends naming the line.
inline std::vector<nlohmann::json> parseEvents(const QByteArray& out) {
    std::vector<nlohmann::json> events;
    for (const QByteArray& line : out.split('\n')) {
        if (line.trimmed().isEmpty()) continue;
        events.push_back(nlohmann::json::parse(line.toStdString()));
        if (!hy3::eventFromJson(events.back())) qFatal("not a run event: %s", line.constData());
    }
    return events;
}

// step -> the event of `kind` at that step (the last one when there are several).
inline std::map<int64_t, nlohmann::json> stepEvents(const std::vector<nlohmann::json>& events, const char* kind = "step") {
    std::map<int64_t, nlohmann::json> out;
    for (const nlohmann::json& e : events)
        if (e["event"] == kind) out[e["step"].get<int64_t>()] = e;
    return out;
}

// The first run directory under an output folder, or empty.
inline QString runDirOf(const QString& output) {
    const QStringList runs = QDir(output).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    return runs.isEmpty() ? QString() : output + "/" + runs.first();
}

}  // namespace hy3::test
