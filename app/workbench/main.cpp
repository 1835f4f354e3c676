// hy3-workbench: the desktop workbench. Opens the project given on the command line, or the user's
// copy of the bundled default project (made on the first start, see ui/user_project.h).
#include "api/project_api.h"
#include "main_window.h"
#include "user_project.h"

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
    parser.addPositionalArgument("project", "project file (*.hy3proj) to open; default: your copy of the bundled project "
                                            "(~/hy3-workbench/default, made on the first start)");
    QCommandLineOption page("page", "page to show first (Project, Model, ...)", "name");
    parser.addOption(page);
    QCommandLineOption size("size", "window size, e.g. 1400x1000", "WxH");
    parser.addOption(size);
    parser.process(app);

    hy3::ui::MainWindow window;
    QString project = parser.positionalArguments().value(0);
    if (project.isEmpty()) {
        const hy3::ui::UserProject user = hy3::ui::userDefaultProject();
        if (user.copied) qInfo("hy3-workbench: copied the bundled default project to %s; its runs go there", qPrintable(user.file));
        if (!user.error.isEmpty()) qWarning("hy3-workbench: cannot copy the bundled default project: %s", qPrintable(user.error));
        project = user.file;
    }
    if (project.isEmpty() || !window.openProject(project)) window.newProject();
    if (parser.isSet(page)) window.showPage(parser.value(page));
    if (parser.isSet(size)) {
        const QStringList wh = parser.value(size).split('x');
        if (wh.size() == 2 && wh[0].toInt() > 0 && wh[1].toInt() > 0) window.resize(wh[0].toInt(), wh[1].toInt());
        else qWarning("--size: expected WxH, e.g. 1400x1000");
    }
    window.show();
    return QApplication::exec();
}
