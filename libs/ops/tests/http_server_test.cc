#include "ops/http_server.h"

#include "ops/log.h"
#include "ops/metrics.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

using namespace posd::ops;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

struct reply {
    unsigned status = 0;
    std::string content_type;
    std::string allow;
    std::string body;
};

void set_receive_timeout(tcp::socket& socket) {
    timeval tv{};
    tv.tv_sec = 10;
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

tcp::socket connect(net::io_context& ioc, std::uint16_t port) {
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    set_receive_timeout(socket);
    return socket;
}

reply to_reply(const http::response<http::string_body>& res) {
    reply r;
    r.status = res.result_int();
    r.content_type = std::string(res[http::field::content_type]);
    r.allow = std::string(res[http::field::allow]);
    r.body = res.body();
    return r;
}

// One request on a new connection, with Beast's client side.
reply fetch(std::uint16_t port, const std::string& target, http::verb method = http::verb::get,
            std::string body = {}, std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::io_context ioc;
    auto socket = connect(ioc, port);
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "localhost");
    for (auto& [name, value] : headers) req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return to_reply(res);
}

// Bytes in, everything the server sends until it closes out.
std::string exchange_raw(std::uint16_t port, const std::string& bytes) {
    net::io_context ioc;
    auto socket = connect(ioc, port);
    net::write(socket, net::buffer(bytes));
    std::string out;
    char buf[4096];
    for (;;) {
        auto n = ::recv(socket.native_handle(), buf, sizeof buf, 0); // SO_RCVTIMEO bounds the wait
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

unsigned status_of_raw(const std::string& response) {
    // "HTTP/1.1 400 Bad Request\r\n..."
    REQUIRE(response.size() > 12);
    REQUIRE(response.starts_with("HTTP/1.1 "));
    return static_cast<unsigned>(std::stoi(response.substr(9, 3)));
}

http_server::options local_options() {
    http_server::options o;
    o.address = "127.0.0.1";
    o.port = 0;
    return o;
}

// Keeps the log of the test in memory (and checks it), then back to stderr.
struct captured_log {
    captured_log() { init_logging(log_level::info, log_format::json, out); }
    ~captured_log() { init_logging(log_level::info, log_format::json); }
    std::ostringstream out;
};

} // namespace

TEST_CASE("healthz and readyz and metrics are built in", "[http]") {
    service_metrics metrics;
    std::atomic<bool> ready{false};
    auto opts = local_options();
    opts.ready = [&] { return ready.load(); };
    opts.metrics = &metrics;
    http_server server(opts);
    server.start();
    REQUIRE(server.port() != 0);

    auto r = fetch(server.port(), "/healthz");
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == R"({"status":"ok"})");

    r = fetch(server.port(), "/readyz");
    CHECK(r.status == 503);
    CHECK(r.body == R"({"status":"not_ready"})");
    ready = true;
    r = fetch(server.port(), "/readyz");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"status":"ready"})");

    metrics.records_applied().Increment(3);
    metrics.records_consumed(2).Increment(4);
    r = fetch(server.port(), "/metrics");
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
    CHECK_THAT(r.body, Catch::Contains("\nposd_records_applied_total 3\n"));
    CHECK_THAT(r.body, Catch::Contains("\nposd_records_consumed_total{partition=\"2\"} 4\n"));
}

TEST_CASE("readyz without a predicate is not ready and without metrics there is no /metrics", "[http]") {
    http_server server(local_options());
    server.start();
    CHECK(fetch(server.port(), "/readyz").status == 503);
    CHECK(fetch(server.port(), "/metrics").status == 404);
    CHECK(fetch(server.port(), "/healthz").status == 200);
}

