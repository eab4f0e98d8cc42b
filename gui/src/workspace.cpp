#include "workspace.h"

#include <QDir>
#include <QFileInfo>
#include <QSaveFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QUuid>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <map>
#include <stdexcept>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "lmwb/report.h"

namespace lmwb::gui {

namespace {

constexpr int kSchemaVersion = 1;
using nlohmann::json;

[[noreturn]] void fail(const QString& what) { throw std::runtime_error(what.toStdString()); }

// SQLite's own code goes into the message: SQLITE_BUSY (5) and SQLITE_LOCKED (6) mean "wait", not "damaged".
QString sqlError(const QSqlError& e) { return QStringLiteral("%1 (sqlite %2)").arg(e.text(), e.nativeErrorCode()); }

QSqlQuery exec(const QSqlDatabase& db, const QString& sql) {
    QSqlQuery q(db);
    if (!q.exec(sql)) fail(QStringLiteral("run index: %1: %2").arg(sql.left(60), sqlError(q.lastError())));
    return q;
}

// Write transactions take the write lock at once (BEGIN IMMEDIATE), so that a second connection (the background
// index job, another program) makes them wait through the busy timeout; a deferred one that reads first would get
// SQLITE_BUSY without waiting when it tries to write.
void begin(const QSqlDatabase& db) { exec(db, QStringLiteral("BEGIN IMMEDIATE")); }
void commit(const QSqlDatabase& db) { exec(db, QStringLiteral("COMMIT")); }

void prepare(QSqlQuery& q, const QString& sql) {
    if (!q.prepare(sql)) fail(QStringLiteral("run index: %1: %2").arg(sql.left(60), sqlError(q.lastError())));
}

void execBound(QSqlQuery& q) {
    if (!q.exec()) fail(QStringLiteral("run index: %1").arg(sqlError(q.lastError())));
}

// Removes a run's rows (inside the caller's transaction); nothing when the run is not indexed.
void dropRun(const QSqlDatabase& db, const QString& dir) {
    QSqlQuery q(db);
    prepare(q, QStringLiteral("SELECT id FROM runs WHERE dir=?"));
    q.addBindValue(dir);
    execBound(q);
    if (!q.next()) return;
    const qint64 id = q.value(0).toLongLong();
    for (const char* t : {"DELETE FROM aggregates WHERE run=?", "DELETE FROM items WHERE run=?", "DELETE FROM runs WHERE id=?"}) {
        QSqlQuery d(db);
        prepare(d, QLatin1String(t));
        d.addBindValue(id);
        execBound(d);
    }
}

// What says whether a run changed since it was indexed: the files' modification times and the report's size.
QString stampOf(const QString& dir) {
    QFileInfo run(dir + QStringLiteral("/run.json")), report(dir + QStringLiteral("/report.json")), notes(dir + QStringLiteral("/annotations.json"));
    return QStringLiteral("%1/%2/%3/%4").arg(run.lastModified().toMSecsSinceEpoch()).arg(report.exists() ? report.lastModified().toMSecsSinceEpoch() : 0)
        .arg(report.exists() ? report.size() : -1).arg(notes.exists() ? notes.lastModified().toMSecsSinceEpoch() + notes.size() : 0);
}

json readJson(const QString& path) {
    std::ifstream in(path.toStdString());
    if (!in) fail(path + QStringLiteral(": cannot be read"));
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(path + QStringLiteral(": not a JSON object"));
    return j;
}

void writeJson(const QString& path, const json& j) {
    QSaveFile f(path);  // atomic: a crash leaves the old file
    const std::string text = j.dump(2) + "\n";
    if (!f.open(QIODevice::WriteOnly) || f.write(text.data(), static_cast<qint64>(text.size())) != static_cast<qint64>(text.size()) || !f.commit())
        fail(path + QStringLiteral(": cannot be written (%1)").arg(f.errorString()));
}


// When a process started, in clock ticks since boot (/proc/<pid>/stat, field 22): with the pid it names one process
// for good, where a pid alone is reused once the run's process is gone. -1 when unknown.
long long processStart(qint64 pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    const auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) return -1;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && rest >> field; ++i)
        if (i == 22) return std::atoll(field.c_str());
    return -1;
}

bool processAlive(qint64 pid, long long started) {
    if (pid <= 0 || (pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0)) return false;
    return started < 0 || processStart(pid) == started;  // runs recorded before the start time was kept: by pid
}

}  // namespace

