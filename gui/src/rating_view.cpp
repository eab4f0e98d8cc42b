#include "rating_view.h"

#include <QTimer>

#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>

#include <algorithm>

#include "session.h"

namespace lmwb::gui {

namespace {

constexpr const char* kPreference = "preference";

const datasets::RubricDimension* dimension_of(const eval::SuiteReport& s, const std::string& name) {
    for (const auto& d : s.rubric)
        if (d.name == name) return &d;
    return nullptr;
}

QString text_of(const eval::ItemRecord& r) { return QString::fromStdString(r.response.empty() && !r.choices.empty() ? r.choices[static_cast<std::size_t>(std::max(0, r.predicted))].text : r.response); }

}  // namespace

RatingView::RatingView(Session& session, QWidget* parent) : QWidget(parent), session_(session) {
    setFocusPolicy(Qt::StrongFocus);
    auto* layout = new QVBoxLayout(this);
    auto* top = new QFormLayout;
    rater_ = new QLineEdit(QSettings().value(QStringLiteral("rating/rater"), qEnvironmentVariable("USER")).toString());
    rater_->setPlaceholderText(tr("your name: ratings go to a file of your own"));
    mode_box_ = new QComboBox;
    mode_box_->addItems({tr("Rubric: rate the open report's items"), tr("Pairwise: prefer one of the first two compared runs")});
    top->addRow(tr("Rater"), rater_);
    top->addRow(tr("Task"), mode_box_);
    layout->addLayout(top);
    progress_ = new QLabel;
    task_ = new QLabel;
    task_->setWordWrap(true);
    QFont bold = task_->font();
    bold.setBold(true);
    task_->setFont(bold);
    prompt_ = new QLabel;
    prompt_->setWordWrap(true);
    prompt_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    reference_ = new QLabel;
    reference_->setWordWrap(true);
    response_ = new QPlainTextEdit;
    response_b_ = new QPlainTextEdit;
    for (auto* r : {response_, response_b_}) {
        r->setReadOnly(true);
        r->setFocusPolicy(Qt::NoFocus);
    }
    auto* responses = new QHBoxLayout;
    responses->addWidget(response_);
    responses->addWidget(response_b_);
    layout->addWidget(progress_);
    layout->addWidget(prompt_);
    layout->addLayout(responses, 1);
    layout->addWidget(reference_);
    layout->addWidget(task_);
    buttons_ = new QHBoxLayout;
    layout->addLayout(buttons_);
    auto* help = new QLabel(tr("Keys: 1-9 pick a value (A / B / T in pairwise), S or → skips, Backspace or Ctrl+Z undoes. "
                               "Every rating is saved at once to your own file next to the report."));
    help->setWordWrap(true);
    layout->addWidget(help);
    connect(rater_, &QLineEdit::editingFinished, this, [this] {
        QSettings().setValue(QStringLiteral("rating/rater"), rater_->text());
        rebuild();
    });
    connect(mode_box_, &QComboBox::currentIndexChanged, this, [this](int i) { setMode(i == 0 ? Mode::Rubric : Mode::Pairwise); });
    connect(&session_, &Session::reportChanged, this, &RatingView::rebuild);
    connect(&session_, &Session::comparedChanged, this, &RatingView::rebuild);
    rebuild();
}

void RatingView::setRater(const QString& name) {
    rater_->setText(name);
    rebuild();
}

void RatingView::setMode(Mode mode) {
    mode_ = mode;
    mode_box_->blockSignals(true);
    mode_box_->setCurrentIndex(mode == Mode::Rubric ? 0 : 1);
    mode_box_->blockSignals(false);
    rebuild();
}

const eval::Report* RatingView::rated() const {
    if (mode_ == Mode::Rubric) return session_.report().get();
    return session_.compared().size() >= 2 ? session_.compared()[0].report.get() : nullptr;
}

QString RatingView::ratingsPath() const {
    const QString base = mode_ == Mode::Rubric ? session_.report_path() : session_.compared().size() >= 2 ? session_.compared()[0].path : QString();
    const QString rater = rater_->text().trimmed();
    if (base.isEmpty() || rater.isEmpty() || !rated()) return {};
    return QString::fromStdString(eval::ratings_file_for(base.toStdString(), rater.toStdString()));
}

const eval::ItemRecord* RatingView::otherItem(const Task& t) const {
    if (session_.compared().size() < 2) return nullptr;
    const auto& base = rated()->suites[t.suite];
    for (const auto& s : session_.compared()[1].report->suites)
        if (s.name == base.name)
            for (const auto& it : s.items)
                if (it.id == base.items[t.item].id) return &it;
    return nullptr;
}

bool RatingView::bFirst(const Task& t) const {
    // The order shown, per item and rater: fixed for them (reopening shows the same), balanced over items.
    const std::string key = rated()->suites[t.suite].items[t.item].id + "/" + rater_->text().toStdString();
    return std::hash<std::string>{}(key) % 2 == 1;
}

bool RatingView::done(const Task& t) const {
    const auto& s = rated()->suites[t.suite];
    return rated_.count({s.name, s.items[t.item].id, t.dimension}) > 0;
}

void RatingView::rebuild() {
    tasks_.clear();
    skipped_.clear();
    history_.clear();
    file_ = {};
    rated_.clear();
    current_ = 0;
    const eval::Report* report = rated();
    const QString path = ratingsPath();
    if (report && !path.isEmpty()) {
        file_.rater = rater_->text().trimmed().toStdString();
        file_.report = QFileInfo(mode_ == Mode::Rubric ? session_.report_path() : session_.compared()[0].path).fileName().toStdString();
        if (QFileInfo::exists(path)) {
            try {
                file_ = eval::read_ratings(path.toStdString());
            } catch (const std::exception& e) {
                task_->setText(tr("Cannot continue: %1 (fix or move the file; nothing was overwritten)").arg(QString::fromUtf8(e.what())));
                progress_->clear();
                tasks_.clear();
                return;
            }
        }
        for (const auto& r : file_.ratings) rated_.insert({r.suite, r.item, r.dimension});
        for (std::size_t si = 0; si < report->suites.size(); ++si) {
            const auto& s = report->suites[si];
            for (std::size_t i = 0; i < s.items.size(); ++i) {
                if (mode_ == Mode::Pairwise) {
                    Task t{si, i, kPreference};
                    if (otherItem(t)) tasks_.push_back(t);
                    continue;
                }
                for (const auto& d : s.rubric) tasks_.push_back({si, i, d.name});
            }
        }
        while (current_ < tasks_.size() && done(tasks_[current_])) ++current_;
    }
    show();
}

QString RatingView::shownResponse(int side) const { return side == 0 ? response_->toPlainText() : response_b_->toPlainText(); }

void RatingView::show() {
    while (QLayoutItem* item = buttons_->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    response_b_->setVisible(mode_ == Mode::Pairwise);
    const eval::Report* report = rated();
    if (!report || ratingsPath().isEmpty()) {
        progress_->setText(mode_ == Mode::Rubric ? tr("Open a saved report (File ▸ Open report, or a run from History) and give your name to rate it.")
                                                 : tr("Compare two runs of the same suites (History ▸ Compare selected) and give your name."));
        task_->clear();
        prompt_->clear();
        reference_->clear();
        response_->clear();
        response_b_->clear();
        return;
    }
    std::size_t finished = 0;
    for (const auto& t : tasks_) finished += done(t);
    progress_->setText(tr("%1 of %2 ratings done%3 · %4").arg(finished).arg(tasks_.size())
                           .arg(skipped_.empty() ? QString() : tr(", %1 skipped").arg(skipped_.size()), QDir::toNativeSeparators(ratingsPath())));
    if (current_ >= tasks_.size()) {
        task_->setText(tasks_.empty() ? tr("Nothing to rate: the suites have no rubric.")
                                      : tr("All done%1. `lmwb ratings merge` summarises the raters' files.")
                                            .arg(skipped_.empty() ? QString() : tr(" (skipped ones come back when you reopen)")));
        prompt_->clear();
        reference_->clear();
        response_->clear();
        response_b_->clear();
        return;
    }
    const Task& t = tasks_[current_];
    const auto& s = report->suites[t.suite];
    const auto& item = s.items[t.item];
    prompt_->setText(tr("%1 · item %2 of %3 (%4)\n%5").arg(QString::fromStdString(s.name)).arg(t.item + 1).arg(s.items.size())
                         .arg(QString::fromStdString(item.id), QString::fromStdString(item.prompt)));
    reference_->setText(item.target.empty() ? QString() : tr("Reference: %1").arg(QString::fromStdString(item.target)));
    auto add_button = [this](const QString& label, const QString& value) {
        auto* b = new QPushButton(label);
        b->setFocusPolicy(Qt::NoFocus);
        connect(b, &QPushButton::clicked, this, [this, value] { rate(value); });
        buttons_->addWidget(b);
    };
    if (t.dimension == kPreference) {
        const eval::ItemRecord* other = otherItem(t);
        const bool swap = bFirst(t);
        response_->setPlainText(tr("A:\n") + (swap ? text_of(*other) : text_of(item)));
        response_b_->setPlainText(tr("B:\n") + (swap ? text_of(item) : text_of(*other)));
        task_->setText(tr("Which response is better?"));
        add_button(tr("A is better (A)"), QStringLiteral("A"));
        add_button(tr("Tie (T)"), QStringLiteral("tie"));
        add_button(tr("B is better (B)"), QStringLiteral("B"));
    } else {
        response_->setPlainText(text_of(item));
        const auto* d = dimension_of(s, t.dimension);
        task_->setText(tr("%1 (%2)").arg(QString::fromStdString(t.dimension), QString::fromStdString(d->scale)));
        for (std::size_t k = 0; k < d->values.size(); ++k) {
            const QString v = QString::fromStdString(d->values[k]), key = QString::number(k + 1);
            add_button(k >= 9 || v == key ? v : QStringLiteral("%1: %2").arg(key, v), v);  // the key, where it is not the value
        }
    }
    add_button(tr("Skip (S)"), {});
}

void RatingView::save() {
    try {
        eval::write_ratings(ratingsPath().toStdString(), file_);
    } catch (const std::exception& e) {
        emit session_.errorOccurred(tr("Ratings not saved"), QString::fromUtf8(e.what()));
    }
}

bool RatingView::rate(const QString& value) {
    if (value.isEmpty()) {
        skip();
        return true;
    }
    if (current_ >= tasks_.size() || !rated()) return false;
    const Task& t = tasks_[current_];
    const auto& s = rated()->suites[t.suite];
    eval::Rating r;
    r.suite = s.name;
    r.item = s.items[t.item].id;
    r.dimension = t.dimension;
    if (t.dimension == kPreference) {
        if (value != QStringLiteral("A") && value != QStringLiteral("B") && value != QStringLiteral("tie")) return false;
        // The rater judged sides; the file names runs: a = the baseline (compared first), b = the other.
        const bool swap = bFirst(t);
        r.value = value == QStringLiteral("tie") ? "tie" : ((value == QStringLiteral("A")) != swap ? "A" : "B");
        r.a = session_.compared()[0].name.toStdString();
        r.b = session_.compared()[1].name.toStdString();
        r.first = swap ? "B" : "A";
    } else {
        const auto* d = dimension_of(s, t.dimension);
        if (!d || std::find(d->values.begin(), d->values.end(), value.toStdString()) == d->values.end()) return false;
        r.value = value.toStdString();
    }
    r.line = file_.ratings.size() + 2;
    file_.ratings.push_back(r);
    rated_.insert({r.suite, r.item, r.dimension});
    history_.push_back({true, current_});
    save();
    while (current_ < tasks_.size() && (done(tasks_[current_]) || skipped_.count(current_))) ++current_;
    show();
    return true;
}

void RatingView::skip() {
    if (current_ >= tasks_.size()) return;
    skipped_.insert(current_);
    history_.push_back({false, current_});
    while (current_ < tasks_.size() && (done(tasks_[current_]) || skipped_.count(current_))) ++current_;
    show();
}

void RatingView::undo() {
    if (history_.empty()) return;
    auto [was_rating, task] = history_.back();
    history_.pop_back();
    if (was_rating) {
        const Task& t = tasks_[task];
        const auto& s = rated()->suites[t.suite];
        auto it = std::find_if(file_.ratings.rbegin(), file_.ratings.rend(), [&](const eval::Rating& r) {
            return r.suite == s.name && r.item == s.items[t.item].id && r.dimension == t.dimension;
        });
        if (it != file_.ratings.rend()) file_.ratings.erase(std::next(it).base());
        rated_.erase({s.name, s.items[t.item].id, t.dimension});
        save();
    } else {
        skipped_.erase(task);
    }
    current_ = task;
    show();
}

QString RatingView::raterName() const { return rater_->text(); }

void RatingView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    // Keys rate at once; the rater field keeps them until named. After the tab widget's own focus move, which would
    // otherwise hand the first key to the rater field.
    QTimer::singleShot(0, this, [this] {
        if (isVisible() && !rater_->text().trimmed().isEmpty()) setFocus();
    });
}

void RatingView::keyPressEvent(QKeyEvent* event) {
    const int key = event->key();
    if (event->matches(QKeySequence::Undo) || key == Qt::Key_Backspace) return undo();
    if (key == Qt::Key_S || key == Qt::Key_Right) return skip();
    if (current_ < tasks_.size() && rated()) {
        const Task& t = tasks_[current_];
        if (t.dimension == kPreference) {
            if (key == Qt::Key_A) return void(rate(QStringLiteral("A")));
            if (key == Qt::Key_B) return void(rate(QStringLiteral("B")));
            if (key == Qt::Key_T) return void(rate(QStringLiteral("tie")));
        } else if (key >= Qt::Key_1 && key <= Qt::Key_9) {
            const auto* d = dimension_of(rated()->suites[t.suite], t.dimension);
            const auto k = static_cast<std::size_t>(key - Qt::Key_1);
            if (d && k < d->values.size()) return void(rate(QString::fromStdString(d->values[k])));
        }
    }
    QWidget::keyPressEvent(event);
}

}  // namespace lmwb::gui
