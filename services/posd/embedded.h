#pragma once
// The Kafka modes of posd: against the embedded mock cluster (no brokers
// configured) or against real brokers.

#include "engine/config.h"
#include "engine/reference_data.h"
#include "kafka_service.h"
#include "stream/embedded_cluster.h"

#include <string>

namespace posd::service {

struct kafka_run_options {
    std::string bootstrap_servers; // empty: start the embedded cluster
    int partitions = 4;            // topics created in the embedded cluster
    std::string replay_file;       // produced to the activity topic first (empty: none)
    std::string state_dir;         // RocksDB directory (empty: a fresh temporary one)
    std::size_t batch_records = 500;
    bool exit_when_done = false;   // stop once every produced record is accounted for
    std::string http_address = "127.0.0.1";
    std::uint16_t http_port = 0;   // 0: any free port (printed as http=ADDRESS:PORT)
    bool quiet = false;
};

}
namespace RdKafka {
class Producer;
}
namespace posd::service {

// Creates posd's activity, output and changelog topics in the embedded cluster.
void create_service_topics(stream::embedded_cluster& cluster, const topic_names& topics, int partitions);

// The number of partitions of `topic` (throws when it has none).
std::int32_t partitions_of(RdKafka::Producer& producer, const std::string& topic);

// Produces every line of a JSON-lines activity file to `topic`, keyed by the
// record's account key; a control record (END_OF_DAY) goes to every
// partition. Returns the number of messages produced.
std::uint64_t produce_activity_file(const std::string& path, const std::string& bootstrap, const std::string& topic);

// Runs posd over Kafka until SIGINT/SIGTERM (or, with exit_when_done, until
// the replayed records are all applied, skipped or rejected). Prints
// `bootstrap.servers=...` on stdout, progress and the summary on stderr.
// Returns the process exit code.
int run_kafka(const kafka_run_options& options, const engine::engine_config& config,
              const engine::reference_data& refdata);

} // namespace posd::service
