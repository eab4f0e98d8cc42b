#include "circuits_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <cmath>

#include "inspector_page.h"
#include "plots.h"

namespace lmwb::gui {


CircuitsView::CircuitsView(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    auto* row = new QHBoxLayout;
    corrupted_ = new QLineEdit;
    corrupted_->setPlaceholderText(tr("Corrupted prompt with the same token count (empty: noise of 3 embedding std on every prompt token)"));
    site_ = new QComboBox;
    for (Site s : {Site::Residual, Site::Attention, Site::Mlp, Site::Heads}) site_->addItem(QString::fromStdString(to_string(s)));
    patch_button_ = new QPushButton(tr("Patch"));
    patch_button_->setToolTip(tr("Activation patching (%1): restore each clean component into the corrupted run").arg(shortcutOf("patching")));
    dla_button_ = new QPushButton(tr("Direct logit"));
    dla_button_->setToolTip(tr("Direct logit attribution (%1): what each layer, head and MLP writes to the target's logit").arg(shortcutOf("dla")));
    row->addWidget(corrupted_, 1);
    row->addWidget(new QLabel(tr("Site:")));
    row->addWidget(site_);
    row->addWidget(patch_button_);
    row->addWidget(dla_button_);
    v->addLayout(row);
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    v->addWidget(summary_);
    auto* split = new QSplitter(Qt::Horizontal);
    grid_ = new Heatmap;
    auto* right = new QSplitter(Qt::Vertical);
    bars_ = new BarChart;
    heads_ = new Heatmap;
    // Direct logit attribution has its own caption: running it never replaces patching's.
    auto* dla = new QWidget;
    auto* dv = new QVBoxLayout(dla);
    dv->setContentsMargins(0, 0, 0, 0);
    dla_summary_ = new QLabel;
    dla_summary_->setWordWrap(true);
    dla_summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    dv->addWidget(dla_summary_);
    dv->addWidget(bars_, 1);
    right->addWidget(dla);
    right->addWidget(heads_);
    bars_->setMinimumHeight(80);  // with the caption above, the page still fits a 1280 x 720 window
    heads_->setMinimumHeight(80);
    split->addWidget(grid_);
    split->addWidget(right);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    v->addWidget(split, 1);
    connect(site_, &QComboBox::currentIndexChanged, this, &CircuitsView::showGrid);
    connect(corrupted_, &QLineEdit::textChanged, this, &CircuitsView::settingsChanged);
    connect(patch_button_, &QPushButton::clicked, this, &CircuitsView::patchRequested);
    connect(dla_button_, &QPushButton::clicked, this, &CircuitsView::directLogitRequested);
    clear();
}

QString CircuitsView::corrupted() const { return corrupted_->text(); }
void CircuitsView::setCorrupted(const QString& text) { corrupted_->setText(text); }
void CircuitsView::selectSite(Site site) { site_->setCurrentIndex(static_cast<int>(site)); }
void CircuitsView::setButtonsEnabled(bool on) {
    patch_button_->setEnabled(on);
    dla_button_->setEnabled(on);
}

void CircuitsView::clear() {
    patching_.reset();
    dla_.reset();
    summary_->setText(tr("Patching needs a prompt, a target and a corrupted prompt (or noise); with a contrast it reads the "
                         "logit difference target − foil."));
    grid_->setEmpty(tr("No patching yet.\nPress Patch (%1): each cell restores one clean component into the corrupted run.").arg(shortcutOf("patching")));
    bars_->setEmpty(tr("No direct logit attribution yet.\nPress Direct logit (%1).").arg(shortcutOf("dla")));
    dla_summary_->clear();
    heads_->setEmpty(tr("Each head's direct contribution appears here."));
}

void CircuitsView::setStale(const QString& patching, const QString& direct_logit) {
    grid_->setStale(patching);
    bars_->setStale(direct_logit);
    heads_->setStale(direct_logit);
}

void CircuitsView::setPatching(std::shared_ptr<const attr::PatchingResult> r) {
    patching_ = std::move(r);
    const auto& p = *patching_;
    const QString metric = p.metric == "logprob" ? tr("log p(“%1”)").arg(tokenText(p.target))
                                                 : tr("logit(“%1”) − logit(“%2”)").arg(tokenText(p.target_tokens[0].text), tokenText(p.contrast_tokens[0].text));
    const QString corruption = p.corrupted_prompt.empty() ? tr("noise of std %1 on %2 prompt tokens").arg(p.noise_std, 0, 'g', 3).arg(p.noise_positions.size())
                                                          : tr("“%1”").arg(tokenText(p.corrupted_prompt));
    QString text = tr("Recovered fraction of %1: clean %2, corrupted %3 (%4); %5 runs")
                       .arg(metric, QString::number(p.clean, 'f', 4), QString::number(p.corrupted, 'f', 4), corruption, QString::number(p.runs));
    const double gap = p.clean - p.corrupted;
    if (std::fabs(gap) < kSmallGap)
        text += tr("<br><span style=\"background-color:#ffecb3;color:#3c2800\">⚠ The clean and corrupted runs differ by only %1: each fraction divides by "
                   "it, so small changes look large. A corruption that changes the answer more gives steadier numbers.</span>")
                    .arg(gap, 0, 'g', 3);
    summary_->setText(text);
    if (!p.grids.empty()) {
        site_->blockSignals(true);
        if (!p.grid(static_cast<Site>(site_->currentIndex()))) site_->setCurrentIndex(static_cast<int>(p.grids.front().site));
        site_->blockSignals(false);
    }
    showGrid();
}

void CircuitsView::showGrid() {
    if (!patching_) return;
    const auto& p = *patching_;
    const attr::PatchingGrid* g = p.grid(static_cast<Site>(site_->currentIndex()));
    if (!g) {
        grid_->setEmpty(tr("This site was not patched."));
        return;
    }
    QStringList rows, cols;
    for (int l = 0; l < g->rows; ++l) rows << tr("layer %1").arg(l);
    for (int c = 0; c < g->columns; ++c)
        cols << (g->site == Site::Heads ? tr("head %1").arg(c) : tokenText(p.tokens[static_cast<std::size_t>(p.positions[static_cast<std::size_t>(c)])].text));
    std::vector<double> values(g->recovered.size());
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::isfinite(g->recovered[i]) ? g->recovered[i] : 0.0;
    grid_->setTitle(tr("Activation patching · %1 · recovered fraction").arg(QString::fromStdString(to_string(g->site))));
    const QString stale = grid_->staleText();  // another site of the same result is as stale
    grid_->setColourLimit(1.0);  // 1 = the clean output restored; beyond ±1 colours saturate (the tooltip has the value)
    grid_->setMatrix(g->rows, g->columns, values, rows, cols, true, tr("layer"), g->site == Site::Heads ? tr("head") : tr("position"));
    if (!stale.isEmpty() && sender() == site_) grid_->setStale(stale);
    int outside = 0;
    double extreme = 0;
    for (double v : values)
        if (std::fabs(v) > 1 + 1e-9) ++outside, extreme = std::max(extreme, std::fabs(v));
    grid_->setToolTip(outside ? tr("%1 cells lie beyond ±1 (up to %2): their colour saturates").arg(outside).arg(extreme, 0, 'g', 3) : QString());
}

void CircuitsView::setDirectLogit(std::shared_ptr<const attr::DirectLogitAttribution> r) {
    dla_ = std::move(r);
    const auto& d = *dla_;
    QStringList labels{tr("embed")};
    std::vector<double> values{d.embed};
    for (int l = 0; l < d.layers; ++l) {
        labels << tr("L%1 attn").arg(l) << tr("L%1 mlp").arg(l);
        values.push_back(d.attention[static_cast<std::size_t>(l)]);
        values.push_back(d.mlp[static_cast<std::size_t>(l)]);
    }
    labels << tr("norm bias");
    values.push_back(d.norm_bias);
    const QString what = d.contrast.empty() ? tr("logit(“%1”)").arg(tokenText(d.target_token.text))
                                            : tr("logit(“%1”) − logit(“%2”)").arg(tokenText(d.target_token.text), tokenText(d.contrast_token.text));
    bars_->setTitle(tr("Direct logit attribution · %1").arg(what));
    bars_->setBars(labels, values, d.contrast.empty() ? tr("logit contribution") : tr("logit difference contribution"));
    if (!d.head_values.empty()) {
        QStringList rows, cols;
        for (int l = 0; l < d.layers; ++l) rows << tr("layer %1").arg(l);
        for (int h = 0; h < d.heads; ++h) cols << tr("head %1").arg(h);
        heads_->setTitle(tr("Direct logit attribution per head · %1").arg(what));
        heads_->setMatrix(d.layers, d.heads, d.head_values, rows, cols, true, tr("layer"), tr("head"));
    } else {
        heads_->setEmpty(tr("No per-head values: %1").arg(QString::fromStdString(d.heads_note)));
    }
    QString note = tr("%1 at token %2: parts sum to %3, the model's value is %4 (gap %5)").arg(what).arg(d.position)
                       .arg(d.sum, 0, 'f', 4).arg(d.total, 0, 'f', 4).arg(d.gap, 0, 'g', 3);
    if (d.softcap > 0) note += tr("; the final soft-cap (%1) bends the sum").arg(d.softcap);
    dla_summary_->setText(note);
}

GenerationView::GenerationView(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    auto* row = new QHBoxLayout;
    button_ = new QPushButton(tr("Attribute generation"));
    button_->setToolTip(tr("%1: IG of every generated token (the target, or the greedy output) over the prompt and the tokens before it").arg(shortcutOf("generation")));
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    row->addWidget(button_);
    row->addWidget(summary_, 1);
    v->addLayout(row);
    matrix_ = new Heatmap;
    tokens_ = new QTextBrowser;
    tokens_->setMaximumHeight(90);
    v->addWidget(matrix_, 1);
    v->addWidget(tokens_);
    connect(button_, &QPushButton::clicked, this, &GenerationView::attributeRequested);
    connect(matrix_, &Heatmap::cellHovered, this, [this](int output, int) { shadeRow(output); });
    clear();
}

void GenerationView::setButtonEnabled(bool on) { button_->setEnabled(on); }
void GenerationView::setStale(const QString& why) { matrix_->setStale(why); }

void GenerationView::clear() {
    result_.reset();
    shaded_ = -1;
    matrix_->setEmpty(tr("No attribution of generated text yet.\nPress Attribute generation (%1): each generated token's row "
                         "attributes it to the prompt and to the tokens generated before it.").arg(shortcutOf("generation")));
    tokens_->setHtml(tr("<i>Hover a row of the matrix to shade the tokens by what that generated token owes them.</i>"));
    summary_->clear();
}

void GenerationView::setResult(std::shared_ptr<const attr::GenerationAttribution> r) {
    result_ = std::move(r);
    const auto& g = *result_;
    QStringList rows, cols;
    for (const auto& t : g.prompt_tokens) cols << tokenText(t.text);
    for (const auto& t : g.generated_tokens) {
        rows << tokenText(t.text);
        cols << QStringLiteral("+") + tokenText(t.text);
    }
    const int R = static_cast<int>(g.generated_tokens.size()), C = static_cast<int>(g.columns());
    matrix_->setTitle(tr("Generated text · %1 · [generated × prompt + generated]").arg(QString::fromStdString(g.method)));
    matrix_->setMatrix(R, C, g.matrix, rows, cols, true, tr("generated token"), tr("input token (+: generated)"));
    double worst = 0;
    for (double d : g.deltas) worst = std::max(worst, std::fabs(d));
    // One arg() call: a chained one would substitute a "%3" inside the generated text.
    summary_->setText(tr("“%1” · %2 · %3 evaluations%4")
                          .arg(tokenText(g.continuation), QString::fromStdString(g.details), QString::number(g.evaluations),
                               g.deltas.empty() ? QString() : tr(" · largest delta %1").arg(worst, 0, 'g', 3)));
    shadeRow(R - 1);
}

void GenerationView::shadeRow(int row) {
    if (!result_ || row < 0 || row >= static_cast<int>(result_->generated_tokens.size()) || row == shaded_) return;
    shaded_ = row;
    const auto& g = *result_;
    const std::size_t C = g.columns(), P = g.prompt_tokens.size();
    double scale = 0;
    for (std::size_t i = 0; i < C; ++i) scale = std::max(scale, std::fabs(g.matrix[static_cast<std::size_t>(row) * C + i]));
    QString html;
    for (std::size_t i = 0; i < C; ++i) {
        const auto& t = i < P ? g.prompt_tokens[i] : g.generated_tokens[i - P];
        const double v = g.matrix[static_cast<std::size_t>(row) * C + i];
        if (i == P) html += QStringLiteral(" <b>→</b> ");
        if (i == P + static_cast<std::size_t>(row)) {  // the token this row explains; nothing after it counts
            html += QStringLiteral("<span style=\"text-decoration:underline;font-weight:bold\">%1</span>").arg(tokenText(t.text).toHtmlEscaped());
            continue;
        }
        if (i > P + static_cast<std::size_t>(row)) {
            html += QStringLiteral("<span style=\"color:#888888\">%1</span>").arg(tokenText(t.text).toHtmlEscaped());
            continue;
        }
        html += shadedToken(tokenText(t.text), scale > 0 ? v / scale : 0, tr("%1: %2").arg(tokenText(t.text), QString::number(v, 'g', 4)));
    }
    tokens_->setHtml(tr("<p>Row %1 (“%2”, log p %3):</p><p>%4</p>")
                         .arg(QString::number(row), tokenText(g.generated_tokens[static_cast<std::size_t>(row)].text).toHtmlEscaped(),
                              QString::number(g.token_logprobs[static_cast<std::size_t>(row)], 'f', 3), html));
}

}  // namespace lmwb::gui
