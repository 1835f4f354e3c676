// The safetensors reader and writer on real files: round trip, header padding and contiguous data,
// and every kind of malformed file giving one error that names the file and the tensor.
#include "checkpoint/safetensors.h"
#include "safetensors_support.h"
#include "util/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <fstream>

namespace fs = std::filesystem;

namespace {

// A file with a hand-written header and `dataBytes` zero bytes of data.
fs::path craft(const QTemporaryDir& dir, const std::string& header, size_t dataBytes, const char* name = "x.safetensors") {
    const fs::path path = fs::path(dir.path().toStdString()) / name;
    std::ofstream out(path, std::ios::binary);
    const uint64_t length = header.size();
    out.write(reinterpret_cast<const char*>(&length), 8);
    out << header;
    out << std::string(dataBytes, '\0');
    return path;
}

QString errorOf(const fs::path& path) {
    try {
        hy3::SafetensorsFile::open(path);
    } catch (const hy3::Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private slots:
    void roundTrip() {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "rt.safetensors";
        std::map<std::string, hy3::test::RawTensor> tensors;
        tensors["b.half"] = {hy3::DType::BF16, {3}, {1, 2, 3, 4, 5, 6}};  // 6 bytes: the next tensor is not 8-aligned
        tensors["a.float"] = {hy3::DType::F32, {2, 2}, std::vector<uint8_t>(16, 7)};
        tensors["c.empty"] = {hy3::DType::F32, {0, 4}, {}};
        hy3::test::writeRaw(path, tensors);
        auto file = hy3::SafetensorsFile::open(path);
        QCOMPARE(file->tensors().size(), size_t(3));
        QCOMPARE(file->dataOffset() % 8, uint64_t(0));  // header padded to 8 bytes
        QCOMPARE(file->unindexedBytes(), uint64_t(0));  // no holes
        QCOMPARE(file->metadata().at("format"), std::string("pt"));
        const auto back = hy3::test::readRaw(path);
        for (const auto& [name, t] : tensors) {
            QVERIFY(back.at(name).bytes == t.bytes);
            QVERIFY(back.at(name).shape == t.shape);
            QVERIFY(back.at(name).dtype == t.dtype);
        }
    }

    // The loader's path: pread of a byte range of one tensor equals the mapped bytes, and a range
    // outside the tensor is one error naming the file and the tensor.
    void readBytesReadsTheTensorsRange() {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "r.safetensors";
        std::vector<uint8_t> bytes(4096 * 3);
        for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 3);
        std::map<std::string, hy3::test::RawTensor> tensors;
        tensors["a"] = {hy3::DType::U8, {5}, {9, 9, 9, 9, 9}};
        tensors["b"] = {hy3::DType::F32, {3, 1024}, bytes};
        hy3::test::writeRaw(path, tensors);
        auto file = hy3::SafetensorsFile::open(path);
        const hy3::TensorInfo& b = file->at("b");
        std::vector<uint8_t> out(4096);
        file->readBytes(b, 4096, 4096, out.data());  // the second row
        QVERIFY(std::equal(out.begin(), out.end(), bytes.begin() + 4096));
        QVERIFY(std::equal(out.begin(), out.end(), file->data(b) + 4096));
        try {
            file->readBytes(b, 8192, 4097, out.data());
            QFAIL("read past the tensor");
        } catch (const hy3::Error& e) {
            QVERIFY2(QString(e.what()).contains("r.safetensors: b: read of bytes [8192, 12289)"), e.what());
        }
    }

    void malformedFiles_data() {
        QTest::addColumn<QString>("header");
        QTest::addColumn<int>("dataBytes");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not json") << "{\"a\": " << 0 << "header is not valid JSON";
        QTest::newRow("unknown dtype") << R"({"w": {"dtype": "F7", "shape": [1], "data_offsets": [0, 4]}})" << 4
                                       << "w: unknown dtype \"F7\"";
        QTest::newRow("offsets out of range") << R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})" << 8
                                              << "w: data_offsets end 16 is past the end of the data (8 bytes";
        QTest::newRow("size disagrees with shape") << R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})" << 8
                                                   << "w: holds 8 bytes but shape [3] of F32 needs 12";
        QTest::newRow("overlap") << R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                       "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})"
                                 << 12 << "b: data overlaps tensor a";
        QTest::newRow("reversed offsets") << R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}})" << 8
                                          << "w: data_offsets [8, 0] are reversed";
        QTest::newRow("negative dim") << R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})" << 4
                                      << "w: shape [-1] has an invalid dimension";
        QTest::newRow("missing offsets") << R"({"w": {"dtype": "F32", "shape": [1]}})" << 4
                                         << "w: data_offsets must be two non-negative integers";
        QTest::newRow("not an object") << "[1, 2]" << 0 << "header is not a JSON object";
    }

    void malformedFiles() {
        QFETCH(QString, header);
        QFETCH(int, dataBytes);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const fs::path path = craft(dir, header.toStdString(), static_cast<size_t>(dataBytes));
        const QString error = errorOf(path);
        QVERIFY2(error.startsWith(QString::fromStdString(path.string())), qPrintable(error));
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void truncatedAndTinyFiles() {
        QTemporaryDir dir;
        const fs::path tiny = fs::path(dir.path().toStdString()) / "tiny.safetensors";
        std::ofstream(tiny) << "abc";
        QVERIFY(errorOf(tiny).contains("truncated: 3 bytes"));
        const fs::path huge = craft(dir, "{}", 0, "huge.safetensors");
        {
            std::fstream f(huge, std::ios::in | std::ios::out | std::ios::binary);
            const uint64_t length = 1ull << 50;
            f.write(reinterpret_cast<const char*>(&length), 8);
        }
        QVERIFY(errorOf(huge).contains("runs past the end of the file"));
        QVERIFY(errorOf(fs::path(dir.path().toStdString()) / "absent.safetensors").contains("file not found"));
    }

    void writerRefusesMisuse() {
        QTemporaryDir dir;
        hy3::SafetensorsWriter writer(fs::path(dir.path().toStdString()) / "w.safetensors");
        writer.declare("a", hy3::DType::F32, {2});
        writer.declare("b", hy3::DType::F32, {1});
        writer.begin();
        const float values[2] = {1, 2};
        QVERIFY_THROWS_EXCEPTION(hy3::Error, writer.write("b", values, 4));  // out of order
        QVERIFY_THROWS_EXCEPTION(hy3::Error, writer.write("a", values, 4));  // wrong size
        writer.write("a", values, 8);
        QVERIFY_THROWS_EXCEPTION(hy3::Error, writer.finish());  // "b" never written
    }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
