#pragma once
// embedded_cluster: librdkafka's mock cluster, in process, on loopback — the
// Kafka-protocol cluster posd starts when no brokers are configured, so a
// newcomer sees the whole flow without installing Kafka. Real clients (kcat,
// posctl, posd's own consumer and producers) connect to bootstrap_servers().
//
// The mock cluster speaks the Kafka protocol well enough for produce, fetch,
// consumer groups and offset commits, but it does not implement transactions
// or read_committed: nothing about exactly-once can be proved against it
// (issue 4 runs the real broker for that).
//
// Thread-safe after construction; the cluster lives until the object dies.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace posd::stream {

class embedded_cluster {
public:
    // Starts `brokers` mock brokers on loopback (ephemeral ports). Throws
    // std::runtime_error when librdkafka cannot start them.
    explicit embedded_cluster(int brokers = 1);
    ~embedded_cluster();
    embedded_cluster(const embedded_cluster&) = delete;
    embedded_cluster& operator=(const embedded_cluster&) = delete;

    // "127.0.0.1:PORT[,127.0.0.1:PORT...]"
    const std::string& bootstrap_servers() const { return bootstrap_; }

    // Creates a topic (the mock broker has no CreateTopics API). Throws
    // std::runtime_error on failure; an existing topic is an error too.
    void create_topic(std::string_view name, int partitions);

private:
    rd_kafka_s* handle_ = nullptr;
    rd_kafka_mock_cluster_s* cluster_ = nullptr;
    std::string bootstrap_;
};

} // namespace posd::stream
