#include "journal.h"

#include <filesystem>
#include <vector>

#include "lmwb/json_file.h"
#include "lmwb/text.h"

namespace lmwb::eval {

namespace fs = std::filesystem;
using nlohmann::json;

void to_json(json& j, const ItemRecord& r);
void from_json(const json& j, ItemRecord& r);

void Journal::create(const std::string& path, const json& run) {
    output_path(path);  // a journal never replaces or writes through what is not ours
    file_.reset(std::fopen(path.c_str(), "wb"));
    if (!file_) throw ReportError(path + ": cannot create the journal");
    path_ = path;
    created_ = true;
    write_line(json{{"lmwb_journal", 1}, {"run", run}});
}

void Journal::reopen(const std::string& path) {
    output_path(path);
    if (const auto content = text::read_file(path); content && !content->empty() && content->back() != '\n') {
        const auto keep = content->rfind('\n');
        std::error_code ec;
        fs::resize_file(path, keep == std::string::npos ? 0 : keep + 1, ec);
        if (ec) throw ReportError(path + ": cannot cut the journal's torn last line: " + ec.message());
    }
    file_.reset(std::fopen(path.c_str(), "ab"));
    if (!file_) throw ReportError(path + ": cannot append to the journal");
    path_ = path;
}

void Journal::append(std::size_t suite, const ItemRecord& r) {
    if (file_) write_line(json{{"suite", suite}, {"item", r}}), ++appended_;
}

void Journal::write_line(const json& j) {
    std::string line = j.dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size() || std::fflush(file_.get()) != 0)
        throw ReportError(path_ + ": write failed (disk full?)");
}

std::map<std::pair<std::size_t, std::size_t>, ItemRecord> read_journal(const std::string& path, const json& run) {
    const auto read = text::read_file(path);
    if (!read) throw ReportError(path + ": no journal to resume from");
    const std::string& content = *read;
    const bool last_complete = content.empty() || content.back() == '\n';
    std::vector<std::string> lines;
    for (std::size_t pos = 0; pos < content.size();) {
        auto end = content.find('\n', pos);
        if (end == std::string::npos) end = content.size();
        lines.push_back(content.substr(pos, end - pos));
        pos = end + 1;
    }
    if (lines.empty()) throw ReportError(path + ": the journal is empty");
    // The rules every file's JSON follows (lmwb/json_file.h); a line that breaks them is damaged (the last one may be
    // cut short by a crash while it was written).
    auto parse = [](const std::string& line) {
        try {
            return json_file::parse_strict(line);
        } catch (const std::exception&) {
            return json(json::value_t::discarded);
        }
    };
    json header = parse(lines[0]);
    if (header.is_discarded() || !header.is_object() || !header.contains("lmwb_journal") || !header.contains("run"))
        throw ReportError(path + ":1: not an lmwb journal");
    if (header["run"] != run) {
        std::string what;
        for (auto& [k, v] : run.items())
            if (!header["run"].contains(k) || header["run"][k] != v) what += (what.empty() ? "" : ", ") + k;
        throw ReportError(path + ": the journal is from a different run (" + (what.empty() ? "run settings" : what) +
                          " differ); remove it or run without --resume into another report");
    }
    std::map<std::pair<std::size_t, std::size_t>, ItemRecord> done;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        bool last = i + 1 == lines.size();
        json j = parse(lines[i]);
        if (j.is_discarded()) {
            if (last && !last_complete) break;
            throw ReportError(path + ":" + std::to_string(i + 1) + ": damaged journal line");
        }
        try {
            auto r = j.at("item").get<ItemRecord>();
            done[{j.at("suite").get<std::size_t>(), r.index}] = r;
        } catch (const json::exception& e) {
            throw ReportError(path + ":" + std::to_string(i + 1) + ": " + e.what());
        }
    }
    return done;
}

}  // namespace lmwb::eval
