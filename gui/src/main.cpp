// lmwb-gui [MODEL] [SUITE.json | REPORT.json ...]: with no arguments, what the last session had open (model, suites,
// prompt, report, comparison), or on a first start the bundled model tiny-b and the bundled suites.
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QIcon>

#include <cstring>
#include <iostream>

#include "lmwb/installation.h"
#include "main_window.h"
#include "session.h"

namespace {

void describe(QCommandLineParser& parser) {
    parser.setApplicationDescription(QStringLiteral(
        "LM Workbench: evaluate and interpret language models, offline.\n"
        "With no arguments, reopens what the last session had open, or on a first start the bundled model tiny-b\n"
        "and the bundled suites. MODEL is a checkpoint folder, a bundled model's name or a Hugging Face cache name."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption({QStringLiteral("screenshot"),
                      QStringLiteral("Open the arguments as usual, wait until every job is done, save the window to "
                                     "<file> (PNG) and quit; exit status 1 if anything failed to open."),
                      QStringLiteral("file")});
    parser.addOption({QStringLiteral("size"),
                      QStringLiteral("The window's size, WIDTHxHEIGHT (e.g. 1280x720); it never goes below its minimum."),
                      QStringLiteral("WxH")});
    parser.addPositionalArgument(QStringLiteral("paths"), QStringLiteral("A model, then suites (.json) or reports."),
                                 QStringLiteral("[MODEL] [SUITE.json | REPORT.json ...]"));
}

void name_application() {
    QCoreApplication::setOrganizationName(QStringLiteral("lmwb"));
    QCoreApplication::setApplicationName(QStringLiteral("LM Workbench"));
    QCoreApplication::setApplicationVersion(QString::fromUtf8(lmwb::version()));
}

// The bundled model and suites, for a first start.
QStringList bundled_paths() {
    QStringList out;
    const QString model = QString::fromStdString(lmwb::bundled_model("tiny-b"));
    if (!model.isEmpty()) out << model;
    const QString suites = QString::fromStdString(lmwb::bundled_suites_dir());
    if (!suites.isEmpty())
        for (const auto& f : QDir(suites).entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name))
            out << QDir(suites).filePath(f);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    // --help and --version answer without a display.
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        if (!std::strcmp(a, "--help") || !std::strcmp(a, "--help-all") || !std::strcmp(a, "-h") || !std::strcmp(a, "--version") || !std::strcmp(a, "-v")) {
            QCoreApplication core(argc, argv);
            name_application();
            QCommandLineParser parser;
            describe(parser);
            parser.process(core);  // prints and exits
        }
    }
    QApplication app(argc, argv);
    Q_INIT_RESOURCE(lmwb);  // the icon, compiled into the static GUI library
    name_application();
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/lmwb/lmwb.svg")));
    QCommandLineParser parser;
    describe(parser);
    parser.process(app);  // an unknown option: a message naming it, exit status 1
    const QString screenshot = parser.value(QStringLiteral("screenshot"));
    QSize size;
    if (parser.isSet(QStringLiteral("size"))) {
        const QStringList wh = parser.value(QStringLiteral("size")).split(QLatin1Char('x'));
        bool w_ok = false, h_ok = false;
        if (wh.size() == 2) size = QSize(wh[0].toInt(&w_ok), wh[1].toInt(&h_ok));
        if (!w_ok || !h_ok || size.width() < 1 || size.height() < 1 || size.width() > 16384 || size.height() > 16384) {
            std::cerr << "lmwb-gui: --size " << parser.value(QStringLiteral("size")).toStdString() << ": expected WIDTHxHEIGHT, e.g. 1280x720\n";
            return 1;
        }
    }

    lmwb::gui::MainWindow w;
    QStringList args = parser.positionalArguments();
    if (!screenshot.isEmpty()) w.setQuiet(true);  // errors go to stderr and the exit status, not dialogs
    if (!(args.isEmpty() && w.restoreSession())) w.openPaths(args.isEmpty() ? bundled_paths() : args);
    if (size.isValid()) w.resize(size);
    w.show();
    if (screenshot.isEmpty()) return QApplication::exec();

    w.session().jobs.waitIdle(10 * 60 * 1000);
    QApplication::processEvents();
    if (!w.lastError().isEmpty()) {
        std::cerr << "lmwb-gui: " << w.lastError().toStdString() << "\n";
        return 1;
    }
    if (!w.grab().save(screenshot, "PNG")) {
        std::cerr << "lmwb-gui: " << screenshot.toStdString() << ": could not be written\n";
        return 1;
    }
    return 0;
}
