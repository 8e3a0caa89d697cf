#include "stream/batch_publisher.h"
#include "stream/embedded_cluster.h"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <memory>

using namespace posd::stream;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<RdKafka::KafkaConsumer> consumer_for(const embedded_cluster& c, const std::string& group) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    REQUIRE(conf->set("bootstrap.servers", c.bootstrap_servers(), err) == RdKafka::Conf::CONF_OK);
    REQUIRE(conf->set("group.id", group, err) == RdKafka::Conf::CONF_OK);
    REQUIRE(conf->set("enable.auto.commit", "false", err) == RdKafka::Conf::CONF_OK);
    // The mock cluster waits session.timeout.ms - 1000 on group changes.
    REQUIRE(conf->set("session.timeout.ms", "6000", err) == RdKafka::Conf::CONF_OK);
    std::unique_ptr<RdKafka::KafkaConsumer> k(RdKafka::KafkaConsumer::create(conf.get(), err));
    REQUIRE(k);
    return k;
}

struct received {
    std::string key, value;
    std::vector<std::pair<std::string, std::string>> headers;
    bool null_value = false;
};

// Reads topic/partition from the beginning until `n` messages arrived.
// Copies them out: librdkafka's handle cannot be destroyed while any of its
// messages is alive.
std::vector<received> read(const embedded_cluster& c, const std::string& topic, std::int32_t partition,
                           std::size_t n) {
    auto k = consumer_for(c, "reader");
    std::vector<RdKafka::TopicPartition*> parts{
        RdKafka::TopicPartition::create(topic, partition, RdKafka::Topic::OFFSET_BEGINNING)};
    REQUIRE(k->assign(parts) == RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(parts);
    std::vector<received> out;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> m(k->consume(200));
        if (m->err() != RdKafka::ERR_NO_ERROR) continue;
        received r{m->key() ? *m->key() : std::string(),
                   m->payload() ? std::string(static_cast<const char*>(m->payload()), m->len()) : std::string(), {},
                   m->payload() == nullptr};
        if (const RdKafka::Headers* h = m->headers())
            for (const auto& hd : h->get_all())
                r.headers.emplace_back(hd.key(), std::string(static_cast<const char*>(hd.value()), hd.value_size()));
        out.push_back(std::move(r));
    }
    k->close();
    return out;
}

} // namespace

TEST_CASE("at-least-once publishing: the messages land and the offset commits with the batch id") {
    embedded_cluster c;
    c.create_topic("activity", 2);
    c.create_topic("out", 2);
    auto member = consumer_for(c, "posd");
    batch_publisher pub({{"bootstrap.servers", c.bootstrap_servers()}}, "posd.activity.1",
                        delivery_mode::at_least_once, *member);
    pub.init(10s);
    CHECK_FALSE(fetch_committed(*member, "activity", 1, 10s).has_value());

    std::vector<kafka_message> batch{
        {"out", 1, "k1", "v1", {{"reason", "MALFORMED"}}},
        {"out", 1, "k2", "v2", {}},
        {"out", 1, "k3", "", {}, /*null_value=*/true}, // a tombstone
    };
    pub.publish(batch, "activity", 1, 42, "batch-7", 10s);

    auto committed = fetch_committed(*member, "activity", 1, 10s);
    REQUIRE(committed.has_value());
    CHECK(committed->offset == 42);
    CHECK(committed->metadata == "batch-7");
    CHECK_FALSE(fetch_committed(*member, "activity", 0, 10s).has_value());

    auto got = read(c, "out", 1, 3);
    REQUIRE(got.size() == 3);
    CHECK(got[0].key == "k1");
    CHECK(got[0].value == "v1");
    CHECK(got[0].headers == std::vector<std::pair<std::string, std::string>>{{"reason", "MALFORMED"}});
    CHECK(got[1].key == "k2");
    CHECK(got[1].headers.empty());
    CHECK_FALSE(got[1].null_value);
    CHECK(got[2].key == "k3");
    CHECK(got[2].null_value);
    member->close();
}

TEST_CASE("a bad librdkafka setting is reported with its key") {
    embedded_cluster c;
    auto member = consumer_for(c, "posd");
    CHECK_THROWS_WITH(batch_publisher({{"no.such.property", "1"}}, "t", delivery_mode::at_least_once, *member),
                      Catch::Contains("kafka.no.such.property"));
    member->close();
}
