#pragma once
// Topic administration against real brokers (librdkafka's C admin API):
// posd itself creates no topics on a real cluster; operators, posctl and
// the test harnesses create them with this.

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace RdKafka {
class Handle;
}

namespace posd::stream {

struct topic_spec {
    std::string name;
    int partitions = 1;
    int replication_factor = 1;
    std::map<std::string, std::string> config; // e.g. cleanup.policy=compact
};

struct created_topic {
    std::string name;
    bool created = false; // false: it existed already
};

// Creates the topics that do not exist yet and waits until every partition
// of each has a leader. A topic that exists is left as it is (its partition
// count is not checked against the spec). `properties`: librdkafka settings
// (bootstrap.servers, security...). Throws kafka_error on any other failure.
std::vector<created_topic> create_topics(const std::map<std::string, std::string>& properties,
                                         std::span<const topic_spec> topics, std::chrono::milliseconds timeout);

// Each topic's max.message.bytes (DescribeConfigs), the largest record
// batch the broker accepts on it. Throws kafka_error when the request fails
// (no such topic, no DescribeConfigs permission, a broker without the API).
std::map<std::string, std::int64_t> topic_max_message_bytes(const std::map<std::string, std::string>& properties,
                                                            std::span<const std::string> topics,
                                                            std::chrono::milliseconds timeout);

// One member of a consumer group as the group coordinator describes it.
struct group_member {
    std::string client_id;
    std::string host; // the client's address as the broker sees it
    struct partition {
        std::string topic;
        std::int32_t partition = 0;
    };
    std::vector<partition> assignment;
};

// The members of consumer group `group` and the partitions assigned to each
// (the group coordinator's DescribeGroups, through librdkafka's
// rd_kafka_list_groups; see admin.cc for why not DescribeConsumerGroups),
// asked on `client`'s connections. An empty group (or one that does not
// exist) has no members. Throws kafka_error when the request fails or no
// broker answers within `timeout`.
std::vector<group_member> describe_group(RdKafka::Handle& client, const std::string& group,
                                         std::chrono::milliseconds timeout);

// The number of partitions of `topic`, from the metadata `client` (any
// producer or consumer) fetches. Throws kafka_error when it has none.
std::int32_t partitions_of(RdKafka::Handle& client, const std::string& topic);

} // namespace posd::stream
