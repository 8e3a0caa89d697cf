#pragma once
// routing: which partition of the activity topic an activity record belongs
// to, for producers and for posd's own check on what it consumes.
//
// The activity topic is partitioned by the account key with Kafka's murmur2
// partitioner (SPEC §2, store/partitioner.h); a record that arrived
// elsewhere (kcat's or librdkafka's default consistent_random partitioner, a
// hand-picked partition) would split its account's state across two
// partitions, so it is rejected WRONG_PARTITION, naming the partition it
// belongs to, and never applied there. Control records (END_OF_DAY) go to
// every partition and records that already failed to decode keep their own
// reject; a message key that differs from the record's account key is the
// engine's KEY_MISMATCH.
//
// Pure functions; thread-safe.

#include "model/reason.h"
#include "model/records.h"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace posd::outputs {

// The reject for `record` (message key `key`) arriving on `partition` of a
// topic of `partitions` partitions, or nullopt when it may be applied there.
std::optional<model::reject> partition_check(const model::decoded_record& record, std::string_view key,
                                             std::int32_t partition, std::int32_t partitions);

// Where a producer sends a record: a control record (END_OF_DAY) to every
// one of `partitions`, anything else to its key's partition (-1: the
// producer's murmur2 partitioner). One entry per message.
std::vector<std::int32_t> activity_partitions(const model::decoded_record& record, std::int32_t partitions);

} // namespace posd::outputs
