#include "engine/engine.h"

#include "base/limits.h"
#include "base/vassert.h"
#include "batch.h"

namespace posd::engine {

batch_counts& batch_counts::operator+=(const batch_counts& o) {
    records_in += o.records_in;
    applied += o.applied;
    duplicates += o.duplicates;
    rejected += o.rejected;
    controls += o.controls;
    return *this;
}

partition_engine::partition_engine(std::int32_t partition, const engine_config& config,
                                   const reference_data& refdata)
    : partition_(partition), config_(config), refdata_(refdata) {}

write_set partition_engine::apply(state_reader& state, std::span<const input_record> records, timestamp now) {
    vassert(records.size() <= limits::batch_records_max, "batch of {} records over the limit {}",
            records.size(), limits::batch_records_max);
    detail::batch b(partition_, config_, refdata_, state, now);
    b.reserve(records.size());
    for (const auto& r : records) b.apply(r);
    return b.finish();
}

write_set partition_engine::revalue(state_reader& state, std::string_view cusip, timestamp now) {
    detail::batch b(partition_, config_, refdata_, state, now);
    b.revalue_cusip(cusip);
    return b.finish();
}

write_set partition_engine::revalue(state_reader& state, std::span<const std::string> cusips, timestamp now) {
    detail::batch b(partition_, config_, refdata_, state, now);
    for (const std::string& cusip : cusips) b.revalue_cusip(cusip);
    return b.finish();
}

} // namespace posd::engine
