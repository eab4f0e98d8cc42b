// Human ratings as raters hand them in: the same bytes imported as a CSV (BOM, RFC 4180 quotes across lines) and as
// JSONL, and read back as an lmwb ratings file. Reading may fail with ReportError naming the file and line.
#include <cstdint>

#include "fuzz_support.h"
#include "lmwb/ratings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const char* name : {"ana.csv", "ana.jsonl"}) {
        try {
            auto r = lmwb::eval::import_ratings(lmwb::fuzz::write_file(name, text), "ana", "report.json");
            if (r.ratings.empty()) std::abort();  // an import with nothing in it is an error, never an empty file
        } catch (const lmwb::eval::ReportError&) {
        }
    }
    try {
        lmwb::eval::read_ratings(lmwb::fuzz::write_file("report.ratings.ana.jsonl", text));
    } catch (const lmwb::eval::ReportError&) {
    }
    return 0;
}
