#include "widened_linear.h"

#include <torch/torch.h>

#include <algorithm>

namespace lmwb {

namespace {

// Rows of w per block: about 32 MiB as float32, and at least 256 rows. Each block's product is a separate BLAS call
// that packs the inputs again, so blocks must be wide; widening a block costs a few percent of its product.
std::int64_t block_rows(std::int64_t inputs) {
    return std::max<std::int64_t>(256, (std::int64_t{32} << 20) / static_cast<std::int64_t>(sizeof(float)) / std::max<std::int64_t>(1, inputs));
}

// Calls body(n0, widened rows n0 .. n0 + rows of w) for every block of w's rows, in order.
template <class Body>
void for_each_block(const torch::Tensor& w, const torch::TensorOptions& options, Body body) {
    const std::int64_t N = w.size(0), K = w.size(1), step = block_rows(K);
    auto buffer = torch::empty({std::min(step, N), K}, options);
    for (std::int64_t n0 = 0; n0 < N; n0 += step) {
        const std::int64_t rows = std::min(step, N - n0);
        auto block = buffer.narrow(0, 0, rows);
        block.copy_(w.narrow(0, n0, rows));
        body(n0, block);
    }
}

class WidenedLinear : public torch::autograd::Function<WidenedLinear> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w) {
        const std::int64_t K = w.size(1), N = w.size(0);
        const auto flat = x.reshape({-1, K}).contiguous();
        auto y = torch::empty({flat.size(0), N}, x.options());
        for_each_block(w, x.options(), [&](std::int64_t n0, const torch::Tensor& block) {
            auto out = y.narrow(1, n0, block.size(0));
            at::mm_out(out, flat, block.t());
        });
        ctx->saved_data["w"] = w;
        auto sizes = x.sizes().vec();
        sizes.back() = N;
        return y.view(sizes);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
        const auto w = ctx->saved_data["w"].toTensor();
        const std::int64_t K = w.size(1), N = w.size(0);
        const auto& gy = grads[0];
        const auto flat = gy.reshape({-1, N});
        auto gx = torch::zeros({flat.size(0), K}, gy.options());
        for_each_block(w, gy.options(), [&](std::int64_t n0, const torch::Tensor& block) {
            gx.addmm_(flat.narrow(1, n0, block.size(0)), block);
        });
        auto sizes = gy.sizes().vec();
        sizes.back() = K;
        return {gx.view(sizes), torch::Tensor()};
    }
};

}  // namespace

bool held_in_16_bits(const torch::Tensor& w) {
    return w.scalar_type() == torch::kBFloat16 || w.scalar_type() == torch::kFloat16;
}

torch::Tensor widened_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    auto y = WidenedLinear::apply(x, w);
    if (!b.defined()) return y;
    if (at::GradMode::is_enabled() && (x.requires_grad() || b.requires_grad())) return y + b;
    return y.add_(b);
}

}  // namespace lmwb
