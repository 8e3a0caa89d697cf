#include "ops/http_server.h"

#include "ops/json_text.h"
#include "ops/log.h"
#include "ops/metrics.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace posd::ops {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// ---------------------------------------------------------------- requests

const std::string& http_request::param(std::string_view name) const {
    auto it = params.find(name);
    if (it == params.end()) throw std::out_of_range(fmt::format("route {} has no parameter {{{}}}", route, name));
    return it->second;
}

std::optional<std::string_view> http_request::query_value(std::string_view name) const {
    auto it = query.find(name);
    if (it == query.end()) return std::nullopt;
    return std::string_view(it->second);
}

std::optional<std::string_view> http_request::header(std::string_view name) const {
    for (auto it = headers.rbegin(); it != headers.rend(); ++it)
        if (beast::iequals(it->first, beast::string_view(name.data(), name.size()))) return std::string_view(it->second);
    return std::nullopt;
}

http_response http_response::json(std::string body, unsigned status) {
    http_response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

http_response http_response::error(unsigned status, std::string_view code, std::string_view message) {
    return json(json_error(code, message), status);
}

namespace {

// The route label of a request no route answers (404, or not parseable).
constexpr std::string_view unmatched_route = "unmatched";

int hex_value(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

// RFC 3986 percent-decoding; nullopt for a '%' without two hex digits.
// In a query string '+' also means a space (HTML form encoding).
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char ch = s[i];
        if (ch == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (ch == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += ch;
        }
    }
    return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
        auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) return out;
        s.remove_prefix(at + 1);
    }
}

struct route_segment {
    std::string text; // the literal, or the parameter name
    bool is_param = false;
};

struct route_entry {
    std::string pattern;
    std::vector<route_segment> segments;
    std::size_t literals = 0;
    http_handler handler;
};

bool valid_param_name(std::string_view name) {
    if (name.empty()) return false;
    for (char ch : name)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) return false;
    return true;
}

route_entry parse_pattern(std::string_view pattern) {
    if (pattern.empty() || pattern.front() != '/')
        throw std::invalid_argument(fmt::format("route '{}' must start with '/'", pattern));
    route_entry r;
    r.pattern = std::string(pattern);
    if (pattern == "/") return r;
    for (auto part : split(pattern.substr(1), '/')) {
        if (part.empty()) throw std::invalid_argument(fmt::format("route '{}' has an empty segment", pattern));
        route_segment seg;
        if (part.front() == '{' && part.back() == '}' && part.size() >= 2) {
            seg.text = std::string(part.substr(1, part.size() - 2));
            seg.is_param = true;
            if (!valid_param_name(seg.text))
                throw std::invalid_argument(fmt::format("route '{}': bad parameter name '{}'", pattern, seg.text));
            for (auto& other : r.segments)
                if (other.is_param && other.text == seg.text)
                    throw std::invalid_argument(fmt::format("route '{}' repeats {{{}}}", pattern, seg.text));
        } else {
            if (part.find_first_of("{}%?#") != std::string_view::npos)
                throw std::invalid_argument(fmt::format("route '{}': bad literal segment '{}'", pattern, part));
            seg.text = std::string(part);
            ++r.literals;
        }
        r.segments.push_back(std::move(seg));
    }
    return r;
}

bool same_shape(const route_entry& a, const route_entry& b) {
    if (a.segments.size() != b.segments.size()) return false;
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
        auto& x = a.segments[i];
        auto& y = b.segments[i];
        if (x.is_param != y.is_param) return false;
        if (!x.is_param && x.text != y.text) return false;
    }
    return true;
}

bool matches(const route_entry& r, const std::vector<std::string>& segments) {
    if (r.segments.size() != segments.size()) return false;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        auto& seg = r.segments[i];
        if (seg.is_param ? segments[i].empty() : seg.text != segments[i]) return false;
    }
    return true;
}

using request_parser = http::request_parser<http::string_body>;

