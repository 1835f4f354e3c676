#include "widgets/compare_dialog.h"

#include "api/run_follower.h"
#include "widgets/train_charts.h"

#include <QLabel>
#include <QListWidget>
#include <QVBoxLayout>

#include <qcustomplot.h>

namespace hy3::ui {

CompareDialog::CompareDialog(const QStringList& runDirs, QWidget* parent) : QDialog(parent) {
    setObjectName("compareDialog");
    setWindowTitle(tr("Compare runs"));
    setAttribute(Qt::WA_DeleteOnClose);
    plot_ = new QCustomPlot;
    plot_->setObjectName("comparePlot");
    plot_->setMinimumSize(700, 300);
    plot_->xAxis->setLabel(tr("step"));
    plot_->yAxis->setLabel(tr("training loss (smoothed)"));
    plot_->legend->setVisible(true);
    diff_ = new QListWidget;
    diff_->setObjectName("settingsDiff");
    diff_->addItem(tr("Reading the runs…"));
    auto* v = new QVBoxLayout(this);
    v->addWidget(plot_, 2);
    v->addWidget(new QLabel(tr("Settings that differ:")));
    v->addWidget(diff_, 1);
    resize(900, 650);
    std::vector<std::string> dirs;
    for (const QString& d : runDirs) dirs.push_back(d.toStdString());
    readJob_.start([dirs] { return api::readRunCurves(dirs); }, [this](const std::vector<api::RunCurve>& curves) { fill(curves); });
}

void CompareDialog::fill(const std::vector<api::RunCurve>& curves) {
    diff_->clear();
    std::vector<const api::RunCurve*> read;
    for (const api::RunCurve& c : curves) {
        if (!c.error.empty()) {
            diff_->addItem(tr("%1: %2").arg(QString::fromStdString(c.dir), QString::fromStdString(c.error)));
            continue;
        }
        read.push_back(&c);
        const std::vector<double> smooth = api::smoothed(c.loss);
        QCPGraph* g = plot_->addGraph();
        g->setName(QString::fromStdString(c.name));
        g->setPen(QPen(plotColor(read.size() - 1), 1.5));
        g->setData(QVector<double>(c.steps.begin(), c.steps.end()), QVector<double>(smooth.begin(), smooth.end()), true);
    }
    plot_->rescaleAxes();
    plot_->replot();
    for (size_t i = 1; i < read.size(); ++i) {
        const auto lines = api::settingsDiff(read[0]->settingsJson, read[i]->settingsJson);
        diff_->addItem(tr("%1 vs %2: %n setting(s) differ", nullptr, static_cast<int>(lines.size()))
                           .arg(QString::fromStdString(read[0]->name), QString::fromStdString(read[i]->name)));
        for (const std::string& line : lines) diff_->addItem("    " + QString::fromStdString(line));
    }
    emit filled();
}

}  // namespace hy3::ui
