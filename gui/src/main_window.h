// The workbench window: menus, toolbar, status bar, a workspace dock (models, suites, reports), a jobs dock, and
// the Model / Run / Inspector / Compare views. State (geometry, docks, recent files) lives in QSettings.
#pragma once

#include <QMainWindow>

#include "lmwb/model.h"

class QAbstractItemModel;
class QLabel;
class QMimeData;
class QProgressBar;
class QPushButton;
class QTabWidget;
class QTreeWidget;

namespace lmwb::gui {

class Session;
class ModelView;
class RunView;
class InspectorView;
class CompareView;
class ItemPanel;
class HistoryView;
class RatingView;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Each reports a failure in a dialog (unless quiet) and returns false; the message names the file and field.
    // Loads on a background job; true when the job started. File ▸ Open model asks for the options first.
    bool openModel(const QString& path, const ModelOptions& options = {});
    // Suites and reports load on a job: true when it started; errors arrive as a dialog (or lastError()).
    bool openSuite(const QString& path);
    bool openReport(const QString& path, bool add_to_comparison);
    bool openSuites(const QStringList& paths);                             // in order
    bool openReports(const QStringList& paths, bool add_to_comparison);  // the first is the open report unless comparing
    bool exportReport(const QString& path);
    // One self-contained HTML file: the open run (settings, aggregates, calibration), the comparison and its plots.
    bool exportHtml(const QString& path);
    // Every item of every suite of the open report as CSV at full precision.
    bool exportResults(const QString& path);
    // A table as CSV (as shown: filtered and sorted); default: the results table.
    bool exportTable(const QString& path, const QAbstractItemModel* table = nullptr);
    void openPath(const QString& path);         // a dropped or given path: model folder, suite or report
    void openPaths(const QStringList& paths);   // the same for several, suites and reports each loaded in order
    // The run history's folder (QSettings workspace/folder; default Workspace::defaultFolder()). False when it cannot
    // be used (the error is shown); the history is then off until another folder is chosen.
    bool setWorkspaceFolder(const QString& folder);
    // What the last session had open: model, suites, prompt and target, report, comparison. False when nothing was
    // saved (a first start). saveSession() runs when the window closes.
    bool restoreSession();
    void saveSession() const;
    // View > Reset layout: every dock back in its area, shown, at a usable size.
    void resetLayout();
    static constexpr int kDockWidth = 220, kDockHeight = 60, kWorkspaceDockHeight = 160;
    QString viewGuide(int tab) const;  // Help ▸ Guide to this view (F1)
    int openDropped(const QMimeData& mime);     // what a drop carries; returns the number of local paths opened
    void setQuiet(bool quiet) { quiet_ = quiet; }  // tests: errors go to lastError() instead of dialogs
    QString lastError() const { return last_error_; }

    Session& session() { return *session_; }
    ModelView* modelView() const { return model_view_; }
    RunView* runView() const { return run_view_; }
    InspectorView* inspector() const { return inspector_; }
    CompareView* compareView() const { return compare_view_; }
    ItemPanel* itemPanel() const { return item_panel_; }
    HistoryView* historyView() const { return history_view_; }
    RatingView* ratingView() const { return rating_view_; }
    QTabWidget* tabs() const { return tabs_; }

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildMenus();
    void ensureDocksUsable();
    void refreshWorkspace();
    void addRecent(const QString& key, const QString& path);
    void showError(const QString& title, const QString& message);
    // An export may replace a file (or, chosen in the dialog, a link's target), never a device, FIFO or folder.
    bool writablePath(const QString& path, const QString& title);
    Session* session_;
    ModelView* model_view_;
    RunView* run_view_;
    InspectorView* inspector_;
    CompareView* compare_view_;
    ItemPanel* item_panel_;
    HistoryView* history_view_;
    RatingView* rating_view_;
    QTabWidget* tabs_;
    QTreeWidget* workspace_;
    QLabel* model_label_;
    QProgressBar* job_progress_;
    QLabel* job_text_;
    QPushButton* job_cancel_;
    bool quiet_ = false;
    QString last_error_;
    int model_job_ = 0;
};

}  // namespace lmwb::gui
