#pragma once
// posd's read-only HTTP queries over the RocksDB store (README.md, "HTTP"):
//   /positions/{positionKey}                one position: the JSON of its position.updated event
//   /accounts/{accountKey}/positions        the account's positions, likewise
//   /accounts/{accountKey}/balance          the margin balance: the JSON of margin.updated
//   /accounts/{accountKey}/market-values    each position's market value and the account total
// Keys are percent-encoded path segments ('|' as %7C). A key of the wrong
// shape answers 400, an unknown one 404, both with a JSON error; account
// numbers in error messages are masked. The partition of a key is Kafka's
// murmur2 partition of its account key over `partitions`.
//
// Threading: the handlers run on the HTTP server's thread and read the
// store's committed state only (rocks_store queries are thread-safe).

#include "ops/http_server.h"
#include "store/store.h"

#include <cstdint>

namespace posd::service {

void add_query_routes(ops::http_server& http, store::rocks_store& store, std::int32_t partitions);

} // namespace posd::service