void set_limits(request_parser& parser) {
    parser.header_limit(static_cast<std::uint32_t>(http_server::header_bytes_max));
    parser.body_limit(http_server::body_bytes_max);
}

// The answer to a request the parser refused, or nullopt when the
// connection ended (closed, timed out, or closed mid-request): no answer.
std::optional<http_response> refused_request_response(beast::error_code ec) {
    bool malformed = ec.category() == http::make_error_code(http::error::bad_target).category() &&
                     ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (!malformed) return std::nullopt;
    unsigned status = 400;
    std::string_view code = "bad_request";
    if (ec == http::error::body_limit) {
        status = 413;
        code = "payload_too_large";
    } else if (ec == http::error::header_limit) {
        status = 431;
        code = "request_header_fields_too_large";
    }
    return http_response::error(status, code, fmt::format("malformed request: {}", ec.message()));
}

} // namespace

// ---------------------------------------------------------------- server

struct http_server::impl {
    class session;

    explicit impl(options o) : opts(std::move(o)) {}

    // Sets `route` to the matched route's pattern (left as is when none matches).
    http_response handle(const http::request<http::string_body>& req, std::string_view& route) const;
    // posd_http_requests_total{route,status}
    void count(std::string_view route, unsigned status) const {
        if (opts.metrics) opts.metrics->http_requests(route, status).Increment();
    }
    void do_accept();
    void on_accept(beast::error_code ec, tcp::socket socket);
    bool evict_oldest_waiting();
    void run_thread();

    // Declaration order matters for destruction: the io_context goes before
    // the members above it (a session it still holds touches them when it
    // is destroyed) and after the acceptor and timer below it.
    options opts;
    std::vector<route_entry> routes;
    std::atomic<bool> started{false};
    std::atomic<bool> stopping{false};
    std::atomic<std::size_t> connections{0};
    std::mutex sessions_mutex;
    std::vector<std::weak_ptr<session>> sessions;
    std::mutex done_mutex;
    std::condition_variable done_cv;
    std::size_t threads_done = 0;
    std::mutex stop_mutex;
    bool stopped = false;
    std::uint16_t bound_port = 0;

    net::io_context ioc;
    tcp::acceptor acceptor{net::make_strand(ioc)};
    net::steady_timer accept_retry{acceptor.get_executor()};
    std::vector<std::thread> threads;
};

// One connection: reads requests one after another (keep-alive), answers
// each, and closes on error, on "Connection: close", on idle timeout or when
// the server stops. Every step runs on the connection's strand.
class http_server::impl::session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket socket, impl& server) : stream_(std::move(socket)), server_(server) {
        server_.connections.fetch_add(1);
    }
    ~session() { server_.connections.fetch_sub(1); }

    void start() {
        {
            std::lock_guard lock(server_.sessions_mutex);
            auto& list = server_.sessions;
            std::erase_if(list, [](auto& w) { return w.expired(); });
            list.push_back(weak_from_this());
        }
        net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::read_request, shared_from_this()));
    }

    // From stop(): closes the connection unless a request is being handled
    // (that one finishes, and then the connection closes).
    void stop_if_idle() {
        net::post(stream_.get_executor(), [self = shared_from_this()] {
            if (!self->busy_) self->abort();
        });
    }

    // From stop(), once the server's threads have ended.
    void close_after_stop() { abort(); }

    // Waiting for a request (none in progress), since when.
    bool waiting() const { return waiting_.load(); }
    std::chrono::steady_clock::rep waiting_since() const { return waiting_since_.load(); }
    // From the acceptor when the server is full: closes the connection if it
    // is still waiting for a request. False when it no longer is.
    bool evict() {
        bool expected = true;
        if (!waiting_.compare_exchange_strong(expected, false)) return false;
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->abort(); });
        return true;
    }

