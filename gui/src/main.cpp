// lmwb-gui [MODEL] [SUITE.json | REPORT.json ...]: with no arguments, what the last session had open (model, suites,
// prompt, report, comparison), or on a first start the bundled model tiny-b and the bundled suites.
#include <QApplication>
#include <QDir>

#include "main_window.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("lmwb"));
    QApplication::setApplicationName(QStringLiteral("LM Workbench"));
    lmwb::gui::MainWindow w;
    QStringList args = QApplication::arguments().mid(1);
    // No arguments: what the last session had open, or on a first start the bundled model and suites.
    if (args.isEmpty() && w.restoreSession()) {
        w.show();
        return QApplication::exec();
    }
    if (args.isEmpty()) {
        const QString root = QStringLiteral(LMWB_BUNDLED_DIR);
        args << root + QStringLiteral("/models/tiny-b");
        for (const auto& f : QDir(root + QStringLiteral("/datasets/suites")).entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name))
            args << root + QStringLiteral("/datasets/suites/") + f;
    }
    w.openPaths(args);
    w.show();
    return QApplication::exec();
}
