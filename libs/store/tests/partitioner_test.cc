// kafka_partition_for_key against Kafka's published murmur2 values and
// against librdkafka's own murmur2 partitioner (linked into this test only).

#include "store/partitioner.h"

#include "workload/random.h"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>

#include <string>

using namespace posd;
using namespace posd::store;

TEST_CASE("partitioner: murmur2 gives the Java client's values") {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    CHECK(kafka_murmur2("21") == -973932308);
    CHECK(kafka_murmur2("foobar") == -790332482);
    CHECK(kafka_murmur2("a-little-bit-long-string") == -985981536);
    CHECK(kafka_murmur2("a-little-bit-longer-string") == -1486304829);
    CHECK(kafka_murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971);
    CHECK(kafka_murmur2("abc") == 479470107);
}

TEST_CASE("partitioner: kafka_partition_for_key agrees with librdkafka's murmur2 partitioner") {
    workload::rng rng(42);
    std::string key;
    int checked = 0;
    for (int i = 0; i < 20'000; ++i) {
        // Account-like keys and arbitrary bytes, every length 0..40.
        key.clear();
        const auto length = rng.below(41);
        if (i % 2 == 0) {
            key = "ABCD|01|" + std::to_string(rng.below(1000)) + "|" + std::to_string(rng.below(100'000'000));
        } else {
            for (std::uint64_t k = 0; k < length; ++k) key.push_back(static_cast<char>(rng.below(256)));
        }
        for (std::int32_t partitions : {1, 2, 3, 12, 64, 1000, 2147483647}) {
            const std::int32_t expected =
                rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr, nullptr);
            const std::int32_t got = kafka_partition_for_key(key, partitions);
            if (got != expected) {
                INFO("key of " << key.size() << " bytes, " << partitions << " partitions");
                REQUIRE(got == expected);
            }
            REQUIRE(got >= 0);
            REQUIRE(got < partitions);
            ++checked;
        }
    }
    CHECK(checked == 140'000);
}