private:
    void read_request() {
        busy_ = false;
        if (server_.stopping.load()) return abort();
        parser_.emplace();
        set_limits(*parser_);
        stream_.expires_after(server_.opts.idle_timeout);
        waiting_since_.store(std::chrono::steady_clock::now().time_since_epoch().count());
        waiting_.store(true);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        busy_ = true;
        waiting_.store(false);
        if (ec) {
            auto refused = refused_request_response(ec);
            if (!refused) return abort();
            server_.count(unmatched_route, refused->status);
            return send(std::move(*refused), 11, false);
        }
        auto& req = parser_->get();
        std::string_view route = unmatched_route;
        http_response response = server_.handle(req, route);
        server_.count(route, response.status);
        send(std::move(response), req.version(), req.keep_alive() && !server_.stopping.load());
    }

    void send(http_response r, unsigned version, bool keep_alive) {
        response_ = {};
        response_.version(version);
        response_.result(r.status);
        response_.set(http::field::server, "posd");
        response_.set(http::field::content_type, r.content_type);
        response_.set(http::field::cache_control, "no-store");
        if (r.status == 405) response_.set(http::field::allow, "GET");
        for (auto& [name, value] : r.headers) response_.set(name, value);
        response_.keep_alive(keep_alive);
        response_.body() = std::move(r.body);
        response_.prepare_payload();
        stream_.expires_after(server_.opts.idle_timeout);
        http::async_write(stream_, response_,
                          [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                              if (ec) return self->abort();
                              if (!keep_alive) return self->finish();
                              self->read_request();
                          });
    }

    // After the last response: no more sends; the socket closes when the
    // session is released.
    void finish() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
    // Now: cancels whatever is pending.
    void abort() { stream_.close(); }

    beast::tcp_stream stream_;
    impl& server_;
    beast::flat_buffer buffer_;
    std::optional<request_parser> parser_;
    http::response<http::string_body> response_;
    bool busy_ = false; // a request is being handled or answered
    std::atomic<bool> waiting_{false};
    std::atomic<std::chrono::steady_clock::rep> waiting_since_{0};
};

http_response http_server::impl::handle(const http::request<http::string_body>& req,
                                        std::string_view& route) const {
    std::string_view target(req.target().data(), req.target().size());
    if (target.empty() || target.front() != '/')
        return http_response::error(400, "bad_request", "the request target must be an absolute path");
    auto qmark = target.find('?');
    std::string_view path = target.substr(0, qmark);
    std::string_view query = qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
    if (auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);

    std::vector<std::string> segments;
    if (path != "/") {
        for (auto part : split(path.substr(1), '/')) {
            auto decoded = percent_decode(part, false);
            if (!decoded) return http_response::error(400, "bad_request", "invalid percent-encoding in the path");
            segments.push_back(std::move(*decoded));
        }
    }
    const route_entry* best = nullptr;
    for (auto& r : routes)
        if (matches(r, segments) && (!best || r.literals > best->literals)) best = &r;
    if (!best) return http_response::error(404, "not_found", fmt::format("no resource at {}", path));
    route = best->pattern;
    if (req.method() != http::verb::get)
        return http_response::error(405, "method_not_allowed",
                                    fmt::format("{} is not allowed; use GET", std::string_view(req.method_string().data(), req.method_string().size())));

    http_request request;
    request.target = std::string(target);
    request.path = std::string(path);
    request.route = best->pattern;
    for (const auto& field : req)
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    for (std::size_t i = 0; i < segments.size(); ++i)
        if (best->segments[i].is_param) request.params[best->segments[i].text] = segments[i];
    if (!query.empty()) {
        for (auto pair : split(query, '&')) {
            if (pair.empty()) continue;
            auto eq = pair.find('=');
            auto name = percent_decode(pair.substr(0, eq), true);
            auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
            if (!name || !value)
                return http_response::error(400, "bad_request", "invalid percent-encoding in the query");
            request.query[*name] = *value;
        }
    }
    try {
        http_response response = best->handler(request);
        if (response.status >= 100 && response.status <= 599) return response;
        log_error("http handler returned an invalid status",
                  {{"route", best->pattern}, {"status", response.status}});
    } catch (const std::exception& e) {
        log_error("http handler failed", {{"route", best->pattern}, {"error", e.what()}});
    } catch (...) {
        log_error("http handler failed", {{"route", best->pattern}, {"error", "unknown exception"}});
    }
    return http_response::error(500, "internal", fmt::format("the handler for {} failed", best->pattern));
}

