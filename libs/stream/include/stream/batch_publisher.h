#pragma once
// batch_publisher: step 4 of the exactly-once protocol for one input
// partition (services/posd/README.md) — a batch's Kafka messages and the
// input offset after it, committed together.
//
// - transactional (real brokers): one producer per input partition with a
//   stable transactional.id; init() calls init_transactions, which fences
//   any previous owner of that id. publish() = begin, produce, send the
//   offset (commit metadata = batch id) to the transaction, commit. The
//   outputs become visible to read_committed consumers exactly when the
//   offset commits.
// - at_least_once (the embedded mock cluster, which implements neither
//   transactions nor read_committed): produce, flush, then commit the offset
//   (with the batch id) through the consumer. State stays exactly-once (the
//   store's offsets and applied ids); a crash between flush and commit can
//   repeat a batch's outputs.
//
// Offsets go through librdkafka's C API because the C++ TopicPartition of
// librdkafka 2.0 has no commit metadata.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace RdKafka {
class Conf;
class KafkaConsumer;
class Producer;
} // namespace RdKafka

namespace posd::stream {

struct kafka_message {
    std::string topic;
    std::int32_t partition = -1; // -1: the producer's partitioner (by key)
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
    bool null_value = false; // a tombstone (compacted changelog deletes); `value` is empty then
};

enum class delivery_mode : std::uint8_t { transactional, at_least_once };

// The partition has a newer owner (fenced producer, or the transaction can
// no longer commit): stop processing it; its state stays in the store.
struct fenced_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Any other Kafka failure; the batch was not committed (aborted if a
// transaction was open). The caller may retry the same batch.
struct kafka_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// librdkafka settings as a Conf; a setting librdkafka refuses throws
// kafka_error naming it as posd's configuration does ("kafka.<key>: ...").
std::unique_ptr<RdKafka::Conf> make_conf(const std::map<std::string, std::string>& properties);

// A producer as posd's producers all are: murmur2 partitioning (the Java
// client's, which the store's queries assume; `properties` may override it)
// and idempotence (always on).
std::unique_ptr<RdKafka::Producer> make_producer(std::map<std::string, std::string> properties);

// Produces one message (copied), waiting while the local queue is full.
// Throws kafka_error on any other failure.
void produce_message(RdKafka::Producer& producer, const kafka_message& m);

struct committed_offset {
    std::int64_t offset = 0;
    std::string metadata;
};

// The group's committed offset of one partition (nullopt when none).
std::optional<committed_offset> fetch_committed(RdKafka::KafkaConsumer& consumer, const std::string& topic,
                                                std::int32_t partition, std::chrono::milliseconds timeout);

class batch_publisher {
public:
    // `properties` are librdkafka settings (bootstrap.servers, security...).
    // The consumer is the group member whose offsets are committed.
    batch_publisher(const std::map<std::string, std::string>& properties, std::string transactional_id,
                    delivery_mode mode, RdKafka::KafkaConsumer& consumer);
    ~batch_publisher();
    batch_publisher(const batch_publisher&) = delete;
    batch_publisher& operator=(const batch_publisher&) = delete;

    // Fences earlier owners (transactional mode). Throws kafka_error.
    void init(std::chrono::milliseconds timeout);

    // Publishes one batch and commits `next_offset` of the input partition
    // with `batch_id` as its metadata. Throws fenced_error or kafka_error.
    void publish(std::span<const kafka_message> messages, const std::string& input_topic,
                 std::int32_t input_partition, std::int64_t next_offset, std::string_view batch_id,
                 std::chrono::milliseconds timeout);

    delivery_mode mode() const { return mode_; }

private:
    std::unique_ptr<RdKafka::Producer> producer_;
    delivery_mode mode_;
    RdKafka::KafkaConsumer& consumer_;
};

} // namespace posd::stream
