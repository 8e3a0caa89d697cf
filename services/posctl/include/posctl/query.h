#pragma once
// posctl query: one HTTP/1.1 GET to a running posd (Boost.Beast client) and
// the paths of posd's read-only queries built from keys.
//
// Keys hold '|' (firm|ledger|branch|base...), which is not allowed raw in a
// request target; paths built here percent-encode every byte outside RFC
// 3986's unreserved set, and posd decodes each path segment after
// splitting, so a key is always exactly one segment.
//
// Threading: every function is independent; http_get uses its own
// io_context on the calling thread.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace posd::posctl {

// Percent-encodes every byte but A-Z a-z 0-9 - . _ ~ ("A|B" -> "A%7CB").
std::string percent_encode(std::string_view segment);

std::string position_path(std::string_view position_key);          // /positions/{key}
std::string account_positions_path(std::string_view account_key);  // /accounts/{key}/positions
std::string account_balance_path(std::string_view account_key);    // /accounts/{key}/balance
std::string account_market_values_path(std::string_view account_key); // /accounts/{key}/market-values

// A raw path as typed: a leading '/' added when missing; bytes a target may
// not hold raw ('|', space, quotes, non-ASCII...) percent-encoded; '/', '?',
// '&', '=', '%' and the other reserved characters kept, so an already
// encoded path passes unchanged.
std::string normalize_target(std::string_view raw);

struct endpoint {
    std::string host;
    std::string port;
};

// HOST:PORT, [IPv6]:PORT, with an optional http:// prefix and trailing '/'.
// nullopt when the port is missing or not a number 1..65535.
std::optional<endpoint> parse_endpoint(std::string_view text);

struct http_answer {
    bool answered = false; // false: no HTTP response (resolve, connect, timeout, protocol error)
    unsigned status = 0;
    std::string body;
    std::string error; // when !answered
};

// GET `target` (a path, already encoded) with an overall deadline.
http_answer http_get(const endpoint& server, const std::string& target, std::chrono::milliseconds timeout);

// posctl query's exit code: 0 for 2xx, 1 for any other status, 2 when no
// answer came.
int query_exit_code(const http_answer& answer);

} // namespace posd::posctl