void http_server::impl::do_accept() {
    acceptor.async_accept(net::make_strand(ioc),
                          beast::bind_front_handler(&http_server::impl::on_accept, this));
}

void http_server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
    if (stopping.load() || !acceptor.is_open()) return;
    if (ec) {
        // Out of file descriptors and the like: wait a little rather than
        // spin; out of descriptors, make room by closing the oldest idle
        // connection first.
        const bool no_descriptors = ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
                                    ec.value() == ENFILE;
        const bool evicted = no_descriptors && evict_oldest_waiting();
        log_warn("http accept failed", {{"error", ec.message()}, {"evicted_idle_connection", evicted}});
        accept_retry.expires_after(std::chrono::milliseconds(evicted ? 10 : 100));
        accept_retry.async_wait([this](beast::error_code wait_ec) {
            if (!wait_ec && !stopping.load()) do_accept();
        });
        return;
    }
    // Full: the connection that has waited longest for a request makes room
    // (idle keep-alive, or a request header that never completes), so one
    // client holding every connection cannot keep /healthz from answering.
    // Only when every connection has a request in progress is the new one
    // refused.
    if (connections.load() >= opts.connections_max && !evict_oldest_waiting()) {
        beast::error_code ignored;
        socket.close(ignored); // over the limit: refuse by closing at once
    } else {
        std::make_shared<session>(std::move(socket), *this)->start();
    }
    do_accept();
}

bool http_server::impl::evict_oldest_waiting() {
    std::lock_guard lock(sessions_mutex);
    for (;;) {
        std::shared_ptr<session> oldest;
        for (auto& w : sessions) {
            auto s = w.lock();
            if (s && s->waiting() && (!oldest || s->waiting_since() < oldest->waiting_since())) oldest = std::move(s);
        }
        if (!oldest) return false;
        if (oldest->evict()) return true; // else it just received a request: look again
    }
}

void http_server::impl::run_thread() {
    for (;;) {
        try {
            ioc.run();
            break;
        } catch (const std::exception& e) {
            log_error("http server thread caught an exception", {{"error", e.what()}});
        }
    }
    {
        std::lock_guard lock(done_mutex);
        ++threads_done;
    }
    done_cv.notify_all();
}

http_server::http_server(options opts) : impl_(std::make_unique<impl>(std::move(opts))) {
    if (impl_->opts.threads == 0 || impl_->opts.threads > threads_max)
        throw std::invalid_argument(fmt::format("http server threads must be 1..{}", threads_max));
    route("/healthz", [](const http_request&) { return http_response::json(R"({"status":"ok"})"); });
    route("/readyz", [ready = impl_->opts.ready](const http_request&) {
        if (ready && ready()) return http_response::json(R"({"status":"ready"})");
        return http_response::json(R"({"status":"not_ready"})", 503);
    });
    if (impl_->opts.metrics) {
        route("/metrics", [metrics = impl_->opts.metrics](const http_request&) {
            http_response r;
            r.content_type = std::string(service_metrics::content_type);
            r.body = metrics->serialize();
            return r;
        });
    }
}

http_server::~http_server() { stop(); }

void http_server::route(std::string_view pattern, http_handler handler) {
    if (impl_->started.load()) throw std::logic_error("http_server::route after start()");
    if (!handler) throw std::invalid_argument(fmt::format("route '{}' has no handler", pattern));
    auto entry = parse_pattern(pattern);
    for (auto& r : impl_->routes)
        if (same_shape(r, entry))
            throw std::invalid_argument(fmt::format("route '{}' duplicates '{}'", pattern, r.pattern));
    entry.handler = std::move(handler);
    impl_->routes.push_back(std::move(entry));
}

