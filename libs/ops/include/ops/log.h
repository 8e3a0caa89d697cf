#pragma once
// posd's logging: spdlog (Debian's, over the system fmt), one synchronous
// logger writing to stderr, set up once by init_logging() at start-up.
//
// Line shapes (log.format):
//   json  {"ts":"2024-03-04T14:30:00.123Z","level":"info","msg":"partition assigned","partition":3}
//   text  2024-03-04T14:30:00.123Z info  partition assigned partition=3
// `ts` is UTC with milliseconds. Fields follow in the order given; the names
// ts, level and msg are taken. Plain spdlog calls (spdlog::warn("x {}", y))
// go through the same logger and come out as lines without fields.
//
// Account numbers are personal data: callers mask them before they reach a
// message or a field, with posd::model::mask_account (libs/model,
// "ABCD|01|123|***78"), which takes an account or a position key. Neither
// this module nor spdlog masks anything.
//
// Threading: init_logging() replaces the global logger and must run before
// other threads log (spdlog's default logger is not guarded against being
// replaced while in use). log() and spdlog's calls are thread-safe (an _mt
// sink, one mutex per line). Fields reach the formatter through a
// thread-local pointer, which is why the logger must stay synchronous (no
// spdlog async logger, no backtrace).

#include "ops/config.h"

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace posd::ops {

// One key/value pair of a structured log line. Holds views: build fields in
// the log() call itself (temporaries live until the call returns).
struct log_field {
    using value_type = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;

    log_field(std::string_view k, std::string_view v) : key(k), value(v) {}
    log_field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
    log_field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
    log_field(std::string_view k, bool v) : key(k), value(v) {}
    template <std::signed_integral T>
    log_field(std::string_view k, T v) : key(k), value(static_cast<std::int64_t>(v)) {}
    template <std::unsigned_integral T>
        requires(!std::same_as<T, bool>)
    log_field(std::string_view k, T v) : key(k), value(static_cast<std::uint64_t>(v)) {}
    template <std::floating_point T>
    log_field(std::string_view k, T v) : key(k), value(static_cast<double>(v)) {}

    std::string_view key;
    value_type value;
};

// Installs the "posd" logger as spdlog's default, writing to stderr.
void init_logging(log_level level, log_format format);
// The same, writing to `out` (tests); `out` must outlive the logger.
void init_logging(log_level level, log_format format, std::ostream& out);
// Changes the threshold of the installed logger.
void set_log_level(log_level level);
bool log_enabled(log_level level);

// Logs `message` with `fields` at `level` (nothing is built below the threshold).
void log(log_level level, std::string_view message, std::initializer_list<log_field> fields = {});

// The same with the fields in a span (a list built at run time).
void log_fields(log_level level, std::string_view message, std::span<const log_field> fields);

inline void log_trace(std::string_view m, std::initializer_list<log_field> f = {}) { log(log_level::trace, m, f); }
inline void log_debug(std::string_view m, std::initializer_list<log_field> f = {}) { log(log_level::debug, m, f); }
inline void log_info(std::string_view m, std::initializer_list<log_field> f = {}) { log(log_level::info, m, f); }
inline void log_warn(std::string_view m, std::initializer_list<log_field> f = {}) { log(log_level::warn, m, f); }
inline void log_error(std::string_view m, std::initializer_list<log_field> f = {}) { log(log_level::error, m, f); }

// ---- the libraries' own log lines ----
//
// librdkafka, protobuf and RocksDB log through their own hooks; posd routes
// each to log_library() (libs/stream's make_conf for every Kafka client,
// libs/store's RocksDB logger, services/posd for protobuf), so their lines
// are JSON lines like posd's own: `msg` is the library's text, then
// `source` (librdkafka, protobuf, rocksdb), the caller's fields, and
// `suppressed` when lines of that source were dropped since its last one.
//
// Rate limit, per source: a bucket of `burst` lines refilled at
// `per_second` lines a second; a line that finds the bucket empty is
// counted, not written (a broker that is down makes every client log every
// reconnect). Lines below the log level take no token. Thread-safe (the
// libraries call from their own threads).
struct library_log_limit {
    double burst = 20;
    double per_second = 1;
};
void log_library(std::string_view source, log_level level, std::string_view text,
                 std::initializer_list<log_field> fields = {});
// Replaces the limit for every source and fills their buckets (tests); the
// counts of dropped lines stay.
void set_library_log_limit(library_log_limit limit);
library_log_limit get_library_log_limit();

} // namespace posd::ops
