// hy3-workbench: the desktop workbench. Opens the project given on the command line, or the bundled
// default project.
#include "api/project_api.h"
#include "main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName("hy3");
    QApplication::setApplicationName("hy3-workbench");
    QApplication::setApplicationVersion(HY3_VERSION);
    QApplication::setWindowIcon(QIcon(":/icons/hy3-workbench.png"));

    QCommandLineParser parser;
    parser.setApplicationDescription("Hy3 fine-tuning workbench");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument("project", "project file (*.hy3proj) to open; default: the bundled project");
    QCommandLineOption page("page", "page to show first (Project, Model, ...)", "name");
    parser.addOption(page);
    QCommandLineOption size("size", "window size, e.g. 1400x1000", "WxH");
    parser.addOption(size);
    parser.process(app);

    hy3::ui::MainWindow window;
    const QString project = parser.positionalArguments().value(
        0, QString::fromStdString(hy3::defaultProjectPath().string()));
    if (!window.openProject(project)) window.newProject();
    if (parser.isSet(page)) window.showPage(parser.value(page));
    if (parser.isSet(size)) {
        const QStringList wh = parser.value(size).split('x');
        if (wh.size() == 2 && wh[0].toInt() > 0 && wh[1].toInt() > 0) window.resize(wh[0].toInt(), wh[1].toInt());
        else qWarning("--size: expected WxH, e.g. 1400x1000");
    }
    window.show();
    return QApplication::exec();
}