void http_server::start() {
    auto& s = *impl_;
    if (s.started.exchange(true)) throw std::logic_error("http_server::start called twice");
    beast::error_code ec;
    auto address = net::ip::make_address(s.opts.address, ec);
    if (ec) throw std::system_error(ec, fmt::format("http.address '{}' is not an IP address", s.opts.address));
    tcp::endpoint endpoint(address, s.opts.port);
    auto fail = [&](const char* what) {
        throw std::system_error(ec, fmt::format("http server cannot {} {}:{}", what, s.opts.address, s.opts.port));
    };
    s.acceptor.open(endpoint.protocol(), ec);
    if (ec) fail("open a socket for");
    s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) fail("set SO_REUSEADDR on");
    s.acceptor.bind(endpoint, ec);
    if (ec) fail("bind");
    s.acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) fail("listen on");
    s.bound_port = s.acceptor.local_endpoint().port();
    s.do_accept();
    for (std::size_t i = 0; i < s.opts.threads; ++i) s.threads.emplace_back([&s] { s.run_thread(); });
}

std::uint16_t http_server::port() const { return impl_->bound_port; }

std::optional<http_response> http_server::respond(std::string_view request_bytes) const {
    // What http::async_read does with a connection's bytes, with all of
    // them already received and the end of the stream after them.
    request_parser parser;
    set_limits(parser);
    parser.eager(true);
    beast::error_code ec;
    while (!parser.is_done()) {
        auto used = parser.put(net::buffer(request_bytes.data(), request_bytes.size()), ec);
        request_bytes.remove_prefix(used);
        // need_more: the parser wants bytes past the end, which never come
        // (the peer closed). It must not be given the same bytes again:
        // Beast's parser assumes a call after need_more brings more bytes
        // (a chunked body's last chunk without its CRLF failed a Beast
        // assertion that way, found by fuzz_http_request).
        const bool needs_more = ec == http::error::need_more;
        if (needs_more) ec = {};
        if (ec) return refused_request_response(ec);
        if (needs_more || (used == 0 && !parser.is_done())) {
            if (!parser.got_some()) return std::nullopt;
            parser.put_eof(ec);
            if (ec || !parser.is_done()) return refused_request_response(ec ? ec : http::error::partial_message);
        }
    }
    std::string_view route; // respond() counts nothing: it serves no connection
    return impl_->handle(parser.get(), route);
}

void http_server::stop() {
    auto& s = *impl_;
    std::lock_guard stop_lock(s.stop_mutex);
    if (s.stopped) return;
    s.stopped = true;
    s.stopping.store(true);
    if (s.threads.empty()) return; // never started
    net::post(s.acceptor.get_executor(), [&s] {
        beast::error_code ignored;
        s.acceptor.close(ignored);
        s.accept_retry.cancel();
    });
    {
        std::lock_guard lock(s.sessions_mutex);
        for (auto& w : s.sessions)
            if (auto session = w.lock()) session->stop_if_idle();
    }
    {
        std::unique_lock lock(s.done_mutex);
        if (!s.done_cv.wait_for(lock, s.opts.stop_grace, [&s] { return s.threads_done == s.threads.size(); })) {
            log_warn("http server stop: requests still running after the grace period; cutting them off",
                     {{"connections", s.connections.load()}});
            s.ioc.stop();
        }
    }
    for (auto& t : s.threads) t.join();
    // After a forced stop some sessions are still open; no thread runs the
    // io_context any more, so they can be closed from here.
    std::lock_guard lock(s.sessions_mutex);
    for (auto& w : s.sessions)
        if (auto session = w.lock()) session->close_after_stop();
}

} // namespace posd::ops
