#pragma once
// Deterministic pseudo-random numbers for the workload generator.
//
// The standard library's distributions are implementation-defined (the same
// seed gives different numbers under libstdc++ and libc++), so the generator
// uses its own: xoshiro256** seeded by splitmix64, Lemire's unbiased bounded
// integers, and a table-driven Zipf-Mandelbrot sampler. The same seed gives
// the same sequence on every platform with IEEE-754 doubles; doubles are
// used only to pick indices, never for money, quantities or prices.
//
// Value types; one instance per thread.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace posd::workload {

class rng {
public:
    explicit rng(std::uint64_t seed);
    std::uint64_t next();
    // Uniform in [0, bound); bound > 0.
    std::uint64_t below(std::uint64_t bound);
    // Uniform in [lo, hi] (inclusive).
    std::int64_t between(std::int64_t lo, std::int64_t hi);
    // True with probability per_mille / 1000.
    bool chance(std::uint32_t per_mille) { return below(1000) < per_mille; }
    // Uniform in [0, 1).
    double unit();
    // A new independent stream derived from this one (for sub-generators).
    rng fork();

private:
    std::uint64_t s_[4];
};

// Samples ranks 0..n-1 with probability proportional to 1 / (rank + 1 + offset):
// Zipf's law with exponent 1, flattened at the head by `offset`
// (Zipf-Mandelbrot). Only IEEE division and addition, so the table is the
// same everywhere.
class zipf_sampler {
public:
    zipf_sampler() = default;
    zipf_sampler(std::size_t n, double offset);
    std::size_t sample(rng& r) const;
    std::size_t size() const { return cdf_.size(); }

private:
    std::vector<double> cdf_;
};

// Picks an index by integer weights (weights need not sum to anything).
std::size_t pick_weighted(rng& r, const std::uint32_t* weights, std::size_t n);

} // namespace posd::workload
