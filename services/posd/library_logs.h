#pragma once
// protobuf's own log lines (an invalid UTF-8 string in a record, say) into
// posd's log: ops::log_library, source "protobuf", fields `file` and `line`,
// rate-limited like every library's lines. librdkafka's are routed by
// libs/stream (every client it configures), RocksDB's by libs/store.

namespace posd::service {

// Installs the handler; once, at start-up, before other threads decode
// (protobuf's SetLogHandler is not thread-safe).
void route_protobuf_logs();

} // namespace posd::service
