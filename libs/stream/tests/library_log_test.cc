// librdkafka's own log lines come out as posd's JSON log lines.

#include "stream/batch_publisher.h"

#include "ops/log.h"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

using namespace posd;

namespace {

// A loopback port nothing listens on: bound, then closed.
int closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t n = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0);
    ::close(fd);
    return ntohs(a.sin_port);
}

} // namespace

TEST_CASE("librdkafka's log lines are JSON lines of posd's log", "[log]") {
    std::ostringstream out;
    ops::init_logging(ops::log_level::info, ops::log_format::json, out);
    const ops::library_log_limit limit = ops::get_library_log_limit();
    ops::set_library_log_limit({1e9, 0});
    const std::string bootstrap = "127.0.0.1:" + std::to_string(closed_port());
    bool found = false;
    {
        auto producer = stream::make_producer({{"bootstrap.servers", bootstrap}, {"reconnect.backoff.ms", "10"}});
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        // Connect to ipv4#127.0.0.1:PORT failed: Connection refused
        const std::regex line(R"re(\{"ts":"[^"]+","level":"error","msg":"[^"]*)re" + bootstrap +
                              R"re([^"]*Connection refused[^"]*","source":"librdkafka","facility":"FAIL","client":"rdkafka#producer-[0-9]+"\})re");
        while (!found && std::chrono::steady_clock::now() < deadline) {
            producer->poll(100);
            found = std::regex_search(out.str(), line);
        }
    }
    ops::set_library_log_limit(limit);
    ops::init_logging(ops::log_level::info, ops::log_format::json);
    INFO(out.str());
    CHECK(found);
}
