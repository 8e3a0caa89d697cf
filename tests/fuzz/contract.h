#pragma once
// What every fuzz target asserts about a decoder's answer (tests/fuzz/README.md).
// A broken contract prints what broke and aborts, so libFuzzer (or the seed
// replay of a GCC build) reports the input as a crash.

#include "model/reason.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace posd::fuzz {

[[noreturn]] inline void contract_broken(std::string_view what, std::string_view detail = {}) {
    std::fprintf(stderr, "fuzz contract broken: %.*s %.*s\n", static_cast<int>(what.size()), what.data(),
                 static_cast<int>(detail.size()), detail.data());
    std::abort();
}

inline void check(bool ok, std::string_view what, std::string_view detail = {}) {
    if (!ok) contract_broken(what, detail);
}

// A reject carries a known reason with its code, a message, and a `field`
// that is empty or a short printable ASCII name (it goes into a Kafka
// header and a log line).
inline void check_reject(const model::reject& r) {
    auto number = static_cast<unsigned>(r.reason);
    check(number >= 1 && number <= model::reason_max, "reject reason out of range");
    auto code = model::reason_code(r.reason);
    check(!code.empty(), "reject reason without a code");
    check(model::reason_from_code(code) == r.reason, "reason code does not map back", code);
    check(!r.message.empty(), "reject without a message", code);
    check(r.field.size() <= 64, "reject field name too long", r.field);
    for (char ch : r.field) check(ch > 0x20 && ch < 0x7f, "reject field name not printable ASCII", code);
}

} // namespace posd::fuzz
