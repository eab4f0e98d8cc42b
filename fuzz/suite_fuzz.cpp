// A suite: its JSON definition, then (after the separator) its JSONL items, then optionally a JSONL few-shot pool.
// The files are written as suite.json, items.jsonl and shots.jsonl; the seeds' definitions name those. Loading may
// fail with SuiteError naming the file, line and field; a suite that loads has metrics that resolve or fail the
// same way, and prompts every item can render.
#include <cstdint>

#include "fuzz_support.h"
#include "lmwb/report_analysis.h"
#include "lmwb/suite.h"

using lmwb::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = lmwb::fuzz::split_files({reinterpret_cast<const char*>(data), size}, 3);
    const std::string path = lmwb::fuzz::write_file("suite/suite.json", parts[0]);
    lmwb::fuzz::write_file("suite/items.jsonl", parts.size() > 1 ? parts[1] : "");
    lmwb::fuzz::write_file("suite/shots.jsonl", parts.size() > 2 ? parts[2] : "");
    try {
        const auto suite = lmwb::datasets::load_suite(path);
        check(!suite.name.empty(), "a suite without a name");
        for (const auto& item : suite.items) check(!item.id.empty(), "an item without an id");
        lmwb::eval::resolve_metrics(suite);
    } catch (const lmwb::datasets::SuiteError&) {
    }
    return 0;
}
