// A run's journal as `eval --resume` reads it: a header naming the run, then one finished item per line. The run
// it is compared with is the header's own (so the fuzzer reaches the item lines) or, for inputs whose header has
// none, a fixed one. Reading may fail with ReportError naming the file and line.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "journal.h"
#include "lmwb/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::string path = lmwb::fuzz::write_file("report.json.journal.jsonl", text);
    nlohmann::json run = {{"model", "tiny-b"}, {"suites", {"world-facts-mc"}}};
    const auto header = nlohmann::json::parse(text.substr(0, text.find('\n')), nullptr, false);
    if (header.is_object() && header.contains("run")) run = header["run"];
    try {
        lmwb::eval::read_journal(path, run);
    } catch (const lmwb::eval::ReportError&) {
    }
    // Resuming appends after the last complete line; the journal must then read as before plus nothing torn.
    try {
        lmwb::eval::Journal journal;
        journal.reopen(path);
        journal.close();
        lmwb::eval::read_journal(path, run);
    } catch (const lmwb::eval::ReportError&) {
    }
    return 0;
}
