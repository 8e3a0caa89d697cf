#pragma once
// posd's read-only HTTP queries over the RocksDB store (README.md, "HTTP"):
//   /positions/{positionKey}                one position: the JSON of its position.updated event
//   /accounts/{accountKey}/positions        the account's positions, likewise
//   /accounts/{accountKey}/balance          the margin balance: the JSON of margin.updated
//   /accounts/{accountKey}/market-values    each position's market value and the account total
// Keys are percent-encoded path segments ('|' as %7C). A key of the wrong
// shape answers 400, an unknown query parameter 400 naming it, an unknown
// key 404, all with a JSON error; account numbers in error messages are
// masked. The partition of a key is Kafka's murmur2 partition of its
// account key over `partitions`.
//
// Who answers (query_routing.h): the key's partition owned and recovered
// here → the store answers, with X-Posd-Partition, X-Posd-Offset (the
// partition's next input offset, read before the data: the answer reflects
// every record before it) and X-Posd-Instance (this instance's advertised
// address); owned but recovering → 503 + Retry-After; owned elsewhere →
// proxied to the owner once; no owner known → 503 + Retry-After.
//
// Threading: the handlers run on the HTTP server's threads and read the
// store's committed state only (rocks_store queries are thread-safe), the
// view and the directory (both thread-safe).

#include "ops/http_server.h"
#include "query_routing.h"
#include "store/store.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace posd::service {

struct query_routing {
    // The partitions this instance owns. Null: every partition of the store
    // is served here as it is (a store no service runs over: tools, tests).
    const partition_view* view = nullptr;
    // Owners of the other partitions. Null: nothing is forwarded (a 503).
    owner_directory* owners = nullptr;
    // This instance's advertised address, HOST:PORT. A function, because
    // with http.port=0 it is known only once the server is bound, after
    // the routes are registered; it must be thread-safe (http_server::port is).
    std::function<std::string()> self = [] { return std::string(); };
    std::chrono::milliseconds forward_timeout{5'000};
};

void add_query_routes(ops::http_server& http, store::rocks_store& store, std::int32_t partitions,
                      query_routing routing = {});

// A 400 naming the first query parameter not in `allowed`; nullopt when
// every parameter is allowed.
std::optional<ops::http_response> reject_unknown_parameters(const ops::http_request& r,
                                                            std::span<const std::string_view> allowed);

} // namespace posd::service
