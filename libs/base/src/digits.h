#pragma once
// Decimal digit writing shared by the formatters in decimal.cc and date.cc.
// Private to base. Formatting is on the hot path of every output event, so
// digits are never produced one division by 10 at a time: a table of the
// hundred two-digit strings gives two digits per division by 100 (a
// multiplication for constant divisors) and a two-byte copy, and
// eight_digits() gives eight digits at once in a register.

#include <cstdint>
#include <cstring>

namespace posd::detail {

struct digit_pair_table {
    char text[200];
};

constexpr digit_pair_table make_digit_pairs() {
    digit_pair_table t{};
    for (int i = 0; i < 100; ++i) {
        t.text[2 * i] = static_cast<char>('0' + i / 10);
        t.text[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
    return t;
}

inline constexpr digit_pair_table digit_pairs = make_digit_pairs();

// Writes v (< 100) as exactly two digits.
inline char* write_2_digits(char* p, std::uint32_t v) {
    std::memcpy(p, &digit_pairs.text[2 * v], 2);
    return p + 2;
}

// The eight decimal digits of v (< 10^8), leading zeros included, one per
// byte as values 0..9, the most significant in the lowest byte (the first
// in memory on a little-endian machine). Computed in one register, with
// no table and no loop: v is split into two lanes of four digits, each
// lane into two of two, each of those into two of one, a constant
// multiplication and shift dividing every lane at once (x * 10486 >> 20
// is x / 100 for x < 10^4, x * 103 >> 10 is x / 10 for x < 100, and no
// lane's product reaches the next lane's bits that the mask keeps).
inline std::uint64_t eight_digits(std::uint32_t v) {
    std::uint64_t x = std::uint64_t{v / 10'000} | std::uint64_t{v % 10'000} << 32;
    const std::uint64_t hundreds = (x * 10'486 >> 20) & 0x0000'007f'0000'007fULL;
    x = hundreds | (x - hundreds * 100) << 16;
    const std::uint64_t tens = (x * 103 >> 10) & 0x000f'000f'000f'000fULL;
    return tens | (x - tens * 10) << 8;
}

// Added to eight_digits() gives their text.
inline constexpr std::uint64_t ascii_zeros = 0x3030'3030'3030'3030ULL;

// Number of decimal digits of v; 1 for 0.
inline int count_digits(std::uint64_t v) {
    static constexpr std::uint64_t pow10[20] = {1ULL,
                                                10ULL,
                                                100ULL,
                                                1'000ULL,
                                                10'000ULL,
                                                100'000ULL,
                                                1'000'000ULL,
                                                10'000'000ULL,
                                                100'000'000ULL,
                                                1'000'000'000ULL,
                                                10'000'000'000ULL,
                                                100'000'000'000ULL,
                                                1'000'000'000'000ULL,
                                                10'000'000'000'000ULL,
                                                100'000'000'000'000ULL,
                                                1'000'000'000'000'000ULL,
                                                10'000'000'000'000'000ULL,
                                                100'000'000'000'000'000ULL,
                                                1'000'000'000'000'000'000ULL,
                                                10'000'000'000'000'000'000ULL};
    const std::uint64_t x = v | 1; // 0 has one digit, like 1
    // floor(bits * log10(2)) is the digit count or one less.
    const int guess = (64 - __builtin_clzll(x)) * 1233 >> 12;
    return guess + (x >= pow10[guess] ? 1 : 0);
}

// Writes v in decimal without leading zeros; returns the end.
inline char* write_unsigned(char* p, std::uint64_t v) {
    char* const end = p + count_digits(v);
    char* q = end;
    while (v >= 100) {
        q -= 2;
        write_2_digits(q, static_cast<std::uint32_t>(v % 100));
        v /= 100;
    }
    if (v >= 10) write_2_digits(q - 2, static_cast<std::uint32_t>(v));
    else q[-1] = static_cast<char>('0' + v);
    return end;
}

} // namespace posd::detail
