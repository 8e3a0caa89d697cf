#pragma once
// batch_publisher: step 4 of the exactly-once protocol
// (services/posd/README.md) — the Kafka messages of one flush cycle's
// batches and, for each input partition of the cycle, the input offset after
// its batch, committed together.
//
// - transactional (real brokers): one producer per posd instance with a
//   stable transactional.id (exactly-once v2, KIP-447); init() calls
//   init_transactions, which fences the previous incarnation of that id (the
//   same instance restarted) and aborts its open transaction. publish() =
//   begin, produce, send every partition's offset (commit metadata = that
//   partition's batch id) to the transaction with the consumer's group
//   metadata, commit. The group coordinator refuses offsets sent with a
//   stale group generation, which is what fences a zombie whose partitions
//   moved to another instance; and publish() refuses to send offsets once
//   the consumer knows it is out of its group (no member id, or its
//   assignment lost), which the coordinator would accept as if from the old
//   group-id-only API. Call publish() from the thread that polls the
//   consumer. The outputs become visible to read_committed consumers
//   exactly when the offsets commit.
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

// One input partition's part of a publish: the offset after its batch and
// the batch's id, committed as the offset's metadata.
struct partition_offset {
    std::int32_t partition = 0;
    std::int64_t next_offset = 0;
    std::string batch_id;
};

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

    // Publishes `messages` and commits every partition's offset of
    // `offsets` (input_topic's partitions, each at most once) with its batch
    // id as metadata, all in one transaction (at-least-once: produce, flush,
    // then one offset commit). Throws fenced_error or kafka_error; after a
    // kafka_error nothing of the call is committed and the caller may
    // publish the same messages and offsets again.
    void publish(std::span<const kafka_message> messages, const std::string& input_topic,
                 std::span<const partition_offset> offsets, std::chrono::milliseconds timeout);
    // One partition's batch: publish(messages, input_topic, {{p, next_offset, batch_id}}, timeout).
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
