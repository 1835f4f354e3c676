// Project files: load/save round trip with unknown fields kept, paths relative to the file and
// rebased on "save as", and bad files reported with the dotted path of the field.
#include "config/project.h"
#include "config/resources.h"
#include "util/error.h"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using hy3::ProjectFile;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path writeFile(const QString& path, const std::string& text) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    std::ofstream(path.toStdString()) << text;
    return fs::path(path.toStdString());
}

json validProject() {
    return json::parse(R"({
      "schema_version": 1, "name": "test", "model": {"preset": "hy3-tiny"},
      "datasets": [{"path": "data/train.jsonl", "format": "messages", "split": "train"}],
      "chat_template": "auto", "training": {"learning_rate": 0.001, "global_batch": 8, "micro_batch": 2},
      "layout": {"pp": 1, "dp": 2, "ep": 2}, "output_dir": "runs"
    })");
}

QStringList errorKeys(const ProjectFile& p) {
    QStringList keys;
    for (const auto& e : p.validate()) keys << QString::fromStdString(e.key);
    return keys;
}

QString messageFor(const ProjectFile& p, const QString& key) {
    for (const auto& e : p.validate())
        if (QString::fromStdString(e.key) == key) return QString::fromStdString(e.message);
    return {};
}

}  // namespace

class TestProjectFile : public QObject {
    Q_OBJECT
private slots:
    void bundledDefaultProjectIsValid() {
        const ProjectFile p = ProjectFile::load(hy3::defaultProjectPath());
        QVERIFY2(p.validate().empty(), p.validate().empty() ? "" : p.validate().front().message.c_str());
        const hy3::Project resolved = p.resolve();
        QCOMPARE(QString::fromStdString(resolved.model.preset), QString("hy3-tiny"));
    }

    void roundTripKeepsEverything() {
        QTemporaryDir dir;
        writeFile(dir.path() + "/data/train.jsonl", "{}\n");
        json doc = validProject();
        doc["future_field"] = {{"a", {1, 2, 3}}};
        doc["training"]["future_knob"] = "x";
        doc["datasets"][0]["weight"] = 0.5;
        const fs::path file = writeFile(dir.path() + "/p.hy3proj", doc.dump());
        ProjectFile loaded = ProjectFile::load(file);
        QVERIFY(loaded.validate().empty());
        loaded.set("training.learning_rate", 0.002);
        loaded.save();
        const ProjectFile again = ProjectFile::load(file);
        QCOMPARE(again.document()["future_field"], doc["future_field"]);
        QCOMPARE(again.document()["training"]["future_knob"].get<std::string>(), std::string("x"));
        QCOMPARE(again.document()["datasets"][0]["weight"].get<double>(), 0.5);
        QCOMPARE(again.get("training.learning_rate").get<double>(), 0.002);
        doc["training"]["learning_rate"] = 0.002;
        QCOMPARE(again.document(), doc);  // nothing else changed
    }

    // Saving keeps the user's order of keys (nlohmann::json sorted them) and writes only what is
    // set; a key set for the first time goes after the others of its section.
    void savingKeepsTheUsersKeyOrder() {
        QTemporaryDir dir;
        const std::string text = "{\n"
                                 "  \"name\": \"mine\",\n"
                                 "  \"training\": {\n"
                                 "    \"seed\": 7,\n"
                                 "    \"learning_rate\": 0.001\n"
                                 "  },\n"
                                 "  \"model\": {\n"
                                 "    \"preset\": \"hy3-tiny\"\n"
                                 "  },\n"
                                 "  \"schema_version\": 1\n"
                                 "}\n";
        const fs::path file = writeFile(dir.path() + "/p.hy3proj", text);
        ProjectFile p = ProjectFile::load(file);
        p.save();
        std::ifstream in(file);
        QCOMPARE(std::string(std::istreambuf_iterator<char>(in), {}), text);  // byte for byte
        p.set("training.max_steps", 5);
        p.set("training.learning_rate", 0.002);
        p.save();
        std::ifstream again(file);
        const std::string saved(std::istreambuf_iterator<char>(again), {});
        QVERIFY2(saved.find("\"seed\": 7,\n    \"learning_rate\": 0.002,\n    \"max_steps\": 5") != std::string::npos, saved.c_str());
        QVERIFY2(saved.find("\"name\"") < saved.find("\"training\"") && saved.find("\"model\"") < saved.find("\"schema_version\""), saved.c_str());
        // Save as elsewhere keeps the order too.
        QDir().mkpath(dir.path() + "/sub");
        p.saveAs((dir.path() + "/sub/q.hy3proj").toStdString());
        std::ifstream moved((dir.path() + "/sub/q.hy3proj").toStdString());
        const std::string movedText(std::istreambuf_iterator<char>(moved), {});
        QVERIFY2(movedText.find("\"name\"") < movedText.find("\"training\""), movedText.c_str());
    }

