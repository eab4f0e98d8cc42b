#include <iostream>
#include <map>

#include "commands.h"
#include "lmwb/control.h"
#include "lmwb/installation.h"
#include "lmwb/model.h"

int main(int argc, char** argv) {
    CLI::App app{"LM Workbench: evaluate and interpret language models (headless)", "lmwb"};
    app.set_version_flag("--version", std::string("lmwb ") + lmwb::version());
    app.require_subcommand(1);
    std::map<std::string, lmwb::cli::Action> actions{
        {"tokenize", lmwb::cli::add_tokenize_command(app)},
        {"detokenize", lmwb::cli::add_detokenize_command(app)},
        {"info", lmwb::cli::add_info_command(app)},
        {"generate", lmwb::cli::add_generate_command(app)},
        {"score", lmwb::cli::add_score_command(app)},
        {"eval", lmwb::cli::add_eval_command(app)},
        {"merge", lmwb::cli::add_merge_command(app)},
        {"compare", lmwb::cli::add_compare_command(app)},
        {"metrics", lmwb::cli::add_metrics_command(app)},
        {"methods", lmwb::cli::add_methods_command(app)},
        {"formats", lmwb::cli::add_formats_command(app)},
        {"ratings", lmwb::cli::add_ratings_command(app)},
        {"explain", lmwb::cli::add_explain_command(app)},
        {"uncertainty", lmwb::cli::add_uncertainty_command(app)},
        {"side-by-side", lmwb::cli::add_side_by_side_command(app)},
        {"sae-dashboard", lmwb::cli::add_sae_dashboard_command(app)},
        {"chat", lmwb::cli::add_chat_command(app)},
    };

    CLI11_PARSE(app, argc, argv);
    try {
        for (auto& [name, action] : actions)
            if (app.get_subcommand(name)->parsed()) return action();
    } catch (const lmwb::Cancelled&) {
        std::cerr << "\nlmwb: interrupted\n";
        return 130;
    } catch (const std::exception& e) {
        // One message, never a library's backtrace (LibTorch appends "Exception raised from ..." and its frames).
        std::string what = e.what();
        what = what.substr(0, what.find("\nException raised from"));
        if (lmwb::is_out_of_memory(e) && what.find("not enough memory to hold") == std::string::npos)
            what = "out of memory (" + what.substr(0, what.find('\n')) + "): a smaller --batch-size, a 16-bit --dtype, fewer items at once or a "
                   "machine with more memory";
        std::cerr << "lmwb: error: " << what << "\n";
        return 1;
    }
    return 0;
}
