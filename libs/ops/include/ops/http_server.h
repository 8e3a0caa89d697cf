#pragma once
// http_server: posd's small HTTP/1.1 server (Boost.Beast over Asio) for the
// probes, /metrics and the read-only queries. It owns a listening socket, an
// io_context and the threads that run it (options::threads, one by default).
//
// Routes are GET-only and registered before start(): an exact path
// ("/healthz") or a template whose `{name}` segments each match one non-empty
// path segment ("/positions/{key}", "/accounts/{account}/positions"). Path
// segments are percent-decoded after the path is split, so "%7C" is '|' and
// "%2F" stays inside its segment. When several routes match, the one with the
// most literal segments wins, then the first registered. Query parameters
// (`?asOf=...`) are decoded too ('+' is a space there) and handed over as a
// map.
//
// Answers the server gives by itself, all JSON {"error":code,"message":...}:
//   400 bad_request            unparseable request, bad percent-encoding,
//                              a target that is not an absolute path
//   404 not_found              no route matches the path
//   405 method_not_allowed     a route matches but the method is not GET
//   413 / 431                  body or header over the limits below
//   500 internal               the handler threw (the exception is logged
//                              with the route, not the path: paths hold
//                              account numbers; the process carries on)
// Built in: GET /healthz (200 while the process runs), GET /readyz (200 when
// options::ready returns true, else 503; 503 without a predicate) and, when
// options::metrics is set, GET /metrics (the Prometheus text exposition).
//
// Lifecycle: construct, route(), start() (binds, throws std::system_error if
// it cannot), port() (the bound port, useful with port 0), stop() or the
// destructor. stop() is graceful: it stops accepting, closes idle
// connections, lets requests in progress finish and waits up to
// options::stop_grace for them before cutting them off. A stopped server does
// not start again.
//
// Threading: route() and start() from one thread before the server serves;
// port() and stop() from any thread (not from a handler). Handlers run on
// the server's threads, concurrently with each other when threads > 1, so
// they must be thread-safe, must not block for long, and must return (a
// handler that never returns blocks stop()).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace posd::ops {

class service_metrics;

struct http_request {
    std::string target;                                          // as sent: "/positions/A%7CB?asOf=2024-03-04"
    std::string path;                                            // the target before '?', still encoded
    std::string route;                                           // the pattern that matched: "/positions/{key}"
    std::map<std::string, std::string, std::less<>> params;      // decoded {name} segments
    std::map<std::string, std::string, std::less<>> query;       // decoded query parameters (last one wins)
    std::vector<std::pair<std::string, std::string>> headers;    // request header fields, as sent

    // The request header's value (name compared case-insensitively; the last
    // one when repeated).
    std::optional<std::string_view> header(std::string_view name) const;

    // The {name} segment; throws std::out_of_range if the route has none.
    const std::string& param(std::string_view name) const;
    std::optional<std::string_view> query_value(std::string_view name) const;
};

struct http_response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    // Extra header fields (Retry-After, Location, X-Posd-...); the server
    // sets Server, Content-Type, Content-Length and Cache-Control itself.
    std::vector<std::pair<std::string, std::string>> headers;

    static http_response json(std::string body, unsigned status = 200);
    // {"error":code,"message":message} with `status`.
    static http_response error(unsigned status, std::string_view code, std::string_view message);
};

using http_handler = std::function<http_response(const http_request&)>;

class http_server {
public:
    struct options {
        std::string address = "127.0.0.1"; // an IP address literal
        std::uint16_t port = 0;            // 0: any free port (see port())
        std::size_t threads = 1;
        std::function<bool()> ready;       // for /readyz
        service_metrics* metrics = nullptr; // /metrics, and requests counted there; must outlive the server
        std::chrono::milliseconds idle_timeout{30'000};
        std::chrono::milliseconds stop_grace{5'000};
        std::size_t connections_max = 1'024;
    };
    static constexpr std::size_t header_bytes_max = 16 * 1024;
    static constexpr std::size_t body_bytes_max = 64 * 1024;
    static constexpr std::size_t threads_max = 64;

    explicit http_server(options opts);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    // Throws std::invalid_argument for a malformed or duplicate pattern and
    // std::logic_error after start().
    void route(std::string_view pattern, http_handler handler);
    void start();
    std::uint16_t port() const;
    void stop();

    // The answer the server gives to `request_bytes` read from a connection
    // that then closes, without a socket (for the fuzz target and tests):
    // the same parser, limits, routes and handlers as a connection's first
    // request; bytes after that request are ignored. nullopt where a
    // connection gets no answer (the bytes end before a request does).
    // Safe before start(); thread-safe as the handlers are.
    std::optional<http_response> respond(std::string_view request_bytes) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace posd::ops
