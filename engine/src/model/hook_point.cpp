#include <array>
#include <stdexcept>

#include "lmwb/model.h"

namespace lmwb {

namespace {

struct KindName {
    HookKind kind;
    const char* suffix;
};
constexpr std::array<KindName, 6> kKinds = {{{HookKind::ResidPre, "hook_resid_pre"},
                                             {HookKind::AttnOut, "hook_attn_out"},
                                             {HookKind::MlpOut, "hook_mlp_out"},
                                             {HookKind::ResidPost, "hook_resid_post"},
                                             {HookKind::Z, "attn.hook_z"},
                                             {HookKind::Pattern, "attn.hook_pattern"}}};

}  // namespace

std::string HookPoint::name() const {
    for (const auto& k : kKinds)
        if (k.kind == kind) return "blocks." + std::to_string(layer) + "." + k.suffix;
    return "blocks." + std::to_string(layer) + ".?";
}

HookPoint HookPoint::parse(std::string_view name) {
    const std::string_view blocks = "blocks.";
    auto fail = [&]() -> HookPoint {
        throw std::invalid_argument("unknown hook point '" + std::string(name) +
                                    "' (blocks.{layer}.hook_resid_pre, hook_attn_out, hook_mlp_out, hook_resid_post, "
                                    "attn.hook_z or attn.hook_pattern)");
    };
    if (name.substr(0, blocks.size()) != blocks) return fail();
    std::size_t i = blocks.size(), digits = 0;
    int layer = 0;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9' && digits < 6) layer = layer * 10 + (name[i++] - '0'), ++digits;
    if (digits == 0 || i >= name.size() || name[i] != '.') return fail();
    const std::string_view suffix = name.substr(i + 1);
    for (const auto& k : kKinds)
        if (suffix == k.suffix) return HookPoint{layer, k.kind};
    return fail();
}

}  // namespace lmwb
