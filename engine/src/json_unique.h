// JSON parsing that refuses an object with the same key twice (nlohmann keeps the last silently): in a config or a
// safetensors header a repeated key means two values and no way to know which one the author meant.
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lmwb {

struct DuplicateKey : std::runtime_error {
    explicit DuplicateKey(const std::string& name) : std::runtime_error("the key '" + name + "' appears twice in one object"), key(name) {}
    std::string key;
};

// Throws nlohmann's parse_error for malformed text and DuplicateKey for a repeated key.
inline nlohmann::json parse_unique_keys(std::string_view text) {
    std::vector<std::set<std::string>> open;
    return nlohmann::json::parse(text.begin(), text.end(), [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        switch (event) {
        case nlohmann::json::parse_event_t::object_start: open.emplace_back(); break;
        case nlohmann::json::parse_event_t::object_end: open.pop_back(); break;
        case nlohmann::json::parse_event_t::key:
            if (!open.back().insert(parsed.get<std::string>()).second) throw DuplicateKey(parsed.get<std::string>());
            break;
        default: break;
        }
        return true;
    });
}

}  // namespace lmwb
