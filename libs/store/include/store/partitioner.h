#pragma once
// Kafka's default partitioner for keyed records, as the Java client and
// librdkafka's "murmur2" / "murmur2_random" partitioners compute it:
// toPositive(murmur2(key bytes)) % partitions, with murmur2 seeded
// 0x9747b28c. The HTTP queries use it to find the partition (and so the
// store keyspace) of an account key, since producers key every activity
// record by its account key (SPEC §2).
//
// No librdkafka dependency: a plain function of the bytes. Thread-safe.

#include <cstdint>
#include <string_view>

namespace posd::store {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as the
// signed 32-bit value Java returns.
std::int32_t kafka_murmur2(std::string_view key);

// The partition of `key` among `partitions` (> 0): (murmur2 & 0x7fffffff) % partitions.
std::int32_t kafka_partition_for_key(std::string_view key, std::int32_t partitions);

} // namespace posd::store
