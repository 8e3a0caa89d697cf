#include "stream/embedded_cluster.h"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

using posd::stream::embedded_cluster;

namespace {

std::unique_ptr<RdKafka::Conf> conf(const std::vector<std::pair<std::string, std::string>>& kv) {
    std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    for (auto& [k, v] : kv) REQUIRE(c->set(k, v, err) == RdKafka::Conf::CONF_OK);
    return c;
}

} // namespace

TEST_CASE("a record produced to the embedded cluster is consumed back from its partition") {
    embedded_cluster cluster;
    REQUIRE(cluster.bootstrap_servers().rfind("127.0.0.1:", 0) == 0);
    cluster.create_topic("t", 3);

    std::string err;
    auto pc = conf({{"bootstrap.servers", cluster.bootstrap_servers()}});
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(pc.get(), err));
    REQUIRE(producer);
    std::string key = "ABCD|01|123|45678", value = R"({"x":1})";
    REQUIRE(producer->produce("t", 2, RdKafka::Producer::RK_MSG_COPY, value.data(), value.size(), key.data(),
                              key.size(), 0, nullptr) == RdKafka::ERR_NO_ERROR);
    REQUIRE(producer->flush(10000) == RdKafka::ERR_NO_ERROR);

    auto cc = conf({{"bootstrap.servers", cluster.bootstrap_servers()}, {"group.id", "g"}});
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(cc.get(), err));
    REQUIRE(consumer);
    std::vector<RdKafka::TopicPartition*> parts{RdKafka::TopicPartition::create("t", 2, RdKafka::Topic::OFFSET_BEGINNING)};
    REQUIRE(consumer->assign(parts) == RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(parts);

    std::string got_key, got_value;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (got_value.empty() && std::chrono::steady_clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
        if (m->err() == RdKafka::ERR_NO_ERROR) {
            got_key = *m->key();
            got_value.assign(static_cast<const char*>(m->payload()), m->len());
            CHECK(m->partition() == 2);
        }
    }
    consumer->close();
    CHECK(got_key == key);
    CHECK(got_value == value);
}

TEST_CASE("creating a topic twice is an error with the topic's name") {
    embedded_cluster cluster;
    cluster.create_topic("dup", 1);
    CHECK_THROWS_WITH(cluster.create_topic("dup", 1), Catch::Contains("'dup'"));
}
