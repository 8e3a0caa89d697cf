#include "ops/metrics.h"

#include <prometheus/text_serializer.h>

#include <fmt/format.h>

namespace posd::ops {

namespace {

// Bucket upper bounds, in seconds, chosen around where each measurement is
// expected to fall: a batch of up to a few thousand records takes
// milliseconds; a transaction commit is a broker round trip or two; applying
// one record takes microseconds; end to end spans broker and batching delays.
prometheus::Histogram::BucketBoundaries batch_buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}
prometheus::Histogram::BucketBoundaries commit_buckets() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}
prometheus::Histogram::BucketBoundaries apply_buckets() {
    return {1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1};
}
prometheus::Histogram::BucketBoundaries end_to_end_buckets() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
}

} // namespace

service_metrics::service_metrics() : registry_(std::make_shared<prometheus::Registry>()) {
    auto& r = *registry_;
    consumed_family_ = &prometheus::BuildCounter()
                            .Name("posd_records_consumed_total")
                            .Help("Activity records read, by partition")
                            .Register(r);
    records_applied_ = &prometheus::BuildCounter()
                            .Name("posd_records_applied_total")
                            .Help("Activity records applied to state")
                            .Register(r)
                            .Add({});
    records_duplicate_ = &prometheus::BuildCounter()
                              .Name("posd_records_duplicate_total")
                              .Help("Activity records skipped as already applied (activityId or offset)")
                              .Register(r)
                              .Add({});
    rejected_family_ = &prometheus::BuildCounter()
                            .Name("posd_records_rejected_total")
                            .Help("Activity records rejected to the dead-letter topic, by reason code")
                            .Register(r);
    batch_seconds_ = &prometheus::BuildHistogram()
                          .Name("posd_batch_seconds")
                          .Help("Time to decode, apply and store one batch")
                          .Register(r)
                          .Add({}, batch_buckets());
    transaction_commit_seconds_ = &prometheus::BuildHistogram()
                                       .Name("posd_transaction_commit_seconds")
                                       .Help("Time to commit one Kafka transaction")
                                       .Register(r)
                                       .Add({}, commit_buckets());
    apply_latency_seconds_ = &prometheus::BuildHistogram()
                                  .Name("posd_apply_latency_seconds")
                                  .Help("Engine time to apply one record")
                                  .Register(r)
                                  .Add({}, apply_buckets());
    end_to_end_latency_seconds_ = &prometheus::BuildHistogram()
                                       .Name("posd_end_to_end_latency_seconds")
                                       .Help("Time from a record's eventTime to the commit of its outputs")
                                       .Register(r)
                                       .Add({}, end_to_end_buckets());
    lag_family_ = &prometheus::BuildGauge()
                       .Name("posd_consumer_lag")
                       .Help("Activity records not yet consumed (high watermark - next offset), by partition")
                       .Register(r);
    restore_progress_family_ = &prometheus::BuildGauge()
                                    .Name("posd_restore_progress_ratio")
                                    .Help("Share of the state restore done (0..1), by partition")
                                    .Register(r);
    restore_records_ = &prometheus::BuildCounter()
                            .Name("posd_restore_records_total")
                            .Help("Changelog records replayed into state during restores")
                            .Register(r)
                            .Add({});
    state_size_bytes_ = &prometheus::BuildGauge()
                             .Name("posd_state_size_bytes")
                             .Help("Size of the RocksDB state, bytes")
                             .Register(r)
                             .Add({});
    state_write_stalls_ = &prometheus::BuildGauge()
                               .Name("posd_state_write_stalls")
                               .Help("RocksDB write stalls, as last sampled from RocksDB")
                               .Register(r)
                               .Add({});
    partitions_assigned_ = &prometheus::BuildGauge()
                                .Name("posd_partitions_assigned")
                                .Help("Activity partitions assigned to this instance")
                                .Register(r)
                                .Add({});
    ready_ = &prometheus::BuildGauge()
                  .Name("posd_ready")
                  .Help("1 when every assigned partition is restored and serving, else 0")
                  .Register(r)
                  .Add({});
    input_gaps_family_ = &prometheus::BuildCounter()
                              .Name("posd_input_gaps_total")
                              .Help("Gaps in the activity input (offsets gone from the log before they were applied), by partition")
                              .Register(r);
    input_gap_records_family_ = &prometheus::BuildCounter()
                                     .Name("posd_input_gap_records_total")
                                     .Help("Activity offsets lost in input gaps (never applied), by partition")
                                     .Register(r);
    partitions_stopped_ = &prometheus::BuildGauge()
                               .Name("posd_partitions_stopped")
                               .Help("Assigned partitions stopped at an input gap (input.gap=stop) and not applied further")
                               .Register(r)
                               .Add({});
}

template <typename T>
T& service_metrics::child(prometheus::Family<T>& family, std::map<std::string, T*, std::less<>>& cache,
                          std::string_view label, std::string_view value) {
    if (auto it = cache.find(value); it != cache.end()) return *it->second;
    T& made = family.Add({{std::string(label), std::string(value)}});
    cache.emplace(std::string(value), &made);
    return made;
}

prometheus::Counter& service_metrics::records_consumed(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    return child(*consumed_family_, consumed_, "partition", fmt::format("{}", partition));
}

prometheus::Counter& service_metrics::records_rejected(std::string_view reason) {
    std::lock_guard lock(mutex_);
    return child(*rejected_family_, rejected_, "reason", reason);
}

prometheus::Gauge& service_metrics::consumer_lag(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    return child(*lag_family_, lag_, "partition", fmt::format("{}", partition));
}

prometheus::Gauge& service_metrics::restore_progress_ratio(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    return child(*restore_progress_family_, restore_progress_, "partition", fmt::format("{}", partition));
}

prometheus::Counter& service_metrics::input_gaps(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    return child(*input_gaps_family_, input_gaps_, "partition", fmt::format("{}", partition));
}

prometheus::Counter& service_metrics::input_gap_records(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    return child(*input_gap_records_family_, input_gap_records_, "partition", fmt::format("{}", partition));
}

void service_metrics::forget_partition(std::int32_t partition) {
    std::string label = fmt::format("{}", partition);
    std::lock_guard lock(mutex_);
    if (auto it = lag_.find(label); it != lag_.end()) {
        lag_family_->Remove(it->second);
        lag_.erase(it);
    }
    if (auto it = restore_progress_.find(label); it != restore_progress_.end()) {
        restore_progress_family_->Remove(it->second);
        restore_progress_.erase(it);
    }
}

std::string service_metrics::serialize() const {
    return prometheus::TextSerializer().Serialize(registry_->Collect());
}

} // namespace posd::ops
