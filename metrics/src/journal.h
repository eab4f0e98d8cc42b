// The journal of a run: a header naming the run, then one finished item per line, flushed as each completes;
// `eval --resume` reads it back. Plain C++ (no model): the fuzz target fuzz/journal_fuzz.cpp reads journals too.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "lmwb/report_analysis.h"

namespace lmwb::eval {

class Journal {
public:
    void create(const std::string& path, const nlohmann::json& run);
    // Appends after the last complete line: a torn tail (a kill or a full disk mid-write) is cut off first, so that the
    // next record starts on a line of its own and any number of interruptions leave the journal readable.
    void reopen(const std::string& path);
    void append(std::size_t suite, const ItemRecord& r);
    bool fresh_and_empty() const { return file_ && created_ && appended_ == 0; }
    void close() { file_.reset(); }

private:
    void write_line(const nlohmann::json& j);
    struct Close {
        void operator()(FILE* f) const { std::fclose(f); }
    };
    std::unique_ptr<FILE, Close> file_;
    std::string path_;
    bool created_ = false;       // by this run (not a resumed one)
    std::size_t appended_ = 0;   // items recorded by this run
};

// Finished items of an interrupted run by (suite, item index). A torn last line (killed mid-write) is dropped;
// damage elsewhere, or a journal of another run, is a ReportError naming the file and line.
std::map<std::pair<std::size_t, std::size_t>, ItemRecord> read_journal(const std::string& path, const nlohmann::json& run);

}  // namespace lmwb::eval