    void defaultsComeFromTheSchema() {
        QTemporaryDir dir;
        const ProjectFile p = ProjectFile::createNew((dir.path() + "/n.hy3proj").toStdString(), "n");
        const hy3::Project r = p.resolve();
        QCOMPARE(r.training.adam_beta2, 0.95);
        QCOMPARE(QString::fromStdString(r.training.lr_schedule), QString("cosine"));
        QCOMPARE(r.layout.worldSize(), 1);
        QCOMPARE(QString::fromStdString(r.output_dir.string()), dir.path() + "/runs");
    }

    void pathsAreRelativeToTheFile() {
        QTemporaryDir dir;
        const QString data = dir.path() + "/shared/data/train.jsonl";
        writeFile(data, "{}\n");
        ProjectFile p = ProjectFile::createNew((dir.path() + "/projects/a/a.hy3proj").toStdString(), "a");
        p.addDataset(data.toStdString(), "auto", "train");
        p.setPath("output_dir", (dir.path() + "/projects/a/out").toStdString());
        QCOMPARE(p.document()["datasets"][0]["path"].get<std::string>(), std::string("../../shared/data/train.jsonl"));
        QCOMPARE(p.document()["output_dir"].get<std::string>(), std::string("out"));
        QCOMPARE(QString::fromStdString(p.resolve().datasets[0].path.string()), data);

        // Saving into a folder that does not exist fails and leaves the project as it was.
        QVERIFY_THROWS_EXCEPTION(hy3::Error, p.saveAs((dir.path() + "/elsewhere/deeper/b.hy3proj").toStdString()));
        QCOMPARE(p.document()["output_dir"].get<std::string>(), std::string("out"));
        QVERIFY(p.file().string().find("projects/a/a.hy3proj") != std::string::npos);

        // Saving somewhere else rebases relative paths; they still name the same files.
        QDir().mkpath(dir.path() + "/elsewhere/deeper");
        p.saveAs((dir.path() + "/elsewhere/deeper/b.hy3proj").toStdString());
        QCOMPARE(p.document()["datasets"][0]["path"].get<std::string>(), std::string("../../shared/data/train.jsonl"));
        QCOMPARE(p.document()["output_dir"].get<std::string>(), std::string("../../projects/a/out"));
        const ProjectFile reloaded = ProjectFile::load((dir.path() + "/elsewhere/deeper/b.hy3proj").toStdString());
        QCOMPARE(QString::fromStdString(reloaded.resolve().datasets[0].path.string()), data);
        QCOMPARE(QString::fromStdString(reloaded.resolve().output_dir.string()), dir.path() + "/projects/a/out");
    }

    void absolutePathsStayAbsolute() {
        QTemporaryDir dir;
        ProjectFile p = ProjectFile::createNew((dir.path() + "/p.hy3proj").toStdString(), "p");
        p.set("output_dir", "/tmp/hy3-abs-out");
        QDir().mkpath(dir.path() + "/sub");
        p.saveAs((dir.path() + "/sub/q.hy3proj").toStdString());
        QCOMPARE(p.document()["output_dir"].get<std::string>(), std::string("/tmp/hy3-abs-out"));
    }

