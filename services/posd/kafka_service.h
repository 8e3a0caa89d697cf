#pragma once
// kafka_service: posd over Kafka — the consumer group on the activity topic,
// one engine per assigned partition over the RocksDB store, one producer for
// the instance, and the exactly-once protocol of README.md: flush cycles in
// which every partition with pending records commits its batch to RocksDB
// (WriteBatch with its outbox and batch id) and then all of them are
// published in one Kafka transaction (or, on the mock cluster, produce +
// flush + offset commit).
//
// Threading: run() is the only processing thread; it applies one flush
// cycle at a time, each partition strictly in offset order. Rebalance
// callbacks run on that thread (inside consume). counts() may be read from
// others.

#include "engine/config.h"
#include "engine/reference_data.h"
#include "engine/state.h"
#include "ops/metrics.h"
#include "query_routing.h"
#include "reference_tables.h"
#include "replay.h"
#include "store/store.h"
#include "stream/batch_publisher.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace posd::service {

struct kafka_service_settings {
    std::map<std::string, std::string> kafka; // librdkafka properties (bootstrap.servers, security...)
    std::map<std::string, std::string> consumer_kafka; // consumer-only properties on top
    topic_names topics;
    std::string group_id = "posd";
    std::string instance_id = "posd";
    stream::delivery_mode mode = stream::delivery_mode::transactional;
    // A flush cycle takes at most batch_records_max records (over all
    // partitions: one transaction), and its first record waits at most
    // batch_wait_max for more once the input has gone quiet (0: flush as
    // soon as what was consumed is taken; README.md, "Batches").
    std::size_t batch_records_max = 2'000;
    std::chrono::milliseconds batch_wait_max{0};
    std::chrono::milliseconds kafka_timeout{30'000};
    ops::service_metrics* metrics = nullptr; // optional; must outlive the service
    // The global reference tables, polled between batches; a price or
    // security change re-values the cusip's positions in every assigned
    // partition once `revalue_coalesce` has passed since the first change
    // not yet re-valued there. Optional (tests pass fixed reference data);
    // when set, the service's reference data must be tables->data().
    reference_tables* tables = nullptr;
    std::chrono::milliseconds revalue_coalesce{200};
    // Offsets gone from the log before they were applied (retention): stop
    // the partition (false) or skip to the log start (true); either way the
    // gap is logged and counted (input.gap, README.md "Operations").
    bool input_gap_skip = false;
    // Queries (query_routing.h), both optional: the view of the partitions
    // served here, updated on assignment, recovery and revocation; and this
    // instance's advertised HTTP address, carried in the consumer's
    // client.id (`<client.id or instance_id>@<address>`) for the other
    // instances' owner_directory.
    partition_view* view = nullptr;
    std::string advertised_http;
};

struct service_counts {
    engine::batch_counts records;
    std::uint64_t batches = 0;             // partition batches (a flush cycle has one per partition it applies)
    std::uint64_t outputs = 0;
    std::uint64_t republished_batches = 0;
    std::uint64_t restored_partitions = 0;
    std::uint64_t changelog_records_restored = 0;
    std::uint64_t partitions_assigned = 0; // now
    std::uint64_t revalue_batches = 0;
    std::uint64_t cusips_revalued = 0;     // summed over partitions
    std::uint64_t input_gaps = 0;          // gaps in the input (offsets gone before applied)
    std::uint64_t input_gap_records = 0;   // offsets those gaps span
    std::uint64_t partitions_stopped = 0;  // now: stopped at a gap (input.gap=stop)
};

class kafka_service {
public:
    // The store's options must name settings.topics.changelog as their
    // changelog_topic, so that a stored outbox carries the changelog records.
    kafka_service(kafka_service_settings settings, const engine::engine_config& config,
                  const engine::reference_data& refdata, store::rocks_store& store);
    ~kafka_service();
    kafka_service(const kafka_service&) = delete;
    kafka_service& operator=(const kafka_service&) = delete;

    // Consumes, applies and publishes until `stop` is set (then finishes
    // the batch in flight and leaves the group) or `until(counts)` is true.
    // Throws std::runtime_error on a configuration or Kafka setup failure.
    void run(const std::atomic<bool>& stop, const std::function<bool(const service_counts&)>& until = {});

    service_counts counts() const;
    // True when no assigned partition is being recovered (readyz): from the
    // subscription on, except between an assignment and its recovery.
    bool ready() const { return ready_.load(); }

private:
    struct impl;
    std::atomic<bool> ready_{false}; // before impl_, which refers to it
    std::unique_ptr<impl> impl_;
};

} // namespace posd::service
