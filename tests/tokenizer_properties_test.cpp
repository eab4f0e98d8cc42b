// Properties that hold for any input, checked on the fixture vocabularies with generated text.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <thread>

#include "lmwb/tokenizer.h"
#include "test_support.h"

using lmwb::Tokenizer;
using lmwb::test::fixture;

namespace {

std::string random_text(std::mt19937& rng, std::size_t pieces) {
    static const char* parts[] = {"hello", " world", "  ", "\n", "\t", "東京", "🚀", "👨‍👩‍👧", "e\u0301", "I'M",
                                  "don't", "12345678", " ", "\u00a0", "naïve", "Привет", "<|endoftext|>", "!?",
                                  "\r\n", "مرحبا", "한국어", "x", "\u3000", "__init__"};
    std::string s;
    for (std::size_t i = 0; i < pieces; ++i) s += parts[rng() % (sizeof parts / sizeof *parts)];
    return s;
}

}  // namespace

// Qwen2 is left out on purpose: its NFC normalizer changes decomposed input, as the reference does.
TEST_CASE("byte-level tokenizers are lossless: decode(encode(x)) == x", "[tokenizer]") {
    auto name = GENERATE(as<std::string>{}, "gpt2", "llama3", "gpt4o");
    Tokenizer tok = Tokenizer::from_file(fixture("tokenizers/" + name + "/tokenizer.json"));
    std::mt19937 rng(17);
    for (int i = 0; i < 200; ++i) {
        std::string text = random_text(rng, 1 + rng() % 20);
        lmwb::Encoding e = tok.encode(text, false);
        INFO(name << ": " << text);
        REQUIRE(tok.decode(e.ids, false) == text);
        // Offsets stay inside the text and each token's bytes come from where its offsets say.
        for (auto& o : e.offsets) REQUIRE((o.begin <= o.end && o.end <= text.size()));
    }
}

TEST_CASE("SentencePiece-style byte fallback is lossless for text without a leading space", "[tokenizer]") {
    Tokenizer tok = Tokenizer::from_file(fixture("tokenizers/llama2/tokenizer.json"));
    std::mt19937 rng(5);
    for (int i = 0; i < 200; ++i) {
        std::string text = "a" + random_text(rng, 1 + rng() % 20);
        INFO(text);
        REQUIRE(tok.decode(tok.encode(text, true).ids, true) == text);
    }
}

TEST_CASE("decoding id sequences encoding never produces matches the reference", "[tokenizer][conformance]") {
    auto name = GENERATE(as<std::string>{}, "bpe-byte-fallback", "bpe-ignore-merges", "bpe-no-ignore-merges");
    Tokenizer tok = Tokenizer::from_file(fixture("tokenizers/" + name + "/tokenizer.json"));
    std::ifstream in(fixture("tokenizers/" + name + "/decode_cases.jsonl"));
    std::string line;
    int cases = 0;
    while (std::getline(in, line)) {
        auto c = nlohmann::json::parse(line);
        auto ids = c["ids"].get<std::vector<std::int32_t>>();
        INFO(name << ": " << line);
        CHECK(tok.decode(ids, false) == c["decoded"].get<std::string>());
        CHECK(tok.decode(ids, true) == c["decoded_skip_special"].get<std::string>());
        ++cases;
    }
    CHECK(cases > 0);
}

TEST_CASE("invalid UTF-8 is read as U+FFFD per maximal invalid subsequence, never a crash", "[tokenizer]") {
    Tokenizer tok = Tokenizer::from_file(fixture("tokenizers/gpt2/tokenizer.json"));
    // \xE6\x9D is a truncated 3-byte sequence (one U+FFFD), \xFF and \xC0 are each invalid on their own.
    std::string bad = "ab\xE6\x9D cd\xFF\xC0 ef";
    std::string replaced = "ab\xEF\xBF\xBD cd\xEF\xBF\xBD\xEF\xBF\xBD ef";
    lmwb::Encoding e = tok.encode(bad, false), r = tok.encode(replaced, false);
    CHECK(e.ids == r.ids);
    CHECK(e.char_offsets == r.char_offsets);
    // Byte offsets refer to the bytes actually given.
    REQUIRE(!e.offsets.empty());
    CHECK(e.offsets.back().end == bad.size());
    CHECK(tok.decode(e.ids) == replaced);
    // Every lone byte value, and random byte strings.
    std::mt19937 rng(3);
    for (int i = 0; i < 500; ++i) {
        std::string junk;
        for (int k = 0; k < 1 + static_cast<int>(rng() % 16); ++k) junk.push_back(static_cast<char>(rng() % 256));
        lmwb::Encoding j = tok.encode(junk, true);
        for (auto& o : j.offsets) REQUIRE(o.end <= junk.size());
    }
}

TEST_CASE("a 100 kB word without spaces encodes and round-trips", "[tokenizer]") {
    Tokenizer tok = Tokenizer::from_file(fixture("tokenizers/llama3/tokenizer.json"));
    std::string word;
    for (int i = 0; word.size() < 100000; ++i) word += "abcdefghijklmnopqrstuvwxyz"[(i * 7 + i / 5) % 26];
    lmwb::Encoding e = tok.encode(word, false);
    CHECK(e.size() > 1000);
    CHECK(tok.decode(e.ids) == word);
}

TEST_CASE("encoding is the same from many threads at once", "[tokenizer]") {
    Tokenizer tok = Tokenizer::from_file(fixture("tokenizers/qwen2/tokenizer.json"));
    std::mt19937 rng(9);
    std::vector<std::string> texts;
    for (int i = 0; i < 300; ++i) texts.push_back(random_text(rng, 1 + rng() % 30));
    std::vector<std::vector<std::int32_t>> expected;
    for (auto& t : texts) expected.push_back(tok.encode(t).ids);
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 3; ++round)
                for (std::size_t i = 0; i < texts.size(); ++i)
                    if (tok.encode(texts[(i + static_cast<std::size_t>(t) * 37) % texts.size()]).ids !=
                        expected[(i + static_cast<std::size_t>(t) * 37) % texts.size()])
                        ++mismatches[static_cast<std::size_t>(t)];
        });
    for (auto& th : threads) th.join();
    CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("vocabulary lookups and special tokens", "[tokenizer]") {
    Tokenizer tok = Tokenizer::from_file(fixture("tokenizers/gpt2/tokenizer.json"));
    CHECK(tok.token_to_id("<|endoftext|>") == 50256);
    CHECK(tok.id_to_token(50256) == "<|endoftext|>");
    CHECK(tok.is_special(50256));
    CHECK_FALSE(tok.is_special(15496));
    CHECK(tok.vocab_size() == 50257);
    CHECK_FALSE(tok.id_to_token(-1).has_value());
    CHECK_FALSE(tok.token_to_id("definitely not a token").has_value());
    // The legacy vocab.json + merges.txt folder gives the same tokenizer.
    Tokenizer legacy = Tokenizer::from_file(fixture("tokenizers/gpt2-legacy"));
    std::string text = "Legacy files: 東京 🚀 don't   stop";
    CHECK(legacy.encode(text).ids == tok.encode(text).ids);
}
