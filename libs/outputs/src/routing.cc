#include "outputs/routing.h"

#include "store/partitioner.h"

#include <fmt/format.h>

namespace posd::outputs {

std::optional<model::reject> partition_check(const model::decoded_record& record, std::string_view key,
                                             std::int32_t partition, std::int32_t partitions) {
    const auto* activity = std::get_if<model::activity_record>(&record);
    if (!activity || partitions <= 0) return std::nullopt;
    if (key != activity->account().value()) return std::nullopt; // KEY_MISMATCH, the engine's
    const std::int32_t expected = store::kafka_partition_for_key(key, partitions);
    if (expected == partition) return std::nullopt;
    return model::reject{
        model::reason::wrong_partition, "",
        fmt::format("the account key belongs to partition {} of {} (Kafka's murmur2 partitioner), not {}; "
                    "produce with the murmur2 partitioner (librdkafka/kcat: partitioner=murmur2_random)",
                    expected, partitions, partition)};
}

std::vector<std::int32_t> activity_partitions(const model::decoded_record& record, std::int32_t partitions) {
    if (!std::holds_alternative<model::control_record>(record)) return {-1};
    std::vector<std::int32_t> all(static_cast<std::size_t>(partitions));
    for (std::int32_t p = 0; p < partitions; ++p) all[static_cast<std::size_t>(p)] = p;
    return all;
}

} // namespace posd::outputs
