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
// Histogram::Observe takes a mutex per call; per-record latencies go through
// observe_apply_latency / observe_end_to_end_latency, which sort a whole
// batch into buckets first and take the histogram's mutex once.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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
    // posd_records_rejected_total{reason}: dead letters by reason code. The
    // service calls it once per known reason at start, so every reason's
    // series exists (at 0) before its first reject.
    prometheus::Counter& records_rejected(std::string_view reason);
    // posd_refdata_rejected_total{reason}: reference records skipped because
    // they did not decode (or had a bad key), by reason code.
    prometheus::Counter& refdata_rejected(std::string_view reason);
    // posd_outputs_total{topic}: messages of committed transactions, by topic
    // (output events, dead letters and changelog records).
    prometheus::Counter& outputs(std::string_view topic);
    // posd_transaction_aborts_total: batches whose transaction failed and was
    // aborted (the batch is published again, README "A transaction that fails").
    prometheus::Counter& transaction_aborts() { return *transaction_aborts_; }
    // posd_end_of_day_records_applied_total{partition}: END_OF_DAY records applied.
    prometheus::Counter& end_of_day_records_applied(std::int32_t partition);
    // posd_business_date_seconds{partition}: the partition's business date as
    // the Unix time of its 00:00 UTC (forgotten on revoke, like the lag).
    prometheus::Gauge& business_date_seconds(std::int32_t partition);
    // posd_http_requests_total{route,status}: HTTP responses by route pattern
    // ("/positions/{key}", never the path: paths carry account numbers) and
    // status code; "unmatched" when no route matched or the request did not parse.
    prometheus::Counter& http_requests(std::string_view route, unsigned status);

    // posd_batch_seconds: decode + apply + store of one batch.
    prometheus::Histogram& batch_seconds() { return *batch_seconds_; }
    // posd_transaction_commit_seconds: one Kafka transaction commit.
    prometheus::Histogram& transaction_commit_seconds() { return *transaction_commit_seconds_; }
    // posd_apply_latency_seconds: engine time per record. The engine applies
    // a batch at once, so each record of a batch is observed once with the
    // batch's engine time divided by its record count.
    prometheus::Histogram& apply_latency_seconds() { return *apply_latency_seconds_; }
    void observe_apply_latency(double seconds_per_record, std::uint64_t records);
    // posd_end_to_end_latency_seconds: per input record, from its Kafka
    // timestamp to the commit of the transaction that carries its outputs
    // and offset (negative values, from skewed clocks, count as 0).
    prometheus::Histogram& end_to_end_latency_seconds() { return *end_to_end_latency_seconds_; }
    void observe_end_to_end_latency(std::span<const double> seconds);

    // posd_consumer_lag{partition}: high watermark minus the next offset.
    prometheus::Gauge& consumer_lag(std::int32_t partition);
    // posd_restore_progress_ratio{partition}: 0..1 while restoring, 1 when done.
    prometheus::Gauge& restore_progress_ratio(std::int32_t partition);
    // posd_restore_records_total: changelog records replayed into state. A
    // counter (it only rises), hence the _total name.
    prometheus::Counter& restore_records() { return *restore_records_; }
    // posd_state_size_bytes: RocksDB SST files plus memtables, sampled.
    prometheus::Gauge& state_size_bytes() { return *state_size_bytes_; }
    // posd_state_write_stalls_total and posd_state_write_stall_seconds_total:
    // counters that follow RocksDB's own cumulative stall count and stall
    // time (since the store opened), sampled: each call adds what RocksDB's
    // figures grew by since the last call (all of them when they went back,
    // a store opened again).
    void sample_state_write_stalls(std::uint64_t count, std::uint64_t micros);
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

    // posd_build_info{version,commit}: always 1; the labels say which build
    // runs (the project version and the git commit at CMake configure time).
    static std::string_view build_version();
    static std::string_view build_commit();

    // The Prometheus text exposition of every metric.
    std::string serialize() const;
    prometheus::Registry& registry() { return *registry_; }

    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

private:
    // The cached child of `family` with label=value, made on first use (locks mutex_).
    template <typename T>
    T& child(prometheus::Family<T>& family, std::map<std::string, T*, std::less<>>& cache, std::string_view label,
             std::string_view value);
    // Removes the child with that label value, if any (mutex_ held).
    template <typename T>
    static void forget(prometheus::Family<T>& family, std::map<std::string, T*, std::less<>>& cache,
                       std::string_view value);
    // Sorts the values into the bucket bounds and adds them to h at once.
    static void observe_all(prometheus::Histogram& h, const std::vector<double>& bounds,
                            std::span<const double> values, std::uint64_t each_times);

    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Counter>* consumed_family_;
    prometheus::Family<prometheus::Counter>* rejected_family_;
    prometheus::Family<prometheus::Gauge>* lag_family_;
    prometheus::Family<prometheus::Gauge>* restore_progress_family_;
    prometheus::Family<prometheus::Counter>* refdata_rejected_family_;
    prometheus::Family<prometheus::Counter>* outputs_family_;
    prometheus::Family<prometheus::Counter>* end_of_day_records_family_;
    prometheus::Family<prometheus::Gauge>* business_date_family_;
    prometheus::Family<prometheus::Counter>* http_requests_family_;

    prometheus::Counter* records_applied_;
    prometheus::Counter* records_duplicate_;
    prometheus::Histogram* batch_seconds_;
    prometheus::Histogram* transaction_commit_seconds_;
    prometheus::Histogram* apply_latency_seconds_;
    prometheus::Histogram* end_to_end_latency_seconds_;
    prometheus::Counter* restore_records_;
    prometheus::Gauge* state_size_bytes_;
    prometheus::Counter* state_write_stalls_;
    prometheus::Counter* state_write_stall_seconds_;
    prometheus::Counter* transaction_aborts_;
    std::vector<double> apply_bounds_;
    std::vector<double> end_to_end_bounds_;
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
    std::map<std::string, prometheus::Counter*, std::less<>> refdata_rejected_;
    std::map<std::string, prometheus::Counter*, std::less<>> outputs_;
    std::map<std::string, prometheus::Counter*, std::less<>> end_of_day_records_;
    std::map<std::string, prometheus::Gauge*, std::less<>> business_date_;
    std::map<std::string, prometheus::Counter*, std::less<>> http_requests_; // "route status"
    std::uint64_t stalls_seen_ = 0;        // RocksDB's count at the last sample
    std::uint64_t stall_micros_seen_ = 0;  // and its stall time
};

} // namespace posd::ops
