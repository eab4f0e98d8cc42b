// Products with weights held as they are stored, in bfloat16 or float16, computed in float32: what `--dtype auto`
// runs on the CPU for a 16-bit checkpoint (half the memory of a float32 copy, float32 results). Few rows go through
// the few-row kernels, which widen as they read (model/few_rows.h); this is the rest.
#pragma once

namespace at {
class Tensor;
}

namespace lmwb {

// Whether a weight is held in 16 bits (bfloat16 or float16).
bool held_in_16_bits(const at::Tensor& w);

// x [.., K] (float32) times w [N, K] transposed, plus b [N] (float32, may be undefined): float32 [.., N]. w is 16-bit,
// row-major or a transposed view of a row-major tensor. A block of w's rows at a time is widened into a reused float32
// buffer and multiplied there, so no float32 copy of w exists; the gradient with respect to x (and b) is computed the
// same way, so attribution runs on the held weights too.
at::Tensor widened_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);

}  // namespace lmwb
