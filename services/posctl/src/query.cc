#include "posctl/query.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <cstdint>

namespace posd::posctl {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Bodies posctl accepts: an account's positions can be large, but a body
// this big means something is wrong.
constexpr std::uint64_t response_body_bytes_max = 256ULL * 1024 * 1024;

bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

// RFC 3986 gen-delims and sub-delims, plus '%' (an existing escape).
bool reserved(unsigned char c) {
    static constexpr std::string_view chars = ":/?#[]@!$&'()*+,;=%";
    return chars.find(static_cast<char>(c)) != std::string_view::npos;
}

void encode_byte(std::string& out, unsigned char c) {
    static constexpr char hex[] = "0123456789ABCDEF";
    out.push_back('%');
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0xF]);
}

} // namespace

std::string percent_encode(std::string_view segment) {
    std::string out;
    out.reserve(segment.size() + 8);
    for (char ch : segment) {
        const auto c = static_cast<unsigned char>(ch);
        if (unreserved(c)) out.push_back(ch);
        else encode_byte(out, c);
    }
    return out;
}

std::string position_path(std::string_view key) { return "/positions/" + percent_encode(key); }
std::string account_positions_path(std::string_view key) { return "/accounts/" + percent_encode(key) + "/positions"; }
std::string account_balance_path(std::string_view key) { return "/accounts/" + percent_encode(key) + "/balance"; }
std::string account_market_values_path(std::string_view key) {
    return "/accounts/" + percent_encode(key) + "/market-values";
}

std::string normalize_target(std::string_view raw) {
    std::string out;
    if (raw.empty() || raw.front() != '/') out.push_back('/');
    for (char ch : raw) {
        const auto c = static_cast<unsigned char>(ch);
        if (unreserved(c) || reserved(c)) out.push_back(ch);
        else encode_byte(out, c);
    }
    return out;
}

std::optional<endpoint> parse_endpoint(std::string_view text) {
    if (text.starts_with("http://")) text.remove_prefix(7);
    while (!text.empty() && text.back() == '/') text.remove_suffix(1);
    endpoint e;
    std::string_view port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == text.npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
        e.host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == text.npos) return std::nullopt;
        e.host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
        if (e.host.find(':') != std::string::npos) return std::nullopt; // IPv6 needs brackets
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (e.host.empty() || port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
        value > 65535)
        return std::nullopt;
    e.port = std::string(port);
    return e;
}

http_answer http_get(const endpoint& server, const std::string& target, std::chrono::milliseconds timeout) {
    // Each step is asynchronous so that the stream's deadline covers it;
    // running the io_context after each one keeps the code in order.
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    beast::error_code ec;
    auto run = [&ioc] {
        ioc.restart();
        ioc.run();
    };
    http_answer a;
    auto failed = [&](std::string_view step) {
        if (!ec) return false;
        a.error = std::string(step) + " " + server.host + ":" + server.port + ": " +
                  (ec == beast::error::timeout ? std::string("timed out") : ec.message());
        return true;
    };

    tcp::resolver::results_type endpoints;
    resolver.async_resolve(server.host, server.port, [&](beast::error_code e, tcp::resolver::results_type r) {
        ec = e;
        endpoints = std::move(r);
    });
    run();
    if (failed("resolve")) return a;

    stream.expires_after(timeout);
    stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (failed("connect")) return a;

    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, server.host + ":" + server.port);
    req.set(http::field::user_agent, "posctl");
    req.set(http::field::connection, "close");
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    if (failed("send to")) return a;

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(response_body_bytes_max);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    if (failed("read from")) return a;

    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    auto res = parser.release();
    a.answered = true;
    a.status = res.result_int();
    a.body = std::move(res.body());
    return a;
}

int query_exit_code(const http_answer& a) {
    if (!a.answered) return 2;
    return a.status >= 200 && a.status < 300 ? 0 : 1;
}

} // namespace posd::posctl
