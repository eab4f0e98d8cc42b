// Catch2 main for the GUI tests: offscreen platform before QApplication (or catch_discover_tests, which runs the
// binary at build time, would find no display and register nothing), and settings in a scratch folder.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <QApplication>
#include <QDir>
#include <QSettings>
#include <QTemporaryDir>

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QTemporaryDir settings;
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settings.path());
    QApplication::setOrganizationName(QStringLiteral("lmwb-tests"));
    QApplication::setApplicationName(QStringLiteral("gui-tests"));
    QSettings().setValue(QStringLiteral("workspace/folder"), settings.filePath(QStringLiteral("workspace")));  // never the user's
    return Catch::Session().run(argc, argv);
}
