// protobuf's own log lines come out as posd's JSON log lines, rate-limited.
// (librdkafka's: libs/stream/tests/library_log_test.cc; RocksDB's:
// libs/store/tests/rocks_store_test.cc.)

#include "library_logs.h"

#include "codec/decoder.h"
#include "model/reason.h"
#include "ops/log.h"

#include <catch2/catch.hpp>

#include <regex>
#include <sstream>
#include <string>

using namespace posd;

TEST_CASE("protobuf's log lines are JSON lines of posd's log", "[log]") {
    std::ostringstream out;
    ops::init_logging(ops::log_level::info, ops::log_format::json, out);
    const ops::library_log_limit limit = ops::get_library_log_limit();
    ops::set_library_log_limit({3, 0});
    service::route_protobuf_logs();

    // posd.v1.InputRecord{activity: {activity_id: "\xff"}}: not UTF-8.
    const std::string bytes("\x0a\x03\x0a\x01\xff", 5);
    codec::decoder decoder;
    for (int i = 0; i < 10; ++i) {
        const model::decoded_record d = decoder.decode(bytes, codec::content_type::protobuf);
        REQUIRE(std::holds_alternative<model::reject>(d)); // the record itself is rejected as before
    }
    ops::set_library_log_limit(limit);
    ops::init_logging(ops::log_level::info, ops::log_format::json);

    std::istringstream in(out.str());
    int lines = 0;
    const std::regex shape(R"re(^\{"ts":"[^"]+","level":"error","msg":"[^"]*invalid UTF-8[^"]*",)re"
                           R"re("source":"protobuf","file":"[^"]+","line":[0-9]+\}$)re");
    for (std::string l; std::getline(in, l);) {
        INFO(l);
        CHECK(std::regex_match(l, shape));
        ++lines;
    }
    CHECK(lines == 3); // 10 bad records, 3 lines: the rest were rate-limited
}