QString Workspace::defaultFolder() {
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/workspace");
}

Workspace::Workspace(const QString& folder, Sync sync) : folder_(QDir(folder).absolutePath()) {
    if (!QDir().mkpath(folder_ + QStringLiteral("/runs"))) fail(folder_ + QStringLiteral(": the workspace folder cannot be created"));
    if (sync == Sync::Job) {
        openIndex();
        return;
    }
    try {
        openIndex();
        if (sync == Sync::Now) syncIndex();
    } catch (const std::exception& e) {
        last_error_ = QString::fromUtf8(e.what());
        // Another program holds it past the wait: never delete what it is writing; queries try again later.
        if (isBusy(e)) return;
        rebuildIndexFile();  // the index is a cache of the runs' JSON: a damaged or foreign one is built again
        if (sync == Sync::Now) syncIndex();
    }
}

int Workspace::syncFolder(const QString& folder, const lmwb::Control& control, bool rebuild) {
    // Errors go to the caller (the job reports them): the index file is never deleted here, since the GUI's own
    // connection has it open; the GUI's Workspace heals a damaged file when it opens or queries it.
    Workspace ws(folder, Sync::Job);
    if (rebuild) {
        QSqlDatabase db = QSqlDatabase::database(ws.connection_);
        begin(db);
        for (const char* t : {"DELETE FROM runs", "DELETE FROM aggregates", "DELETE FROM items"}) exec(db, QLatin1String(t));
        commit(db);
    }
    return ws.syncIndex(&control);
}

bool Workspace::isBusy(const std::exception& e) {
    const QString what = QString::fromUtf8(e.what());
    return what.contains(QLatin1String("(sqlite 5)")) || what.contains(QLatin1String("(sqlite 6)")) ||
           what.contains(QLatin1String("database is locked"));
}

void Workspace::closeIndex() {
    if (connection_.isEmpty()) return;
    { QSqlDatabase::database(connection_, false).close(); }
    QSqlDatabase::removeDatabase(connection_);
    connection_.clear();
}

void Workspace::rebuildIndexFile() {
    closeIndex();
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) QFile::remove(folder_ + QStringLiteral("/index.sqlite") + QLatin1String(suffix));
    openIndex();
}

void Workspace::openIndex() {
    connection_ = QStringLiteral("lmwb-workspace-") + QUuid::createUuid().toString(QUuid::WithoutBraces);
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection_);
    db.setDatabaseName(folder_ + QStringLiteral("/index.sqlite"));
    db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));  // a second program indexing: wait, then say so
    if (!db.open()) fail(folder_ + QStringLiteral("/index.sqlite: %1").arg(sqlError(db.lastError())));
    // Write-ahead log: the History's reads never wait for the background index job's writes, nor it for them.
    exec(db, QStringLiteral("PRAGMA journal_mode=WAL"));
    exec(db, QStringLiteral("PRAGMA synchronous=NORMAL"));
    exec(db, QStringLiteral("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)"));
    QSqlQuery v = exec(db, QStringLiteral("SELECT value FROM meta WHERE key='schema'"));
    bool current = v.next() && v.value(0).toInt() == kSchemaVersion;
    // The right schema number is not enough: every column this program reads must be there.
    for (const char* probe : {"SELECT id, dir, stamp, status, model, model_path, suites, started, error, items, items_total, seed, dtype, chat, "
                              "batch, lim, nshot, tags, note FROM runs LIMIT 0",
                              "SELECT run, suite, metric, value, low, high FROM aggregates LIMIT 0",
                              "SELECT run, suite, item, metric, value FROM items LIMIT 0"}) {
        QSqlQuery q(db);
        current = current && q.exec(QLatin1String(probe));
    }
    if (!current) {
        for (const char* t : {"runs", "aggregates", "items"}) exec(db, QStringLiteral("DROP TABLE IF EXISTS %1").arg(QLatin1String(t)));
        exec(db, QStringLiteral("CREATE TABLE runs(id INTEGER PRIMARY KEY, dir TEXT UNIQUE, stamp TEXT, status TEXT, model TEXT, "
                                "model_path TEXT, suites TEXT, started TEXT, error TEXT, items INTEGER, items_total INTEGER, seed INTEGER, "
                                "dtype TEXT, chat TEXT, batch INTEGER, lim INTEGER, nshot INTEGER, tags TEXT, note TEXT)"));
        exec(db, QStringLiteral("CREATE TABLE aggregates(run INTEGER, suite TEXT, metric TEXT, value REAL, low REAL, high REAL)"));
        exec(db, QStringLiteral("CREATE TABLE items(run INTEGER, suite TEXT, item TEXT, metric TEXT, value REAL)"));
        exec(db, QStringLiteral("CREATE INDEX aggregates_metric ON aggregates(metric, value)"));
        exec(db, QStringLiteral("CREATE INDEX aggregates_run ON aggregates(run)"));
        exec(db, QStringLiteral("CREATE INDEX items_run ON items(run, suite, metric)"));
        exec(db, QStringLiteral("CREATE INDEX items_item ON items(item)"));
        exec(db, QStringLiteral("CREATE INDEX runs_started ON runs(started)"));
        exec(db, QStringLiteral("INSERT OR REPLACE INTO meta VALUES('schema', '%1')").arg(kSchemaVersion));
    }
}

