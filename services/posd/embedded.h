#pragma once
// The Kafka modes of posd: against the embedded mock cluster (no brokers
// configured) or against real brokers.

#include "engine/config.h"
#include "kafka_service.h"
#include "model/records.h"
#include "ops/config.h"
#include "reference_tables.h"
#include "stream/admin.h"
#include "stream/embedded_cluster.h"

#include <map>
#include <string>
#include <vector>


namespace RdKafka {
class Handle;
class Producer;
}
namespace posd::service {

// Creates posd's activity, output, changelog and reference topics in the
// embedded cluster.
void create_service_topics(stream::embedded_cluster& cluster, const topic_names& topics, int partitions,
                           const reference_topics& reference = {});

// Every topic posd reads or writes, for creating them on a real cluster
// (posctl create-topics): the changelog and the reference topics compacted.
std::vector<stream::topic_spec> service_topic_specs(const topic_names& topics, const reference_topics& reference,
                                                   int partitions, int replication_factor);

// The topic names of a configuration.
topic_names service_topics(const ops::config& c);
reference_topics reference_topics_of(const ops::config& c);

// The number of partitions of `topic` (throws when it has none).
std::int32_t partitions_of(RdKafka::Handle& client, const std::string& topic);

// How posd's producers route a record to the activity topic: a control
// record (END_OF_DAY) to every one of `partitions`, anything else to its
// key's partition (-1: the murmur2 partitioner). One entry per message.
std::vector<std::int32_t> activity_partitions(const model::decoded_record& record, std::int32_t partitions);

// Produces every line of a JSON-lines activity file to `topic`, keyed by the
// record's account key; a control record (END_OF_DAY) goes to every
// partition. Returns the number of messages produced.
// `kafka`: librdkafka properties (bootstrap.servers, security...).
std::uint64_t produce_activity_file(const std::string& path, const std::map<std::string, std::string>& kafka,
                                    const std::string& topic);
std::uint64_t produce_activity_file(const std::string& path, const std::string& bootstrap, const std::string& topic);

// posd's service mode as configured: with no kafka.bootstrap.servers, an
// embedded cluster with its topics first. Produces refdata.dir and
// replay.file (when set) to their topics, loads the reference tables, and
// runs the Kafka service and the HTTP server until SIGINT/SIGTERM (or, with
// exit-when-done, until the replayed records are all accounted for).
// Prints `bootstrap.servers=...` and `http=ADDRESS:PORT` on stdout and logs
// the rest. Returns the process exit code.
int run_service(const ops::config& settings, const engine::engine_config& config);

} // namespace posd::service
