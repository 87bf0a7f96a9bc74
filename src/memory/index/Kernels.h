// Kernels: the numeric inner loops of vector search. float32 inner product / squared L2 and an
// int8 dot product, each with an AVX2+FMA version chosen at run time (plus AVX-512F for the float
// dot product; scalar fallback, so the binary runs on any x86-64), int8 quantisation (one scale per vector), and a blocked batch kernel that
// scores many queries against many rows with one OpenBLAS sgemm.
// Thread-safety: all functions are pure and may be called from any thread concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace troupe::memory::kernels {

float dot_f32(const float* a, const float* b, std::size_t n) noexcept;
// The dot kernel dot_f32() dispatches to (AVX-512F, AVX2+FMA or scalar), for hot loops that call
// it through a pointer (the HNSW distance).
using DotF32Fn = float (*)(const float*, const float*, std::size_t) noexcept;
DotF32Fn best_dot_f32() noexcept;
// Every float dot kernel this CPU can run (for tests: each is checked against the reference).
std::vector<DotF32Fn> dot_f32_variants();
float l2sq_f32(const float* a, const float* b, std::size_t n) noexcept;
std::int32_t dot_i8(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept;

// Reference (scalar) versions, used by tests and as the fallback.
float dot_f32_scalar(const float* a, const float* b, std::size_t n) noexcept;
float l2sq_f32_scalar(const float* a, const float* b, std::size_t n) noexcept;
std::int32_t dot_i8_scalar(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept;

// Quantises n floats into codes in [-127, 127] with one scale: x ~= code * scale. Returns the
// scale (0 for an all-zero or non-finite-free zero vector).
float quantize_i8(const float* x, std::size_t n, std::int8_t* codes) noexcept;

// scores[i * n + j] = <queries row i, rows row j> for nq queries and n rows of `dims` floats
// (row-major). Uses sgemm when nq > 1 and the SIMD dot product otherwise.
void batch_ip(const float* queries, std::size_t nq, const float* rows, std::size_t n,
              std::size_t dims, float* scores) noexcept;

// "avx2+fma" or "scalar": the kernel set chosen for this CPU.
const char* simd_level() noexcept;

// OpenBLAS set-up for the server's start-up: if OPENBLAS_CORETYPE is unset, nothing can change
// the already-loaded library, so this only reports; it limits OpenBLAS to one thread per call
// (the engine's compute pool provides the parallelism). Returns "core=<name> threads=1".
std::string configure_openblas();

}  // namespace troupe::memory::kernels
