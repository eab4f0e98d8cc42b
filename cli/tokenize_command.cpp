#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "lmwb/tokenizer.h"

namespace lmwb::cli {

namespace {

std::string read_stdin() {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
}

// Printable form of a token or text slice: control characters and newlines escaped.
std::string visible(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else out.push_back(static_cast<char>(c));
    }
    return out;
}

// Pads to a column width counted in code points, so tokens like "Ġworld" line up.
std::string pad(const std::string& s, std::size_t width) {
    std::size_t cps = 0;
    for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
    return cps >= width ? s : s + std::string(width - cps, ' ');
}

// The encoding as one compact JSON object (keys in nlohmann's sorted order), written straight to `out`: a DOM of a
// long text's tokens would hold hundreds of bytes per input byte.
void write_json(std::ostream& out, const Encoding& e) {
    auto pairs = [&](const char* key, const auto& spans) {
        out << '"' << key << "\":[";
        for (std::size_t i = 0; i < spans.size(); ++i) out << (i ? ",[" : "[") << spans[i].begin << ',' << spans[i].end << ']';
        out << ']';
    };
    auto numbers = [&](const char* key, const auto& values) {
        out << '"' << key << "\":[";
        for (std::size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << +values[i];  // + prints bytes as numbers
        out << ']';
    };
    out << '{';
    pairs("char_offsets", e.char_offsets);
    out << ',';
    numbers("ids", e.ids);
    out << ',';
    pairs("offsets", e.offsets);
    out << ',';
    numbers("special_tokens_mask", e.special_tokens_mask);
    out << ",\"tokens\":[";
    // Invalid UTF-8 in tokens (impossible for vocabulary strings we built) is replaced rather than thrown.
    for (std::size_t i = 0; i < e.tokens.size(); ++i)
        out << (i ? "," : "") << nlohmann::json(e.tokens[i]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out << "]}\n";
}

}  // namespace

Action add_tokenize_command(CLI::App& app) {
    struct Opts {
        std::string tokenizer, text;
        bool json = false, jsonl = false, special = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("tokenize", "Encode text into token ids with offsets");
    cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json, or a folder with tokenizer.json or vocab.json + merges.txt")
        ->required();
    cmd->add_flag("--json", o->json, "Print one JSON object: ids, tokens, byte offsets, character offsets");
    cmd->add_flag("--jsonl", o->jsonl, "Read one JSON string per input line from stdin, print one JSON object per line");
    cmd->add_flag("--special", o->special, "Add the special tokens of the post-processor (e.g. BOS)");
    cmd->add_option("text", o->text, "Text to encode; '-' reads stdin");
    return [o]() -> int {
        Tokenizer tok = Tokenizer::from_file(o->tokenizer);
        if (o->jsonl) {
            std::string line;
            std::size_t line_no = 0;
            while (std::getline(std::cin, line)) {
                ++line_no;
                if (line.empty())  // dropping it would shift every later output against its input
                    throw std::runtime_error("stdin:" + std::to_string(line_no) + ": a blank line; every line must be a JSON string (\"\" for empty text)");
                nlohmann::json v;
                try {
                    v = nlohmann::json::parse(line);
                } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers out of range
                    throw std::runtime_error("stdin:" + std::to_string(line_no) + ": malformed JSON: " + e.what());
                }
                if (!v.is_string())
                    throw std::runtime_error("stdin:" + std::to_string(line_no) + ": expected a JSON string");
                write_json(std::cout, tok.encode(v.get<std::string>(), o->special));
            }
            return 0;
        }
        std::string text = o->text == "-" ? read_stdin() : o->text;
        Encoding e = tok.encode(text, o->special);
        if (o->json) {
            write_json(std::cout, e);
            return 0;
        }
        std::printf("%zu tokens  (%s)\n", e.size(), tok.describe().c_str());
        std::printf("%6s  %8s  %-24s  %-11s  %s\n", "index", "id", "token", "bytes", "text");
        for (std::size_t i = 0; i < e.size(); ++i) {
            auto [b, en] = std::pair(e.offsets[i].begin, e.offsets[i].end);
            std::string slice = text.substr(b, en - b);
            std::string span = "[" + std::to_string(b) + "," + std::to_string(en) + ")";
            std::printf("%6zu  %8d  %s  %-11s  %s\n", i, e.ids[i], pad(visible(e.tokens[i]), 24).c_str(), span.c_str(),
                        e.special_tokens_mask[i] ? "(special)" : ("\"" + visible(slice) + "\"").c_str());
        }
        return 0;
    };
}

Action add_detokenize_command(CLI::App& app) {
    struct Opts {
        std::string tokenizer;
        std::vector<std::string> ids;
        bool skip_special = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("detokenize", "Decode token ids into text");
    cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json, or a folder with tokenizer.json or vocab.json + merges.txt")
        ->required();
    cmd->add_flag("--skip-special", o->skip_special, "Leave special tokens out of the text");
    cmd->add_option("ids", o->ids, "Token ids (spaces, commas or a JSON array); '-' reads them from stdin");
    return [o]() -> int {
        Tokenizer tok = Tokenizer::from_file(o->tokenizer);
        std::string all;
        for (auto& s : o->ids) all += (s == "-" ? read_stdin() : s) + " ";
        for (char& c : all)
            if (c == ',' || c == '[' || c == ']') c = ' ';
        std::istringstream in(all);
        std::vector<std::int32_t> ids;
        std::string word;
        while (in >> word) {
            std::size_t used = 0;
            long long v = -1;
            try {
                v = std::stoll(word, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used != word.size() || v < 0 || v > INT32_MAX)
                throw std::runtime_error("not a token id: '" + word + "'");
            // The decoder would drop an unknown id silently: the text would not be what the ids say.
            if (!tok.id_to_token(static_cast<std::int32_t>(v)))
                throw std::runtime_error("token id " + word + " is not in the vocabulary of " + o->tokenizer + " (" +
                                         std::to_string(tok.vocab_size()) + " tokens)");
            ids.push_back(static_cast<std::int32_t>(v));
        }
        std::cout << tok.decode(ids, o->skip_special) << "\n";
        return 0;
    };
}

}  // namespace lmwb::cli
