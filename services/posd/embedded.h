#pragma once
// The Kafka modes of posd: against the embedded mock cluster (no brokers
// configured) or against real brokers.

#include "engine/config.h"
#include "kafka_service.h"
#include "model/records.h"
#include "outputs/topics.h"
#include "ops/config.h"
#include "reference_tables.h"
#include "stream/admin.h"
#include "stream/embedded_cluster.h"

#include <map>
#include <string>
#include <vector>


namespace posd::service {

// Creates posd's activity, output, changelog and reference topics in the
// embedded cluster.
void create_service_topics(stream::embedded_cluster& cluster, const topic_names& topics, int partitions,
                           const reference_topics& reference = {});

// posd's service mode as configured: with no kafka.bootstrap.servers, an
// embedded cluster with its topics first. Produces refdata.dir and
// replay.file (when set) to their topics, loads the reference tables, and
// runs the Kafka service and the HTTP server until SIGINT/SIGTERM (or, with
// exit-when-done, until the replayed records are all accounted for).
// Prints `bootstrap.servers=...` and `http=ADDRESS:PORT` on stdout and logs
// the rest. Returns the process exit code.
int run_service(const ops::config& settings, const engine::engine_config& config);

} // namespace posd::service
