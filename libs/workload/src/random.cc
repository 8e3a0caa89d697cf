#include "workload/random.h"

#include "base/decimal.h"
#include "base/vassert.h"

#include <algorithm>

namespace posd::workload {
namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
} // namespace

rng::rng(std::uint64_t seed) {
    for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t rng::next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

std::uint64_t rng::below(std::uint64_t bound) {
    vassert(bound > 0, "rng::below(0)");
    // Lemire's nearly divisionless method, unbiased.
    uint128_t m = uint128_t{next()} * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
        const std::uint64_t threshold = (0 - bound) % bound;
        while (low < threshold) {
            m = uint128_t{next()} * bound;
            low = static_cast<std::uint64_t>(m);
        }
    }
    return static_cast<std::uint64_t>(m >> 64);
}

std::int64_t rng::between(std::int64_t lo, std::int64_t hi) {
    vassert(lo <= hi, "rng::between({}, {})", lo, hi);
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(below(span));
}

double rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

rng rng::fork() { return rng(next()); }

zipf_sampler::zipf_sampler(std::size_t n, double offset) {
    vassert(n > 0, "zipf_sampler over nothing");
    cdf_.resize(n);
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        sum += 1.0 / (static_cast<double>(i) + 1.0 + offset);
        cdf_[i] = sum;
    }
    for (auto& c : cdf_) c /= sum;
    cdf_.back() = 1.0;
}

std::size_t zipf_sampler::sample(rng& r) const {
    const double u = r.unit();
    auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    if (it == cdf_.end()) --it;
    return static_cast<std::size_t>(it - cdf_.begin());
}

std::size_t pick_weighted(rng& r, const std::uint32_t* weights, std::size_t n) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < n; ++i) total += weights[i];
    vassert(total > 0, "pick_weighted with all weights zero");
    std::uint64_t x = r.below(total);
    for (std::size_t i = 0; i < n; ++i) {
        if (x < weights[i]) return i;
        x -= weights[i];
    }
    vunreachable("pick_weighted fell through");
}

} // namespace posd::workload
