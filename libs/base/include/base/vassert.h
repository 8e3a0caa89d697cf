#pragma once
// Assertions for broken invariants. They stay on in every build type: a
// position keeper that carries on with corrupt state is worse than one that
// stops. Business outcomes (rejects) never go through here.

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

namespace posd::detail {
[[noreturn]] inline void assert_failed(const char* file, int line, const char* cond,
                                       const std::string& msg) {
    std::fprintf(stderr, "posd: assertion failed at %s:%d: %s: %s\n", file, line, cond,
                 msg.c_str());
    std::fflush(stderr);
    std::abort();
}
} // namespace posd::detail

// vassert(cond, "format {}", args...): stops loudly with file, line and values.
#define vassert(cond, ...)                                                              \
    do {                                                                                \
        if (!(cond)) [[unlikely]] {                                                     \
            ::posd::detail::assert_failed(__FILE__, __LINE__, #cond,                     \
                                          ::fmt::format(__VA_ARGS__));                  \
        }                                                                               \
    } while (0)

#define vunreachable(...)                                                               \
    ::posd::detail::assert_failed(__FILE__, __LINE__, "unreachable", ::fmt::format(__VA_ARGS__))