Workspace::~Workspace() { closeIndex(); }

template <class T, class F>
T Workspace::guarded(F f) const {
    try {
        return f();
    } catch (const std::exception& e) {
        last_error_ = QString::fromUtf8(e.what());
        QSqlDatabase::database(connection_, false).rollback();  // a transaction cut short
        if (isBusy(e)) return T{};  // try again later; the other program's index stays as it is
    }
    try {  // damaged since it was opened: built again from the runs' files, then asked once more
        auto* self = const_cast<Workspace*>(this);
        self->rebuildIndexFile();
        self->syncIndex();
        return f();
    } catch (const std::exception& e) {
        last_error_ = QString::fromUtf8(e.what());
        return T{};
    }
}

int Workspace::sync() { return guarded<int>([&] { return syncIndex(); }); }

int Workspace::syncIndex(const lmwb::Control* control) {
    QSqlDatabase db = QSqlDatabase::database(connection_);
    std::map<QString, QString> indexed;  // dir -> stamp
    {
        QSqlQuery q = exec(db, QStringLiteral("SELECT dir, stamp, status FROM runs"));
        // A run indexed as running whose process has gone is read again (it becomes "interrupted").
        while (q.next()) indexed[q.value(0).toString()] = q.value(2).toString() == QLatin1String("running") ? QString() : q.value(1).toString();
    }
    std::vector<QString> stale;
    const QDir runs(folder_ + QStringLiteral("/runs"));
    for (const QString& name : runs.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
        const QString dir = runs.filePath(name);
        if (!QFileInfo::exists(dir + QStringLiteral("/run.json"))) continue;
        auto it = indexed.find(dir);
        if (it == indexed.end() || it->second != stampOf(dir)) stale.push_back(dir);
        if (it != indexed.end()) indexed.erase(it);
    }
    int read = 0;
    begin(db);
    for (const QString& dir : stale) {
        if (control) {
            control->report(static_cast<std::size_t>(read), stale.size(), "runs", "run history");
            if (control->cancel.requested()) break;  // what was read stays; the next sync reads the rest
            if (read > 0 && read % kCommitRuns == 0) {  // others see the history fill
                commit(db);
                begin(db);
            }
        }
        if (!QFileInfo::exists(dir + QStringLiteral("/run.json"))) continue;  // deleted since it was listed
        index(dir);
        ++read;
    }
    if (control && control->cancel.requested()) {
        commit(db);
        return read;
    }
    if (control) control->report(stale.size(), stale.size(), "runs", "run history");
    for (const auto& [dir, stamp] : indexed) dropRun(db, dir);  // folders removed outside the program
    commit(db);
    return read;
}

void Workspace::rebuild() {
    guarded<int>([&] {
        QSqlDatabase db = QSqlDatabase::database(connection_);
        begin(db);
        for (const char* t : {"DELETE FROM runs", "DELETE FROM aggregates", "DELETE FROM items"}) exec(db, QLatin1String(t));
        commit(db);
        return syncIndex();
    });
}

