// Subcommands of the lmwb CLI. Each registers its options on the app and returns the action to run.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace lmwb::cli {

using Action = std::function<int()>;

Action add_tokenize_command(CLI::App& app);
Action add_detokenize_command(CLI::App& app);
Action add_info_command(CLI::App& app);
Action add_generate_command(CLI::App& app);
Action add_score_command(CLI::App& app);
Action add_eval_command(CLI::App& app);
Action add_merge_command(CLI::App& app);
Action add_compare_command(CLI::App& app);
Action add_metrics_command(CLI::App& app);
Action add_ratings_command(CLI::App& app);
Action add_explain_command(CLI::App& app);
Action add_uncertainty_command(CLI::App& app);

}  // namespace lmwb::cli
