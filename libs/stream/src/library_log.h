#pragma once
// librdkafka's own log lines into posd's log (ops::log_library, source
// "librdkafka", fields `facility` and `client`), for every handle the stream
// module configures. Internal to libs/stream.

#include <librdkafka/rdkafka.h>

namespace posd::stream {

// Sets `conf`'s log callback. Every Kafka client posd makes comes from
// make_conf (or the embedded cluster's host handle), so this covers them all.
void route_librdkafka_logs(rd_kafka_conf_t* conf);

} // namespace posd::stream