void Workspace::index(const QString& dir) {
    QSqlDatabase db = QSqlDatabase::database(connection_);
    const QString stamp = stampOf(dir);
    RunRecord r;
    r.dir = dir;
    std::unique_ptr<eval::Report> report;
    try {
        json j = readJson(dir + QStringLiteral("/run.json"));
        r.status = QString::fromStdString(j.value("status", "damaged"));
        r.error = QString::fromStdString(j.value("error", ""));
        r.model_path = QString::fromStdString(j.value("model_path", ""));
        r.items_total = j.value("items_total", 0);
        r.started = QString::fromStdString(j.value("created", ""));
        if (r.status == QLatin1String("running") && !processAlive(j.value("pid", 0LL), j.value("pid_started", -1LL)))
            r.status = QStringLiteral("interrupted");
        if (QFileInfo::exists(r.reportPath())) report = std::make_unique<eval::Report>(eval::read_report(r.reportPath().toStdString()));
    } catch (const std::exception& e) {
        r.status = QStringLiteral("damaged");
        r.error = QString::fromUtf8(e.what());
    }
    QStringList suite_names;
    if (report) {
        r.model_path = QString::fromStdString(report->model.path);
        if (!report->execution.started.empty()) r.started = QString::fromStdString(report->execution.started);
        for (const auto& s : report->suites) {
            suite_names << QString::fromStdString(s.name);
            r.items += static_cast<int>(s.items.size());
        }
        if (r.status == QLatin1String("finished")) r.items_total = r.items;
    }
    // A model of the Hugging Face cache by its repository name (at a revision other than main), not a snapshot hash.
    if (report && !report->model.repository.empty())
        r.model = QString::fromStdString(report->model.repository + (report->model.revision == "main" ? "" : "@" + report->model.revision));
    else
        r.model = QFileInfo(r.model_path).fileName();
    r.suites = suite_names.join(QStringLiteral(", "));
    if (report) {
        r.seed = static_cast<qint64>(report->settings.seed);
        r.dtype = QString::fromStdString(report->model.compute_dtype);
        r.batch = report->settings.batch_size;
        r.limit = static_cast<int>(report->settings.limit);
        r.chat = QString::fromStdString(report->settings.chat_template);
        for (const auto& s : report->suites)
            if (s.lm_eval) r.nshot = std::max(r.nshot, s.lm_eval->num_fewshot);
    }
    try {  // the user's tags and note; a damaged file loses them, not the run
        if (QFileInfo::exists(dir + QStringLiteral("/annotations.json"))) {
            const json a = readJson(dir + QStringLiteral("/annotations.json"));
            if (a.contains("tags") && a["tags"].is_array())
                for (const auto& t : a["tags"])
                    if (t.is_string()) r.tags << QString::fromStdString(t.get<std::string>());
            if (a.contains("note") && a["note"].is_string()) r.note = QString::fromStdString(a["note"].get<std::string>());
        }
    } catch (const std::exception&) {
    }

    dropRun(db, dir);
    QSqlQuery ins(db);
    prepare(ins, QStringLiteral("INSERT INTO runs(dir, stamp, status, model, model_path, suites, started, error, items, items_total, seed, dtype, "
                               "chat, batch, lim, nshot, tags, note) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    for (const QVariant& v : {QVariant(dir), QVariant(stamp), QVariant(r.status), QVariant(r.model), QVariant(r.model_path), QVariant(r.suites),
                              QVariant(r.started), QVariant(r.error), QVariant(r.items), QVariant(r.items_total), QVariant(r.seed), QVariant(r.dtype),
                              QVariant(r.chat), QVariant(r.batch), QVariant(r.limit), QVariant(r.nshot), QVariant(r.tags.join(QLatin1Char('\n'))),
                              QVariant(r.note)})
        ins.addBindValue(v);
    execBound(ins);
    if (!report) return;
    const qint64 id = ins.lastInsertId().toLongLong();
    QVariantList arun, asuite, ametric, avalue, alow, ahigh;
    QVariantList irun, isuite, iitem, imetric, ivalue;
    for (const auto& s : report->suites) {
        const QString suite = QString::fromStdString(s.name);
        for (const auto& a : s.aggregates) {
            arun << id, asuite << suite, ametric << QString::fromStdString(a.metric), avalue << a.value, alow << a.low, ahigh << a.high;
        }
        for (const auto& it : s.items) {
            const QString item = QString::fromStdString(it.id);
            for (const auto& [m, v] : it.metrics) irun << id, isuite << suite, iitem << item, imetric << QString::fromStdString(m), ivalue << v;
        }
    }
    QSqlQuery qa(db);
    prepare(qa, QStringLiteral("INSERT INTO aggregates VALUES(?, ?, ?, ?, ?, ?)"));
    for (const auto* l : {&arun, &asuite, &ametric, &avalue, &alow, &ahigh}) qa.addBindValue(*l);
    if (!arun.isEmpty() && !qa.execBatch()) fail(QStringLiteral("run index: %1").arg(sqlError(qa.lastError())));
    QSqlQuery qi(db);
    prepare(qi, QStringLiteral("INSERT INTO items VALUES(?, ?, ?, ?, ?)"));
    for (const auto* l : {&irun, &isuite, &iitem, &imetric, &ivalue}) qi.addBindValue(*l);
    if (!irun.isEmpty() && !qi.execBatch()) fail(QStringLiteral("run index: %1").arg(sqlError(qi.lastError())));
}

