// log_library: the libraries' own log lines, rate-limited per source
// (ops/log.h).

#include "ops/log.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace posd::ops {

namespace {

struct bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled{};
    std::uint64_t suppressed = 0;
};

struct limiter {
    std::mutex mutex;
    library_log_limit limit;
    std::map<std::string, bucket, std::less<>> buckets;
};

limiter& the_limiter() {
    static limiter l; // never destroyed before the libraries' threads stop logging
    return l;
}

} // namespace

void log_library(std::string_view source, log_level level, std::string_view text,
                 std::initializer_list<log_field> fields) {
    if (!log_enabled(level)) return;
    std::uint64_t suppressed = 0;
    {
        limiter& l = the_limiter();
        std::lock_guard lock(l.mutex);
        const auto now = std::chrono::steady_clock::now();
        auto it = l.buckets.find(source);
        if (it == l.buckets.end()) it = l.buckets.emplace(std::string(source), bucket{l.limit.burst, now, 0}).first;
        bucket& b = it->second;
        b.tokens = std::min(l.limit.burst,
                            b.tokens + std::chrono::duration<double>(now - b.refilled).count() * l.limit.per_second);
        b.refilled = now;
        if (b.tokens < 1) {
            ++b.suppressed;
            return;
        }
        b.tokens -= 1;
        suppressed = b.suppressed;
        b.suppressed = 0;
    }
    std::vector<log_field> all;
    all.reserve(fields.size() + 2);
    all.emplace_back("source", source);
    all.insert(all.end(), fields.begin(), fields.end());
    if (suppressed > 0) all.emplace_back("suppressed", suppressed);
    // A library line may end with a newline of its own.
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    log_fields(level, text, all);
}

void set_library_log_limit(library_log_limit limit) {
    limiter& l = the_limiter();
    std::lock_guard lock(l.mutex);
    l.limit = limit;
    for (auto& [source, b] : l.buckets) b.tokens = limit.burst; // the counts of dropped lines stay
}

library_log_limit get_library_log_limit() {
    limiter& l = the_limiter();
    std::lock_guard lock(l.mutex);
    return l.limit;
}

} // namespace posd::ops
