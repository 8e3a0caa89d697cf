#pragma once
// routing: whether an activity record may be applied on the partition it
// arrived on. The activity topic is partitioned by the account key with
// Kafka's murmur2 partitioner (SPEC §2, store/partitioner.h); a record that
// arrived elsewhere (kcat's or librdkafka's default consistent_random
// partitioner, a hand-picked partition) would split its account's state
// across two partitions, so it is rejected WRONG_PARTITION, naming the
// partition it belongs to, and never applied there. Control records
// (END_OF_DAY) go to every partition and records that already failed to
// decode keep their own reject; a message key that differs from the
// record's account key is the engine's KEY_MISMATCH.
//
// Pure functions; thread-safe.

#include "model/reason.h"
#include "model/records.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace posd::service {

// The reject for `record` (message key `key`) arriving on `partition` of a
// topic of `partitions` partitions, or nullopt when it may be applied there.
std::optional<model::reject> partition_check(const model::decoded_record& record, std::string_view key,
                                             std::int32_t partition, std::int32_t partitions);

} // namespace posd::service
