#include "ops/log.h"

#include <catch2/catch.hpp>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

using namespace posd::ops;

namespace {

struct captured {
    captured(log_level level, library_log_limit limit) : previous(get_library_log_limit()) {
        init_logging(level, log_format::json, out);
        set_library_log_limit(limit);
    }
    ~captured() {
        set_library_log_limit(previous);
        init_logging(log_level::info, log_format::json);
    }
    std::vector<std::string> lines() const {
        std::vector<std::string> v;
        std::istringstream in(out.str());
        for (std::string l; std::getline(in, l);) v.push_back(l);
        return v;
    }
    library_log_limit previous;
    std::ostringstream out;
};

} // namespace

TEST_CASE("a library line is a JSON line with its source and fields", "[log][library]") {
    captured log(log_level::info, {20, 0});
    log_library("librdkafka", log_level::warn, "Connect to ipv4#127.0.0.1:9 failed: Connection refused\n",
                {{"facility", "FAIL"}, {"client", "rdkafka#producer-1"}});
    const auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    REQUIRE(std::regex_match(lines[0], std::regex(R"re(^\{"ts":"[^"]+","level":"warn",)re"
                                                  R"re("msg":"Connect to ipv4#127.0.0.1:9 failed: Connection refused",)re"
                                                  R"re("source":"librdkafka","facility":"FAIL","client":"rdkafka#producer-1"\}$)re")));
}

TEST_CASE("library lines below the level take no token", "[log][library]") {
    captured log(log_level::warn, {2, 0});
    for (int i = 0; i < 10; ++i) log_library("rocksdb", log_level::info, "flush started");
    log_library("rocksdb", log_level::warn, "one");
    log_library("rocksdb", log_level::error, "two");
    const auto lines = log.lines();
    REQUIRE(lines.size() == 2);
    REQUIRE(lines[0].find(R"("msg":"one")") != std::string::npos);
    REQUIRE(lines[1].find(R"("msg":"two")") != std::string::npos);
    REQUIRE(lines[1].find("suppressed") == std::string::npos);
}

TEST_CASE("library lines are rate-limited per source and the dropped ones are counted", "[log][library]") {
    captured log(log_level::info, {5, 0});
    for (int i = 0; i < 50; ++i) log_library("librdkafka", log_level::warn, "broker down");
    for (int i = 0; i < 3; ++i) log_library("protobuf", log_level::error, "bad utf-8");
    auto lines = log.lines();
    REQUIRE(lines.size() == 8); // 5 of librdkafka, 3 of protobuf: the buckets are per source
    std::size_t from_kafka = 0;
    for (const auto& l : lines) from_kafka += l.find(R"("source":"librdkafka")") != std::string::npos;
    REQUIRE(from_kafka == 5);

    // A refilled bucket logs again and says how many lines it dropped.
    log.out.str("");
    for (int i = 0; i < 7; ++i) log_library("test-refill", log_level::warn, "broker down");
    set_library_log_limit({5, 0}); // fills every bucket
    log_library("test-refill", log_level::warn, "broker up");
    log_library("test-refill", log_level::warn, "still up");
    lines = log.lines();
    REQUIRE(lines.size() == 7);
    REQUIRE(lines[5].find(R"("msg":"broker up","source":"test-refill","suppressed":2})") != std::string::npos);
    REQUIRE(lines[6].find(R"("msg":"still up","source":"test-refill"})") != std::string::npos);
}