TEST_CASE("path templates match decoded segments", "[http]") {
    http_server server(local_options());
    server.route("/positions/{key}", [](const http_request& r) {
        return http_response::json("{\"key\":\"" + r.param("key") + "\",\"route\":\"" + r.route + "\"}");
    });
    server.route("/positions/count", [](const http_request&) { return http_response::json(R"({"count":7})"); });
    server.route("/accounts/{account}/positions/{cusip}", [](const http_request& r) {
        http_response res;
        res.content_type = "text/plain";
        res.body = r.param("account") + "/" + r.param("cusip");
        return res;
    });
    server.route("/query/{x}", [](const http_request& r) {
        std::string out;
        for (auto& [k, v] : r.query) out += k + "=[" + v + "];";
        return http_response::json(out);
    });
    server.start();
    auto port = server.port();

    auto r = fetch(port, "/positions/ABCD%7C01%7C123%7C45678%7C0%7C037833100");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"key":"ABCD|01|123|45678|0|037833100","route":"/positions/{key}"})");
    // A raw '|' is accepted too.
    CHECK(fetch(port, "/positions/A|B").body == R"({"key":"A|B","route":"/positions/{key}"})");
    // An encoded '/' stays inside its segment.
    CHECK(fetch(port, "/positions/a%2Fb").body == R"({"key":"a/b","route":"/positions/{key}"})");
    // The literal route wins over the template, whatever the order.
    CHECK(fetch(port, "/positions/count").body == R"({"count":7})");
    CHECK(fetch(port, "/positions/%63ount").body == R"({"count":7})");

    r = fetch(port, "/accounts/ABCD%7C01/positions/037833100");
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/plain");
    CHECK(r.body == "ABCD|01/037833100");

    r = fetch(port, "/query/x?asOf=2024-03-04T10%3A00%3A00Z&note=a+b%2Bc&flag&&note2=");
    CHECK(r.body == "asOf=[2024-03-04T10:00:00Z];flag=[];note=[a b+c];note2=[];");

    // Segment counts must agree; a template segment is never empty.
    CHECK(fetch(port, "/positions").status == 404);
    CHECK(fetch(port, "/positions/").status == 404);
    CHECK(fetch(port, "/positions/a/b").status == 404);
    CHECK(fetch(port, "/accounts/A/positions").status == 404);
}

TEST_CASE("handlers read request headers and add response headers", "[http]") {
    http_server server(local_options());
    server.route("/echo", [](const http_request& r) {
        http_response res = http_response::json(std::string(r.header("x-posd-forwarded-by").value_or("none")), 503);
        res.headers.emplace_back("Retry-After", "1");
        res.headers.emplace_back("X-Posd-Partition", "3");
        return res;
    });
    server.start();
    // Names compare case-insensitively; the last of a repeated field wins.
    const std::string raw = exchange_raw(server.port(), "GET /echo HTTP/1.1\r\nHost: x\r\nX-Posd-Forwarded-By: a:1\r\n"
                                                        "X-POSD-FORWARDED-BY: b:2\r\nConnection: close\r\n\r\n");
    CHECK(status_of_raw(raw) == 503);
    CHECK_THAT(raw, Catch::Contains("\r\nRetry-After: 1\r\n"));
    CHECK_THAT(raw, Catch::Contains("\r\nX-Posd-Partition: 3\r\n"));
    CHECK_THAT(raw, Catch::EndsWith("b:2"));
    CHECK(fetch(server.port(), "/echo").body == "none");
}