    void badFields_data() {
        QTest::addColumn<QString>("patch");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("expected");
        QTest::newRow("newer schema") << R"({"schema_version": 2})" << "schema_version" << "newer than this workbench";
        QTest::newRow("no schema") << R"({"schema_version": null})" << "schema_version" << "required field is missing";
        QTest::newRow("negative lr") << R"({"training": {"learning_rate": -1}})" << "training.learning_rate" << "must be > 0";
        QTest::newRow("lr as text") << R"({"training": {"learning_rate": "fast"}})" << "training.learning_rate" << "expected a number";
        QTest::newRow("bad schedule") << R"({"training": {"lr_schedule": "step"}})" << "training.lr_schedule"
                                      << "expected one of constant, linear, cosine";
        QTest::newRow("ep not dividing dp") << R"({"layout": {"dp": 2, "ep": 4}})" << "layout.ep" << "4 does not divide dp (2)";
        QTest::newRow("zero pp") << R"({"layout": {"pp": 0}})" << "layout.pp" << "must be >= 1";
        QTest::newRow("batch not multiple") << R"({"training": {"global_batch": 6, "micro_batch": 4}, "layout": {"dp": 1, "ep": 1}})"
                                            << "training.global_batch" << "not a multiple of micro_batch x dp";
        QTest::newRow("unknown preset") << R"({"model": {"preset": "gpt-5"}})" << "model.preset" << "unknown preset";
        QTest::newRow("both sources") << R"({"model": {"preset": "hy3-tiny", "path": "x"}})" << "model" << "exactly one";
        QTest::newRow("missing model dir") << R"({"model": {"preset": null, "path": "nowhere"}})" << "model.path" << "directory not found";
        QTest::newRow("missing dataset") << R"({"datasets": [{"path": "nope.jsonl"}]})" << "datasets[0].path" << "not found";
        QTest::newRow("bad format") << R"({"datasets": [{"path": "data/train.jsonl", "format": "csv"}]})"
                                    << "datasets[0].format" << "expected one of auto, messages";
        QTest::newRow("bad split") << R"({"datasets": [{"path": "data/train.jsonl", "split": "test"}]})"
                                   << "datasets[0].split" << "expected one of train, validation";
        QTest::newRow("missing template") << R"({"chat_template": "t.jinja"})" << "chat_template" << "template file not found";
        QTest::newRow("empty name") << R"({"name": ""})" << "name" << "non-empty";
        QTest::newRow("training not object") << R"({"training": 3})" << "training" << "expected an object";
        QTest::newRow("bool as int") << R"({"training": {"packing": 1}})" << "training.packing" << "expected true or false";
    }

    void badFields() {
        QFETCH(QString, patch);
        QFETCH(QString, key);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        writeFile(dir.path() + "/data/train.jsonl", "{}\n");
        json doc = validProject();
        doc.merge_patch(json::parse(patch.toStdString()));
        const fs::path file = writeFile(dir.path() + "/p.hy3proj", doc.dump());
        const ProjectFile p = ProjectFile::load(file);
        QVERIFY2(errorKeys(p).contains(key), qPrintable(errorKeys(p).join(", ")));
        QVERIFY2(messageFor(p, key).contains(expected), qPrintable(messageFor(p, key)));
        try {
            p.resolve();
            QFAIL("resolve must refuse an invalid project");
        } catch (const hy3::Error& e) {
            const QString message = QString::fromStdString(e.what());
            QVERIFY2(message.startsWith(QString::fromStdString(file.string()) + ": "), qPrintable(message));
        }
    }

    void unreadableFiles() {
        QTemporaryDir dir;
        const fs::path broken = writeFile(dir.path() + "/broken.hy3proj", "{\"schema_version\": 1,");
        try {
            ProjectFile::load(broken);
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY(QString(e.what()).contains("broken.hy3proj: not valid JSON"));
        }
        const fs::path array = writeFile(dir.path() + "/array.hy3proj", "[]");
        QVERIFY_THROWS_EXCEPTION(hy3::Error, ProjectFile::load(array));
        QVERIFY_THROWS_EXCEPTION(hy3::Error, ProjectFile::load((dir.path() + "/missing.hy3proj").toStdString()));
    }

    void overridesByDottedKey() {
        QTemporaryDir dir;
        ProjectFile p = ProjectFile::createNew((dir.path() + "/p.hy3proj").toStdString(), "p");
        p.applyOverride("layout.dp=2");
        p.applyOverride("training.lr_schedule=linear");  // a bare word is a string
        p.applyOverride("training.freeze.router=true");
        QCOMPARE(p.get("layout.dp").get<int>(), 2);
        QCOMPARE(p.get("training.lr_schedule").get<std::string>(), std::string("linear"));
        QVERIFY(p.resolve().training.freeze.router);
        try {
            p.applyOverride("training.learning_rate=abc");
            QFAIL("expected an error");
        } catch (const hy3::Error& e) {
            QVERIFY(QString(e.what()).contains("--set training.learning_rate: expected a number"));
        }
        QVERIFY_THROWS_EXCEPTION(hy3::Error, p.applyOverride("novalue"));
    }

    void dottedKeys() {
        QCOMPARE(QString::fromStdString(hy3::keyToPointer("training.learning_rate").to_string()),
                 QString("/training/learning_rate"));
        QCOMPARE(QString::fromStdString(hy3::keyToPointer("datasets[2].path").to_string()), QString("/datasets/2/path"));
        QVERIFY_THROWS_EXCEPTION(hy3::Error, hy3::keyToPointer("a..b"));
        QVERIFY_THROWS_EXCEPTION(hy3::Error, hy3::keyToPointer("a[x]"));
        QVERIFY_THROWS_EXCEPTION(hy3::Error, hy3::keyToPointer(""));
    }
};

QTEST_GUILESS_MAIN(TestProjectFile)
#include "tst_project_file.moc"
