// Fuzz target: the HTTP request parser and route dispatch of ops::http_server
// (http_server::respond: the bytes a connection sends, no socket), with
// posd's query routes. Contract: never crashes; either no answer (the bytes
// end before a request does) or one of the statuses the server documents,
// with a body that is valid JSON (valid UTF-8 whatever the request held);
// a handler only ever sees the non-empty decoded segments of its route.

#include "contract.h"
#include "ops/http_server.h"
#include "ops/json_text.h"

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace {

using posd::fuzz::check;
using posd::ops::http_request;
using posd::ops::http_response;

// Echoes what the route saw, so that the body check covers decoded
// parameters and query values.
http_response echo(const http_request& r, std::string_view param) {
    check(r.route.find('{') != std::string::npos, "a template route's handler got no template");
    check(!r.param(param).empty(), "a route parameter is empty", r.route);
    check(r.path.empty() == false && r.path.front() == '/', "a handler got a path that is not absolute");
    std::string body = "{\"" + std::string(param) + "\":" + posd::ops::json_string(r.param(param)) + ",\"query\":{";
    bool first = true;
    for (auto& [name, value] : r.query) {
        if (!first) body += ',';
        first = false;
        body += posd::ops::json_string(name) + ":" + posd::ops::json_string(value);
    }
    body += "}}";
    return http_response::json(std::move(body));
}

std::unique_ptr<posd::ops::http_server> make_server() {
    posd::ops::http_server::options options;
    options.ready = [] { return true; };
    auto server = std::make_unique<posd::ops::http_server>(options);
    server->route("/positions/{key}", [](const http_request& r) { return echo(r, "key"); });
    for (auto* pattern : {"/accounts/{account}/positions", "/accounts/{account}/market-values",
                          "/accounts/{account}/balance"})
        server->route(pattern, [](const http_request& r) { return echo(r, "account"); });
    return server;
}

bool known_status(unsigned status) {
    for (unsigned s : {200u, 400u, 404u, 405u, 413u, 431u}) // 500 only when a handler throws; ours do not
        if (status == s) return true;
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static auto server = make_server();
    static simdjson::dom::parser parser;
    auto response = server->respond(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!response) return 0;
    check(known_status(response->status), "an undocumented status", std::to_string(response->status));
    check(response->content_type == "application/json", "a content type other than JSON", response->content_type);
    simdjson::dom::element body;
    auto error = parser.parse(response->body).get(body);
    check(!error, "the body is not valid JSON", response->body);
    if (response->status != 200) {
        check(body["error"].is_string(), "an error body without an error code", response->body);
        check(body["message"].is_string(), "an error body without a message", response->body);
    }
    return 0;
}