TEST_CASE("errors 404 405 400 413 431 come as JSON", "[http]") {
    http_server server(local_options());
    server.route("/positions/{key}", [](const http_request& r) { return http_response::json(r.param("key")); });
    server.start();
    auto port = server.port();

    auto r = fetch(port, "/nope");
    CHECK(r.status == 404);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == R"({"error":"not_found","message":"no resource at /nope"})");

    r = fetch(port, "/healthz", http::verb::post, "x");
    CHECK(r.status == 405);
    CHECK(r.allow == "GET");
    CHECK(r.body == R"({"error":"method_not_allowed","message":"POST is not allowed; use GET"})");
    CHECK(fetch(port, "/positions/x", http::verb::delete_).status == 405);
    CHECK(fetch(port, "/positions/x", http::verb::head).status == 405);
    CHECK(fetch(port, "/nope", http::verb::post).status == 404);

    r = fetch(port, "/positions/A%7");
    CHECK(r.status == 400);
    CHECK(r.body == R"({"error":"bad_request","message":"invalid percent-encoding in the path"})");
    CHECK(fetch(port, "/positions/A%G1").status == 400);
    CHECK(fetch(port, "/positions/A?x=%ZZ").status == 400);

    auto raw = exchange_raw(port, "GARBAGE\r\n\r\n");
    CHECK(status_of_raw(raw) == 400);
    CHECK_THAT(raw, Catch::Contains(R"({"error":"bad_request","message":"malformed request: )"));
    // Well-formed requests with a target that is not a path: the connection may
    // stay open, so ask for it to close.
    CHECK(status_of_raw(exchange_raw(port, "GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 400);
    CHECK(status_of_raw(exchange_raw(
              port, "GET http://x/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 400);
    CHECK(status_of_raw(exchange_raw(port, "GET /healthz HTTP/9.9\r\n\r\n")) == 400);

    r = fetch(port, "/healthz", http::verb::get, std::string(http_server::body_bytes_max + 1, 'x'));
    CHECK(r.status == 413);
    r = fetch(port, "/healthz", http::verb::get, {}, {{"X-Big", std::string(http_server::header_bytes_max, 'y')}});
    CHECK(r.status == 431);

    // The server still answers after all that.
    CHECK(fetch(port, "/healthz").status == 200);
}

TEST_CASE("a handler that throws is a 500 logged by route and the server carries on", "[http]") {
    captured_log log;
    http_server server(local_options());
    server.route("/boom/{key}", [](const http_request& r) -> http_response {
        throw std::runtime_error("bad state for " + r.param("key"));
    });
    server.route("/boom2", [](const http_request&) -> http_response { throw 42; });
    server.route("/bad-status", [](const http_request&) { return http_response::json("{}", 1000); });
    server.start();
    CHECK(fetch(server.port(), "/bad-status").status == 500);
    auto r = fetch(server.port(), "/boom/SECRET-ACCOUNT");
    CHECK(r.status == 500);
    CHECK(r.body == R"({"error":"internal","message":"the handler for /boom/{key} failed"})");
    CHECK(fetch(server.port(), "/boom2").status == 500);
    CHECK(fetch(server.port(), "/healthz").status == 200);
    server.stop();
    auto text = log.out.str();
    CHECK_THAT(text, Catch::Contains(R"("msg":"http handler failed","route":"/boom/{key}")"));
    CHECK_THAT(text, Catch::Contains(R"("route":"/boom2","error":"unknown exception")"));
    CHECK_THAT(text, !Catch::Contains("/boom/SECRET")); // the path is not logged
}

TEST_CASE("keep-alive: several requests on one connection", "[http]") {
    http_server server(local_options());
    server.start();
    net::io_context ioc;
    auto socket = connect(ioc, server.port());
    beast::flat_buffer buffer;
    for (const char* target : {"/healthz", "/readyz", "/nope", "/healthz"}) {
        http::request<http::empty_body> req(http::verb::get, target, 11);
        req.set(http::field::host, "localhost");
        http::write(socket, req);
        http::response<http::string_body> res;
        http::read(socket, buffer, res);
        CHECK(res.keep_alive());
        CHECK(res.result_int() == (std::string_view(target) == "/healthz" ? 200u
                                   : std::string_view(target) == "/readyz" ? 503u
                                                                            : 404u));
    }
}

TEST_CASE("concurrent requests from many clients", "[http]") {
    auto opts = local_options();
    opts.threads = 2;
    http_server server(opts);
    server.route("/echo/{n}", [](const http_request& r) { return http_response::json("[" + r.param("n") + "]"); });
    // Two requests meet in this handler only if two threads serve at once.
    std::mutex m;
    std::condition_variable cv;
    int inside = 0;
    server.route("/meet", [&](const http_request&) {
        std::unique_lock lock(m);
        ++inside;
        cv.notify_all();
        bool met = cv.wait_for(lock, 5s, [&] { return inside >= 2; });
        return http_response::json(met ? "true" : "false");
    });
    server.start();
    auto port = server.port();

    constexpr int clients = 8, each = 25;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
            for (int i = 0; i < each; ++i) {
                std::string n = std::to_string(c * 1000 + i);
                auto r = fetch(port, "/echo/" + n);
                if (r.status == 200 && r.body == "[" + n + "]") ++ok;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(ok.load() == clients * each);

    auto a = std::async(std::launch::async, [&] { return fetch(port, "/meet").body; });
    auto b = std::async(std::launch::async, [&] { return fetch(port, "/meet").body; });
    CHECK(a.get() == "true");
    CHECK(b.get() == "true");
}

TEST_CASE("stop finishes the request in progress and closes idle connections and refuses new ones", "[http]") {
    auto opts = local_options();
    http_server server(opts);
    std::promise<void> entered;
    server.route("/slow", [&](const http_request&) {
        entered.set_value();
        std::this_thread::sleep_for(300ms);
        return http_response::json(R"({"slow":true})");
    });
    server.start();
    auto port = server.port();

    // An idle keep-alive connection ...
    net::io_context ioc;
    auto idle = connect(ioc, port);
    {
        http::request<http::empty_body> req(http::verb::get, "/healthz", 11);
        req.set(http::field::host, "localhost");
        http::write(idle, req);
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        http::read(idle, buffer, res);
        REQUIRE(res.result_int() == 200);
    }
    // ... and one waiting for a slow handler.
    auto slow = std::async(std::launch::async, [&] { return fetch(port, "/slow"); });
    entered.get_future().wait();

    auto t0 = std::chrono::steady_clock::now();
    server.stop();
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took < opts.stop_grace);

    auto r = slow.get();
    CHECK(r.status == 200);
    CHECK(r.body == R"({"slow":true})");

    // Closed by the server: EOF (or a reset), not the receive timeout.
    char byte;
    errno = 0;
    auto n = ::recv(idle.native_handle(), &byte, 1, 0);
    CHECK((n == 0 || (n < 0 && errno == ECONNRESET)));

    beast::error_code ec;
    tcp::socket refused(ioc);
    refused.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    CHECK(ec == net::error::connection_refused);

    server.stop(); // twice is fine
}

TEST_CASE("start fails loudly on a port in use or a bad address", "[http]") {
    http_server first(local_options());
    first.start();
    auto opts = local_options();
    opts.port = first.port();
    http_server second(opts);
    CHECK_THROWS_AS(second.start(), std::system_error);
    try {
        http_server third(opts);
        third.start();
    } catch (const std::system_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("127.0.0.1:" + std::to_string(first.port())));
    }
    auto bad = local_options();
    bad.address = "not-an-ip";
    http_server fourth(bad);
    CHECK_THROWS_AS(fourth.start(), std::system_error);
}

TEST_CASE("route patterns are checked", "[http]") {
    http_server server(local_options());
    CHECK_THROWS_AS(server.route("nope", [](const http_request&) { return http_response{}; }), std::invalid_argument);
    CHECK_THROWS_AS(server.route("/a/{}", [](const http_request&) { return http_response{}; }), std::invalid_argument);
    CHECK_THROWS_AS(server.route("/a/{x}/{x}", [](const http_request&) { return http_response{}; }),
                    std::invalid_argument);
    CHECK_THROWS_AS(server.route("/a//b", [](const http_request&) { return http_response{}; }), std::invalid_argument);
    CHECK_THROWS_AS(server.route("/a/b{c}", [](const http_request&) { return http_response{}; }),
                    std::invalid_argument);
    CHECK_THROWS_AS(server.route("/healthz", [](const http_request&) { return http_response{}; }),
                    std::invalid_argument); // built in already
    CHECK_THROWS_AS(server.route("/x", http_handler{}), std::invalid_argument);
    server.route("/positions/{key}", [](const http_request&) { return http_response{}; });
    CHECK_THROWS_AS(server.route("/positions/{id}", [](const http_request&) { return http_response{}; }),
                    std::invalid_argument);
    server.start();
    CHECK_THROWS_AS(server.route("/late", [](const http_request&) { return http_response{}; }), std::logic_error);
    auto zero = local_options();
    zero.threads = 0;
    CHECK_THROWS_AS(http_server(zero), std::invalid_argument);
}

TEST_CASE("every response is counted by route pattern and status", "[http][metrics]") {
    service_metrics metrics;
    auto opts = local_options();
    opts.metrics = &metrics;
    http_server server(opts);
    server.route("/positions/{key}", [](const http_request& r) {
        if (r.param("key") == "boom") throw std::runtime_error("boom");
        return http_response::json("{}");
    });
    server.start();
    CHECK(fetch(server.port(), "/healthz").status == 200);
    CHECK(fetch(server.port(), "/positions/A%7C1").status == 200);
    CHECK(fetch(server.port(), "/positions/B%7C2").status == 200);
    CHECK(fetch(server.port(), "/positions/boom").status == 500);
    CHECK(fetch(server.port(), "/healthz", http::verb::post).status == 405);
    CHECK(fetch(server.port(), "/nowhere").status == 404);
    CHECK(status_of_raw(exchange_raw(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: z\r\n\r\n")) ==
          400);
    CHECK(fetch(server.port(), "/metrics").status == 200);

    const std::string text = metrics.serialize();
    auto count = [&](std::string_view route, unsigned status) {
        const std::string sample =
            fmt::format("\nposd_http_requests_total{{route=\"{}\",status=\"{}\"}} ", route, status);
        const auto at = text.find(sample);
        if (at == std::string::npos) return -1.0;
        return std::stod(text.substr(at + sample.size()));
    };
    CHECK(count("/healthz", 200) == 1);
    CHECK(count("/positions/{key}", 200) == 2); // the pattern, never the path (paths hold account numbers)
    CHECK(count("/positions/{key}", 500) == 1);
    CHECK(count("/healthz", 405) == 1);
    CHECK(count("unmatched", 404) == 1);
    CHECK(count("unmatched", 400) == 1);
    CHECK_THAT(text, !Catch::Contains("A|1"));
    CHECK_THAT(text, !Catch::Contains("A%7C1"));
}