std::vector<RunRecord> Workspace::runs(const RunFilter& f) const {
    return guarded<std::vector<RunRecord>>([&] { return queryRuns(f); });
}

std::vector<RunRecord> Workspace::queryRuns(const RunFilter& f) const {
    QSqlDatabase db = QSqlDatabase::database(connection_);
    QString sql = QStringLiteral("SELECT dir, status, model, model_path, suites, started, error, items, items_total, seed, dtype, chat, batch, lim, "
                                 "nshot, tags, note, id FROM runs r WHERE 1");
    QVariantList bind;
    if (!f.model.isEmpty()) sql += QStringLiteral(" AND r.model LIKE ?"), bind << QStringLiteral("%") + f.model + QStringLiteral("%");
    if (!f.status.isEmpty()) sql += QStringLiteral(" AND r.status = ?"), bind << f.status;
    if (!f.suite.isEmpty())
        sql += QStringLiteral(" AND EXISTS(SELECT 1 FROM items i WHERE i.run = r.id AND i.suite = ? LIMIT 1)"), bind << f.suite;
    if (f.from.isValid()) sql += QStringLiteral(" AND r.started >= ?"), bind << f.from.toUTC().toString(Qt::ISODate);
    if (f.to.isValid()) sql += QStringLiteral(" AND r.started <= ?"), bind << f.to.toUTC().toString(Qt::ISODate);
    if (!f.metric.isEmpty()) {
        // Not a correlated EXISTS: SQLite would search aggregates_metric once per run (16 s at 5,000 runs); the set of
        // matching runs is read once from that index instead.
        sql += QStringLiteral(" AND r.id IN (SELECT a.run FROM aggregates a WHERE a.metric = ?");
        bind << f.metric;
        if (!f.suite.isEmpty()) sql += QStringLiteral(" AND a.suite = ?"), bind << f.suite;
        if (f.low) sql += QStringLiteral(" AND a.value >= ?"), bind << *f.low;
        if (f.high) sql += QStringLiteral(" AND a.value <= ?"), bind << *f.high;
        sql += QStringLiteral(")");
    }
    if (!f.search.isEmpty()) {
        const QString like = QStringLiteral("%") + f.search + QStringLiteral("%");
        sql += QStringLiteral(" AND (r.model LIKE ? OR r.suites LIKE ? OR r.dir LIKE ? OR r.error LIKE ? OR r.tags LIKE ? OR r.note LIKE ? "
                              "OR EXISTS(SELECT 1 FROM items i WHERE i.run = r.id AND i.item LIKE ? LIMIT 1))");
        bind << like << like << like << like << like << like << like;
    }
    sql += QStringLiteral(" ORDER BY r.started DESC, r.dir DESC");
    QSqlQuery q(db);
    q.setForwardOnly(true);
    prepare(q, sql);
    for (const auto& v : bind) q.addBindValue(v);
    execBound(q);
    std::vector<RunRecord> out;
    std::map<qint64, std::size_t> row_of;
    while (q.next()) {
        RunRecord r;
        r.dir = q.value(0).toString(), r.status = q.value(1).toString(), r.model = q.value(2).toString(), r.model_path = q.value(3).toString();
        r.suites = q.value(4).toString(), r.started = q.value(5).toString(), r.error = q.value(6).toString();
        r.items = q.value(7).toInt(), r.items_total = q.value(8).toInt(), r.seed = q.value(9).toLongLong(), r.dtype = q.value(10).toString();
        r.chat = q.value(11).toString(), r.batch = q.value(12).toInt(), r.limit = q.value(13).toInt(), r.nshot = q.value(14).toInt();
        r.tags = q.value(15).toString().split(QLatin1Char('\n'), Qt::SkipEmptyParts), r.note = q.value(16).toString();
        row_of[q.value(17).toLongLong()] = out.size();
        out.push_back(std::move(r));
    }
    if (!f.metric_columns.isEmpty() && !out.empty()) {  // the asked-for aggregates of the runs listed, in one query
        QStringList marks;
        for (int i = 0; i < f.metric_columns.size(); ++i) marks << QStringLiteral("?");
        QSqlQuery a(db);
        a.setForwardOnly(true);
        prepare(a, QStringLiteral("SELECT run, suite || '/' || metric, value FROM aggregates WHERE suite || '/' || metric IN (%1)").arg(marks.join(QLatin1Char(','))));
        for (const auto& key : f.metric_columns) a.addBindValue(key);
        execBound(a);
        while (a.next())
            if (auto it = row_of.find(a.value(0).toLongLong()); it != row_of.end()) out[it->second].metrics[a.value(1).toString()] = a.value(2).toDouble();
    }
    return out;
}

