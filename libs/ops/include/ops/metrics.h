#pragma once
// service_metrics: posd's Prometheus probe. It owns a prometheus-cpp registry
// and every metric family of the service, and hands out the labelled
// children (a counter, gauge or histogram) that the Kafka, store and HTTP
// code updates. This file and metrics.cc are the only ones that include
// prometheus-cpp headers for the service's own metrics: other modules call
// the plain methods of the returned children (Increment, Set, Observe).
//
// Lifecycle: create one at start-up, before the threads that update it, and
// destroy it after they have stopped. serialize() renders the Prometheus text
// exposition format (version 0.0.4) for GET /metrics.
//
// Threading: every method is thread-safe. Children are created on first use
// under a mutex and cached, so a partition thread can fetch its counters once
// (at assignment) and then update them with atomics only. References stay
// valid for the life of the object, except those forget_partition() drops.
// Histogram::Observe takes a mutex per call; for per-record latencies,
// aggregate a batch locally and use ObserveMultiple.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace posd::ops {

class service_metrics {
public:
    service_metrics();
    service_metrics(const service_metrics&) = delete;
    service_metrics& operator=(const service_metrics&) = delete;

    // posd_records_consumed_total{partition}: records read from the activity topic.
    prometheus::Counter& records_consumed(std::int32_t partition);
    // posd_records_applied_total: records that changed state.
    prometheus::Counter& records_applied() { return *records_applied_; }
    // posd_records_duplicate_total: records skipped as already applied.
    prometheus::Counter& records_duplicate() { return *records_duplicate_; }
    // posd_records_rejected_total{reason}: dead letters by reason code.
    prometheus::Counter& records_rejected(std::string_view reason);

    // posd_batch_seconds: decode + apply + store of one batch.
    prometheus::Histogram& batch_seconds() { return *batch_seconds_; }
    // posd_transaction_commit_seconds: one Kafka transaction commit.
    prometheus::Histogram& transaction_commit_seconds() { return *transaction_commit_seconds_; }
    // posd_apply_latency_seconds: engine time per record.
    prometheus::Histogram& apply_latency_seconds() { return *apply_latency_seconds_; }
    // posd_end_to_end_latency_seconds: commit time minus the record's eventTime.
    prometheus::Histogram& end_to_end_latency_seconds() { return *end_to_end_latency_seconds_; }

    // posd_consumer_lag{partition}: high watermark minus the next offset.
    prometheus::Gauge& consumer_lag(std::int32_t partition);
    // posd_restore_progress_ratio{partition}: 0..1 while restoring, 1 when done.
    prometheus::Gauge& restore_progress_ratio(std::int32_t partition);
    // posd_restore_records_total: changelog records replayed into state. A
    // counter (it only rises), hence the _total name.
    prometheus::Counter& restore_records() { return *restore_records_; }
    // posd_state_size_bytes: RocksDB SST files plus memtables, sampled.
    prometheus::Gauge& state_size_bytes() { return *state_size_bytes_; }
    // posd_state_write_stalls: RocksDB write stalls as RocksDB reports them, sampled.
    prometheus::Gauge& state_write_stalls() { return *state_write_stalls_; }
    // posd_partitions_assigned: activity partitions this instance owns.
    prometheus::Gauge& partitions_assigned() { return *partitions_assigned_; }
    // posd_ready: 1 when every assigned partition is restored, else 0.
    prometheus::Gauge& ready() { return *ready_; }

    // Gaps in the input (records deleted by retention before they were
    // applied; services/posd/README.md): posd_input_gaps_total{partition}
    // counts the gaps, posd_input_gap_records_total{partition} the offsets
    // they span, posd_partitions_stopped the partitions stopped at a gap
    // (input.gap=stop) and not applied further.
    prometheus::Counter& input_gaps(std::int32_t partition);
    prometheus::Counter& input_gap_records(std::int32_t partition);
    prometheus::Gauge& partitions_stopped() { return *partitions_stopped_; }

    // Removes the partition's lag and restore-progress gauges (on revoke), so
    // a partition this instance no longer owns reports nothing. Its consumed
    // counter stays (counters must not go back). Call only after the thread
    // that held references to those gauges has let go of them.
    void forget_partition(std::int32_t partition);

    // The Prometheus text exposition of every metric.
    std::string serialize() const;
    prometheus::Registry& registry() { return *registry_; }

    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

private:
    template <typename T>
    static T& child(prometheus::Family<T>& family, std::map<std::string, T*, std::less<>>& cache,
                    std::string_view label, std::string_view value);

    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Counter>* consumed_family_;
    prometheus::Family<prometheus::Counter>* rejected_family_;
    prometheus::Family<prometheus::Gauge>* lag_family_;
    prometheus::Family<prometheus::Gauge>* restore_progress_family_;

    prometheus::Counter* records_applied_;
    prometheus::Counter* records_duplicate_;
    prometheus::Histogram* batch_seconds_;
    prometheus::Histogram* transaction_commit_seconds_;
    prometheus::Histogram* apply_latency_seconds_;
    prometheus::Histogram* end_to_end_latency_seconds_;
    prometheus::Counter* restore_records_;
    prometheus::Gauge* state_size_bytes_;
    prometheus::Gauge* state_write_stalls_;
    prometheus::Gauge* partitions_assigned_;
    prometheus::Gauge* ready_;
    prometheus::Family<prometheus::Counter>* input_gaps_family_;
    prometheus::Family<prometheus::Counter>* input_gap_records_family_;
    prometheus::Gauge* partitions_stopped_;

    std::mutex mutex_; // guards the caches below
    std::map<std::string, prometheus::Counter*, std::less<>> consumed_;
    std::map<std::string, prometheus::Counter*, std::less<>> rejected_;
    std::map<std::string, prometheus::Gauge*, std::less<>> lag_;
    std::map<std::string, prometheus::Gauge*, std::less<>> restore_progress_;
    std::map<std::string, prometheus::Counter*, std::less<>> input_gaps_;
    std::map<std::string, prometheus::Counter*, std::less<>> input_gap_records_;
};

} // namespace posd::ops
