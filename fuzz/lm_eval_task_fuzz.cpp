// An lm-evaluation-harness task YAML and the data file it reads (data.jsonl or data.csv): loading may fail with
// SuiteError only, and what it accepts has items of the kind it says.
#include <cstdint>

#include "fuzz_support.h"
#include "lmwb/lm_eval_task.h"

using lmwb::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = lmwb::fuzz::split_files({reinterpret_cast<const char*>(data), size}, 3);
    const std::string task = lmwb::fuzz::write_file("task.yaml", parts[0]);
    lmwb::fuzz::write_file("data.jsonl", parts.size() > 1 ? parts[1] : std::string_view());
    lmwb::fuzz::write_file("data.csv", parts.size() > 2 ? parts[2] : std::string_view());
    try {
        for (const auto& s : lmwb::datasets::load_lm_eval_tasks(task)) {
            check(!s.items.empty(), "a task without items");
            for (const auto& item : s.items)
                if (s.kind == lmwb::datasets::TaskKind::MultipleChoice)
                    check(item.answer >= 0 && static_cast<std::size_t>(item.answer) < item.choices.size(), "a gold answer outside the choices");
        }
    } catch (const lmwb::datasets::SuiteError&) {
    }
    return 0;
}