void Workspace::setAnnotations(const QString& dir, const QStringList& tags, const QString& note) {
    json a = {{"tags", json::array()}, {"note", note.toStdString()}};
    for (const auto& t : tags)
        if (!t.trimmed().isEmpty()) a["tags"].push_back(t.trimmed().toStdString());
    writeJson(dir + QStringLiteral("/annotations.json"), a);
    indexRun(dir);
}

QString Workspace::baseline() const {
    return guarded<QString>([&] {
        QSqlQuery q = exec(QSqlDatabase::database(connection_), QStringLiteral("SELECT value FROM meta WHERE key = 'baseline'"));
        return q.next() ? q.value(0).toString() : QString();
    });
}

void Workspace::setBaseline(const QString& dir) {
    guarded<int>([&] {
        QSqlQuery q(QSqlDatabase::database(connection_));
        prepare(q, QStringLiteral("INSERT OR REPLACE INTO meta(key, value) VALUES('baseline', ?)"));
        q.addBindValue(dir);
        execBound(q);
        return 0;
    });
}


std::size_t Workspace::runCount() const {
    return guarded<std::size_t>([&] {
        QSqlQuery q = exec(QSqlDatabase::database(connection_), QStringLiteral("SELECT COUNT(*) FROM runs"));
        return q.next() ? static_cast<std::size_t>(q.value(0).toLongLong()) : std::size_t{0};
    });
}

std::optional<RunRecord> Workspace::run(const QString& dir) const {
    for (auto& r : runs())
        if (r.dir == dir) return r;
    return std::nullopt;
}

namespace {
QStringList distinct(const QString& connection, const QString& sql) {
    QSqlQuery q = exec(QSqlDatabase::database(connection), sql);
    QStringList out;
    while (q.next()) out << q.value(0).toString();
    return out;
}
}  // namespace

QStringList Workspace::aggregateKeys() const {
    return guarded<QStringList>([&] {
        return distinct(connection_, QStringLiteral("SELECT DISTINCT suite || '/' || metric FROM aggregates ORDER BY 1"));
    });
}

QStringList Workspace::models() const {
    return guarded<QStringList>([&] { return distinct(connection_, QStringLiteral("SELECT DISTINCT model FROM runs ORDER BY model")); });
}
QStringList Workspace::suites() const {
    return guarded<QStringList>(
        [&] { return distinct(connection_, QStringLiteral("SELECT DISTINCT suite FROM aggregates UNION SELECT DISTINCT suite FROM items ORDER BY 1")); });
}
QStringList Workspace::metrics() const {
    return guarded<QStringList>([&] { return distinct(connection_, QStringLiteral("SELECT DISTINCT metric FROM aggregates ORDER BY metric")); });
}

std::vector<std::pair<QString, double>> Workspace::itemMetrics(const QString& dir, const QString& suite, const QString& metric) const {
    return guarded<std::vector<std::pair<QString, double>>>([&] {
    QSqlQuery q(QSqlDatabase::database(connection_));
    prepare(q, QStringLiteral("SELECT i.item, i.value FROM items i JOIN runs r ON r.id = i.run WHERE r.dir = ? AND i.suite = ? AND i.metric = ?"));
    q.addBindValue(dir);
    q.addBindValue(suite);
    q.addBindValue(metric);
    execBound(q);
    std::vector<std::pair<QString, double>> out;
    while (q.next()) out.emplace_back(q.value(0).toString(), q.value(1).toDouble());
    return out;
    });
}

