#include "ops/log.h"

#include "base/date.h"

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

using namespace posd::ops;

namespace {

// Sends the log to a string for the test, and back to stderr afterwards so
// that nothing writes to the dead stream.
struct captured_log {
    captured_log(log_level level, log_format format) { init_logging(level, format, out); }
    ~captured_log() { init_logging(log_level::info, log_format::json); }
    std::vector<std::string> lines() const {
        std::vector<std::string> v;
        std::istringstream in(out.str());
        for (std::string l; std::getline(in, l);) v.push_back(l);
        return v;
    }
    std::ostringstream out;
};

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

TEST_CASE("json lines carry ts and level and msg and the fields in order", "[log]") {
    captured_log log(log_level::info, log_format::json);
    auto before = now_ms();
    log_info("partition assigned", {{"partition", 3},
                                    {"topic", "activity"},
                                    {"key", std::string("ABCD|01|123|***78")},
                                    {"ratio", 0.25},
                                    {"restored", true},
                                    {"offset", std::numeric_limits<std::uint64_t>::max()},
                                    {"delta", -2}});
    auto after = now_ms();
    auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    std::smatch m;
    std::regex shape(R"re(^\{"ts":"([0-9T:.\-]+Z)","level":"info","msg":"partition assigned","partition":3,)re"
                     R"re("topic":"activity","key":"ABCD\|01\|123\|\*\*\*78","ratio":0.25,"restored":true,)re"
                     R"re("offset":18446744073709551615,"delta":-2\}$)re");
    REQUIRE(std::regex_match(lines[0], m, shape));
    auto ts = posd::timestamp::parse(m[1].str());
    REQUIRE(ts.has_value());
    CHECK(ts->ms >= before);
    CHECK(ts->ms <= after);
}

TEST_CASE("json lines escape the message and values and have no trailing comma", "[log]") {
    captured_log log(log_level::trace, log_format::json);
    log_warn("said \"hi\"\nthen left", {{"path", "C:\\tmp"}});
    log_error("plain");
    log_debug("not a number", {{"x", std::nan("")}});
    auto lines = log.lines();
    REQUIRE(lines.size() == 3);
    CHECK_THAT(lines[0], Catch::EndsWith(R"("level":"warn","msg":"said \"hi\"\nthen left","path":"C:\\tmp"})"));
    CHECK_THAT(lines[1], Catch::EndsWith(R"("level":"error","msg":"plain"})"));
    CHECK_THAT(lines[2], Catch::EndsWith(R"("level":"debug","msg":"not a number","x":"nan"})"));
}

TEST_CASE("the level threshold filters and can be changed", "[log]") {
    captured_log log(log_level::warn, log_format::json);
    log_info("dropped");
    log_debug("dropped");
    CHECK_FALSE(log_enabled(log_level::info));
    CHECK(log_enabled(log_level::error));
    log_warn("kept");
    set_log_level(log_level::debug);
    CHECK(log_enabled(log_level::debug));
    log_debug("kept too");
    log_trace("dropped");
    auto lines = log.lines();
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[0], Catch::Contains(R"("msg":"kept")"));
    CHECK_THAT(lines[1], Catch::Contains(R"("msg":"kept too")"));
}

TEST_CASE("text lines: time level message key=value", "[log]") {
    captured_log log(log_level::info, log_format::text);
    log_info("batch committed", {{"partition", 1}, {"records", 500u}, {"topic", "activity"}, {"note", "two words"}});
    log_error("multi\nline");
    auto lines = log.lines();
    REQUIRE(lines.size() == 2);
    CHECK(std::regex_match(lines[0],
                           std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info  batch committed )"
                                      R"(partition=1 records=500 topic=activity note="two words"$)")));
    CHECK_THAT(lines[1], Catch::EndsWith(" error multi line"));
}

TEST_CASE("plain spdlog calls go through the same logger", "[log]") {
    captured_log log(log_level::info, log_format::json);
    spdlog::warn("lag {} on partition {}", 42, 7);
    auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::EndsWith(R"("level":"warn","msg":"lag 42 on partition 7"})"));
}

TEST_CASE("concurrent loggers: whole lines each with its own fields", "[log]") {
    captured_log log(log_level::info, log_format::json);
    constexpr int threads = 4, per_thread = 250;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([t] {
            for (int i = 0; i < per_thread; ++i)
                log_info(t % 2 ? "odd thread" : "even thread", {{"thread", t}, {"i", i}});
        });
    for (auto& w : workers) w.join();
    auto lines = log.lines();
    REQUIRE(lines.size() == static_cast<std::size_t>(threads * per_thread));
    std::regex shape(R"re(^\{"ts":"[^"]+","level":"info","msg":"(odd|even) thread","thread":(\d),"i":(\d+)\}$)re");
    std::vector<int> counts(threads, 0);
    for (auto& l : lines) {
        std::smatch m;
        REQUIRE(std::regex_match(l, m, shape));
        int t = std::stoi(m[2].str());
        CHECK((t % 2 ? "odd" : "even") == m[1].str());
        ++counts.at(static_cast<std::size_t>(t));
    }
    for (int c : counts) CHECK(c == per_thread);
}
