#pragma once
// What the tests against the real broker share: the broker's address, names
// no other run uses, and plain readers (tests/broker/README.md).

#include "stream/batch_publisher.h"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace real_broker {

using namespace posd::stream;
using namespace std::chrono_literals;

inline constexpr auto timeout = 30s;

// The broker's address: $POSD_REAL_BROKER_BOOTSTRAP_FILE names the file the
// harness writes (to run these tests against a broker started by hand), else
// the fixture's file under the build tree.
inline const std::string& bootstrap_servers() {
    static const std::string servers = [] {
        const char* env = std::getenv("POSD_REAL_BROKER_BOOTSTRAP_FILE");
        const std::string path = env && *env ? env : POSD_REAL_BROKER_BOOTSTRAP_FILE;
        std::ifstream in(path);
        std::string s;
        in >> s;
        if (s.empty())
            throw std::runtime_error("no broker address in " + path +
                                     " (start one: scripts/kafka-broker.sh start DIR)");
        return s;
    }();
    return servers;
}

// A name no other test case or run uses: the broker may outlive a run.
inline std::string unique_name(const std::string& stem) {
    static std::atomic<int> n{0};
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return stem + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count()) + "-" +
           std::to_string(++n);
}

struct rd_kafka_deleter {
    void operator()(rd_kafka_t* p) const { rd_kafka_destroy(p); }
    void operator()(rd_kafka_queue_t* p) const { rd_kafka_queue_destroy(p); }
    void operator()(rd_kafka_AdminOptions_t* p) const { rd_kafka_AdminOptions_destroy(p); }
    void operator()(rd_kafka_event_t* p) const { rd_kafka_event_destroy(p); }
    void operator()(rd_kafka_NewTopic_t* p) const { rd_kafka_NewTopic_destroy(p); }
    void operator()(rd_kafka_DeleteRecords_t* p) const { rd_kafka_DeleteRecords_destroy(p); }
    void operator()(rd_kafka_topic_partition_list_t* p) const { rd_kafka_topic_partition_list_destroy(p); }
};
template <class T> using c_ptr = std::unique_ptr<T, rd_kafka_deleter>;

inline const char* or_empty(const char* s) { return s ? s : ""; }

inline std::unique_ptr<RdKafka::KafkaConsumer> make_consumer(const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> properties{{"bootstrap.servers", bootstrap_servers()},
                                                  {"enable.auto.commit", "false"},
                                                  {"auto.offset.reset", "earliest"}};
    for (const auto& [k, v] : extra) properties[k] = v;
    auto conf = make_conf(properties);
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> k(RdKafka::KafkaConsumer::create(conf.get(), err));
    INFO(err);
    REQUIRE(k);
    return k;
}

struct received {
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
    bool null_value = false;
};

// Everything a reader with `isolation` finds in topic/partition once it has
// seen at least `at_least` messages and then reached the end of the
// partition (for read_committed, the last stable offset). Waits for
// `at_least` because a committed transaction's markers are written after
// commit_transaction returns.
inline std::vector<received> read_all(const std::string& topic, std::int32_t partition,
                                      const std::string& isolation, std::size_t at_least) {
    auto k = make_consumer(
        {{"group.id", unique_name("reader")}, {"isolation.level", isolation}, {"enable.partition.eof", "true"}});
    std::vector<RdKafka::TopicPartition*> parts{
        RdKafka::TopicPartition::create(topic, partition, RdKafka::Topic::OFFSET_BEGINNING)};
    REQUIRE(k->assign(parts) == RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(parts);
    std::vector<received> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        INFO("reading " << topic << "/" << partition << " " << isolation << ": " << out.size() << " of at least "
                        << at_least);
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::unique_ptr<RdKafka::Message> m(k->consume(200));
        if (m->err() == RdKafka::ERR__PARTITION_EOF && out.size() >= at_least) break;
        if (m->err() != RdKafka::ERR_NO_ERROR) continue;
        received r{m->key() ? *m->key() : std::string(),
                   m->payload() ? std::string(static_cast<const char*>(m->payload()), m->len()) : std::string(),
                   {},
                   m->payload() == nullptr};
        if (const RdKafka::Headers* h = m->headers())
            for (const auto& hd : h->get_all())
                r.headers.emplace_back(hd.key(), std::string(static_cast<const char*>(hd.value()), hd.value_size()));
        out.push_back(std::move(r));
    }
    k->close();
    return out;
}

} // namespace real_broker