QString Workspace::createRun(const RunSetup& setup) {
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QString base = folder_ + QStringLiteral("/runs/") + now.toString(QStringLiteral("yyyyMMdd-HHmmss")) + QLatin1Char('-') +
                         QFileInfo(setup.model_path).fileName();
    QString dir = base;
    for (int n = 2; QFileInfo::exists(dir); ++n) dir = base + QLatin1Char('-') + QString::number(n);
    if (!QDir().mkpath(dir)) fail(dir + QStringLiteral(": cannot be created"));
    json suites = json::array();
    for (const auto& s : setup.suite_paths) suites.push_back(s.toStdString());
    writeJson(dir + QStringLiteral("/run.json"), json{{"schema", "lmwb.run"}, {"schema_version", 1}, {"status", "running"}, {"error", ""},
                                                      {"model_path", setup.model_path.toStdString()}, {"suites", suites},
                                                      {"limit", setup.limit}, {"seed", setup.seed}, {"batch_size", setup.batch_size},
                                                      {"items_total", setup.items_total}, {"chat", setup.chat}, {"system", setup.system.toStdString()},
                                                      {"created", now.toString(Qt::ISODate).toStdString()}, {"pid", static_cast<qint64>(::getpid())}, {"pid_started", processStart(::getpid())}});
    indexRun(dir);
    return dir;
}

RunSetup Workspace::setupOf(const QString& dir) const {
    json j = readJson(dir + QStringLiteral("/run.json"));
    RunSetup s;
    s.model_path = QString::fromStdString(j.value("model_path", ""));
    for (const auto& p : j.value("suites", json::array())) s.suite_paths << QString::fromStdString(p.get<std::string>());
    s.limit = j.value("limit", std::size_t{0});
    s.seed = j.value("seed", std::uint64_t{0});
    s.batch_size = j.value("batch_size", 8);
    s.chat = j.value("chat", false);
    s.system = QString::fromStdString(j.value("system", ""));
    return s;
}

void Workspace::finishRun(const QString& dir, const eval::Report& report) {
    eval::write_report((dir + QStringLiteral("/report.json")).toStdString(), report);
    setRunStatus(dir, QStringLiteral("finished"), {});
    QFile::remove(dir + QStringLiteral("/report.json.journal.jsonl"));
}

void Workspace::stopRun(const QString& dir, const eval::Report& partial, const QString& status, const QString& error) {
    eval::write_report((dir + QStringLiteral("/report.json")).toStdString(), partial);
    json j = readJson(dir + QStringLiteral("/run.json"));
    std::size_t items = 0;
    for (const auto& s : partial.suites) items += s.items.size();
    j["items_done"] = items;
    writeJson(dir + QStringLiteral("/run.json"), j);
    setRunStatus(dir, status, error);
}

void Workspace::setRunStatus(const QString& dir, const QString& status, const QString& error) {
    const QString path = dir + QStringLiteral("/run.json");
    json j = readJson(path);
    j["status"] = status.toStdString();
    j["error"] = error.toStdString();
    j["updated"] = QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString();
    if (status == QLatin1String("running")) j["pid"] = static_cast<qint64>(::getpid()), j["pid_started"] = processStart(::getpid());
    writeJson(path, j);
}

void Workspace::indexRun(const QString& dir) {
    guarded<int>([&] {
        QSqlDatabase db = QSqlDatabase::database(connection_);
        begin(db);
        index(dir);
        commit(db);
        return 0;
    });
}

bool Workspace::removeRun(const QString& dir) {
    if (!QDir::cleanPath(QDir(dir).absolutePath()).startsWith(folder_ + QStringLiteral("/runs/"))) return false;  // only our own folders
    // Links are removed, never followed: a run folder that is a link (or holds one) leaves what it points to alone.
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(dir.toStdString()), ec);
    if (ec) return false;
    guarded<int>([&] {  // only this run's rows: a sync here would read every unindexed run on the GUI thread
        QSqlDatabase db = QSqlDatabase::database(connection_);
        begin(db);
        dropRun(db, dir);
        commit(db);
        return 0;
    });
    return true;
}

}  // namespace lmwb::gui
