// stream::batch_publisher in delivery_mode::transactional against a real
// Apache Kafka broker (scripts/kafka-broker.sh, started by the CTest fixture
// real_broker; tests/broker/README.md). These are the claims the embedded
// mock cluster cannot check, because it implements neither transactions nor
// read_committed:
//   - a batch's input offset commits through the transaction together with
//     the batch id as the offset's commit metadata (the recovery decision
//     reads it back with fetch_committed);
//   - read_committed consumers see a committed batch's messages and never
//     the messages of an aborted or abandoned transaction, which
//     read_uncommitted consumers do see;
//   - a second publisher with the same transactional id fences the first,
//     whose next publish throws fenced_error ("the partition has a newer
//     owner").
// Every test case makes its own topics, group and transactional ids, so the
// cases are independent and may run in parallel on one broker.

#include "real_broker_address.h"
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
#include <thread>
#include <vector>

using namespace posd::stream;
using namespace std::chrono_literals;

namespace {

constexpr auto timeout = 30s;

// A name no other test case or run uses: the broker may outlive a run.
std::string unique_name(const std::string& stem) {
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
};
template <class T> using c_ptr = std::unique_ptr<T, rd_kafka_deleter>;

const char* or_empty(const char* s) { return s ? s : ""; }

// Fails the test case with librdkafka's words when a transactional step failed.
void require_ok(RdKafka::Error* error, const char* step) {
    std::unique_ptr<RdKafka::Error> e(error);
    INFO(step << ": " << (e ? e->str() : std::string()));
    REQUIRE_FALSE(e);
}

// Creates a topic through the admin API (CreateTopics) and waits until the
// broker's metadata shows a leader for every partition.
void create_topic(const std::string& name, int partitions) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_servers().c_str(), err, sizeof err) ==
            RD_KAFKA_CONF_OK);
    c_ptr<rd_kafka_t> rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err)); // owns conf on success
    INFO(err);
    REQUIRE(rk);

    c_ptr<rd_kafka_NewTopic_t> topic(rd_kafka_NewTopic_new(name.c_str(), partitions, 1, err, sizeof err));
    REQUIRE(topic);
    c_ptr<rd_kafka_AdminOptions_t> options(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
    REQUIRE(rd_kafka_AdminOptions_set_operation_timeout(options.get(), 30'000, err, sizeof err) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
    c_ptr<rd_kafka_queue_t> queue(rd_kafka_queue_new(rk.get()));
    rd_kafka_NewTopic_t* topics[] = {topic.get()};
    rd_kafka_CreateTopics(rk.get(), topics, 1, options.get(), queue.get());
    c_ptr<rd_kafka_event_t> ev(rd_kafka_queue_poll(queue.get(), 60'000));
    REQUIRE(ev);
    INFO("CreateTopics " << name << ": " << or_empty(rd_kafka_event_error_string(ev.get())));
    REQUIRE(rd_kafka_event_error(ev.get()) == RD_KAFKA_RESP_ERR_NO_ERROR);
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(ev.get());
    REQUIRE(result);
    std::size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
    REQUIRE(n == 1);
    INFO(name << ": " << or_empty(rd_kafka_topic_result_error_string(results[0])));
    REQUIRE(rd_kafka_topic_result_error(results[0]) == RD_KAFKA_RESP_ERR_NO_ERROR);

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const rd_kafka_metadata_t* md = nullptr;
        bool ready = false;
        if (rd_kafka_metadata(rk.get(), 1, nullptr, &md, 5'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (int i = 0; i < md->topic_cnt; ++i) {
                const rd_kafka_metadata_topic_t& t = md->topics[i];
                if (name != t.topic || t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partition_cnt != partitions)
                    continue;
                ready = true;
                for (int p = 0; p < t.partition_cnt; ++p) ready = ready && t.partitions[p].leader >= 0;
            }
            rd_kafka_metadata_destroy(md);
        }
        if (ready) return;
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(100ms);
    }
}

std::unique_ptr<RdKafka::KafkaConsumer> make_consumer(const std::map<std::string, std::string>& extra) {
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

// posd's consumer-group member for `topic`: read_committed, no automatic
// commits (offsets commit only through the publisher's transactions). Waits
// until the group assigned it every partition and it has read `records`
// records, as posd has when it publishes the batch made of them.
std::unique_ptr<RdKafka::KafkaConsumer> join_group(const std::string& group, const std::string& topic,
                                                   std::size_t records) {
    auto k = make_consumer({{"group.id", group}, {"isolation.level", "read_committed"}});
    REQUIRE(k->subscribe({topic}) == RdKafka::ERR_NO_ERROR);
    std::size_t read = 0;
    bool assigned = false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!assigned || read < records) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::unique_ptr<RdKafka::Message> m(k->consume(100));
        if (m->err() == RdKafka::ERR_NO_ERROR) ++read;
        std::vector<RdKafka::TopicPartition*> parts;
        REQUIRE(k->assignment(parts) == RdKafka::ERR_NO_ERROR);
        assigned = !parts.empty();
        RdKafka::TopicPartition::destroy(parts);
    }
    CHECK(read == records);
    return k;
}

// Produces `n` input records to topic/partition (a plain idempotent producer,
// as the upstream systems would).
void produce_input(const std::string& topic, std::int32_t partition, int n) {
    auto p = make_producer({{"bootstrap.servers", bootstrap_servers()}});
    for (int i = 0; i < n; ++i) produce_message(*p, {topic, partition, "acct", "input-" + std::to_string(i), {}});
    REQUIRE(p->flush(30'000) == RdKafka::ERR_NO_ERROR);
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
std::vector<received> read_all(const std::string& topic, std::int32_t partition, const std::string& isolation,
                               std::size_t at_least) {
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

std::vector<std::string> values_of(const std::vector<received>& messages) {
    std::vector<std::string> v;
    for (const auto& m : messages) v.push_back(m.value);
    return v;
}

std::vector<kafka_message> batch_of(const std::string& topic, std::vector<std::string> values) {
    std::vector<kafka_message> batch;
    for (auto& v : values) batch.push_back({topic, 0, "acct", std::move(v), {}});
    return batch;
}

std::map<std::string, std::string> kafka_properties() { return {{"bootstrap.servers", bootstrap_servers()}}; }

} // namespace

TEST_CASE("real broker: a transactional publish commits the input offset with the batch id as its metadata") {
    const std::string in = unique_name("activity"), out = unique_name("out"), group = unique_name("posd");
    create_topic(in, 2);
    create_topic(out, 1);
    produce_input(in, 1, 5);
    auto member = join_group(group, in, 5);
    {
        batch_publisher pub(kafka_properties(), unique_name("posd.txn"), delivery_mode::transactional, *member);
        pub.init(timeout);
        CHECK_FALSE(fetch_committed(*member, in, 1, timeout).has_value());

        const std::vector<kafka_message> batch{
            {out, 0, "k1", "v1", {{"reason", "MALFORMED"}}},
            {out, 0, "k2", "v2", {}},
            {out, 0, "k3", "", {}, /*null_value=*/true}, // a tombstone
        };
        pub.publish(batch, in, 1, 3, "batch-1", timeout);

        auto committed = fetch_committed(*member, in, 1, timeout);
        REQUIRE(committed.has_value());
        CHECK(committed->offset == 3);
        // The open question of issue 4: does TxnOffsetCommit carry the
        // metadata through send_offsets_to_transaction?
        CHECK(committed->metadata == "batch-1");
        CHECK_FALSE(fetch_committed(*member, in, 0, timeout).has_value());

        // A batch with no output messages still commits its offset and id.
        pub.publish({}, in, 1, 5, "batch-2", timeout);
    }
    // What a restarted posd reads back: a new handle in the same group.
    auto restarted = make_consumer({{"group.id", group}, {"isolation.level", "read_committed"}});
    auto committed = fetch_committed(*restarted, in, 1, timeout);
    REQUIRE(committed.has_value());
    CHECK(committed->offset == 5);
    CHECK(committed->metadata == "batch-2");
    restarted->close();

    auto got = read_all(out, 0, "read_committed", 3);
    REQUIRE(got.size() == 3);
    CHECK(got[0].key == "k1");
    CHECK(got[0].value == "v1");
    CHECK(got[0].headers == std::vector<std::pair<std::string, std::string>>{{"reason", "MALFORMED"}});
    CHECK(got[1].key == "k2");
    CHECK(got[1].value == "v2");
    CHECK_FALSE(got[1].null_value);
    CHECK(got[2].key == "k3");
    CHECK(got[2].null_value);
    member->close();
}

TEST_CASE("real broker: read_committed never sees an aborted or abandoned transaction, read_uncommitted does") {
    const std::string in = unique_name("activity"), out = unique_name("out"), group = unique_name("posd");
    const std::string txn_id = unique_name("posd.txn");
    create_topic(in, 1);
    create_topic(out, 1);
    produce_input(in, 0, 3);
    auto member = join_group(group, in, 3);

    // A transaction that aborts: produced and on the broker's log (flushed),
    // then abort_transaction.
    {
        auto raw = make_producer({{"bootstrap.servers", bootstrap_servers()}, {"transactional.id", unique_name("raw")}});
        require_ok(raw->init_transactions(30'000), "init_transactions");
        require_ok(raw->begin_transaction(), "begin_transaction");
        for (const auto& m : batch_of(out, {"aborted-1", "aborted-2"})) produce_message(*raw, m);
        REQUIRE(raw->flush(30'000) == RdKafka::ERR_NO_ERROR);
        require_ok(raw->abort_transaction(30'000), "abort_transaction");
    }
    // A transaction whose process dies in the middle: posd's transactional
    // id, messages on the log, the input offset sent to the transaction with
    // a batch id, then the producer is destroyed without commit or abort.
    {
        auto dying = make_producer({{"bootstrap.servers", bootstrap_servers()}, {"transactional.id", txn_id}});
        require_ok(dying->init_transactions(30'000), "init_transactions");
        require_ok(dying->begin_transaction(), "begin_transaction");
        for (const auto& m : batch_of(out, {"abandoned-1"})) produce_message(*dying, m);
        REQUIRE(dying->flush(30'000) == RdKafka::ERR_NO_ERROR);
        std::vector<RdKafka::TopicPartition*> offsets{RdKafka::TopicPartition::create(in, 0, 2)};
        std::unique_ptr<RdKafka::ConsumerGroupMetadata> group_metadata(member->groupMetadata());
        require_ok(dying->send_offsets_to_transaction(offsets, group_metadata.get(), 30'000), "send_offsets_to_transaction");
        RdKafka::TopicPartition::destroy(offsets);
    }
    // The partition's next owner (posd restarted): init() fences the dead
    // producer and aborts its open transaction, then publishes a batch.
    batch_publisher pub(kafka_properties(), txn_id, delivery_mode::transactional, *member);
    pub.init(timeout);
    pub.publish(batch_of(out, {"committed-1", "committed-2"}), in, 0, 3, "batch-1", timeout);

    CHECK(values_of(read_all(out, 0, "read_committed", 2)) == std::vector<std::string>{"committed-1", "committed-2"});
    CHECK(values_of(read_all(out, 0, "read_uncommitted", 5)) ==
          std::vector<std::string>{"aborted-1", "aborted-2", "abandoned-1", "committed-1", "committed-2"});
    auto committed = fetch_committed(*member, in, 0, timeout);
    REQUIRE(committed.has_value());
    CHECK(committed->offset == 3); // never the abandoned transaction's 2
    CHECK(committed->metadata == "batch-1");
    member->close();
}

TEST_CASE("real broker: a second publisher with the same transactional id fences the first") {
    const std::string in = unique_name("activity"), out = unique_name("out"), group = unique_name("posd");
    const std::string txn_id = unique_name("posd.txn");
    create_topic(in, 1);
    create_topic(out, 1);
    produce_input(in, 0, 4);
    auto member = join_group(group, in, 4);

    batch_publisher first(kafka_properties(), txn_id, delivery_mode::transactional, *member);
    first.init(timeout);
    first.publish(batch_of(out, {"first-1"}), in, 0, 2, "batch-1", timeout);

    batch_publisher second(kafka_properties(), txn_id, delivery_mode::transactional, *member);
    second.init(timeout);

    // posd reads fenced_error as "the partition has a newer owner"; a
    // kafka_error would make it retry the batch instead.
    auto publish_fenced = [&](const std::string& value, const char* batch_id) {
        try {
            first.publish(batch_of(out, {value}), in, 0, 4, batch_id, timeout);
            FAIL("the fenced publisher published " << batch_id);
        } catch (const fenced_error& e) {
            SUCCEED("fenced_error: " << e.what());
        } catch (const kafka_error& e) {
            FAIL("kafka_error, not fenced_error: " << e.what());
        }
    };
    publish_fenced("first-2", "batch-2-first");
    publish_fenced("first-3", "batch-3-first"); // and it stays fenced

    second.publish(batch_of(out, {"second-2"}), in, 0, 4, "batch-2-second", timeout);
    auto committed = fetch_committed(*member, in, 0, timeout);
    REQUIRE(committed.has_value());
    CHECK(committed->offset == 4);
    CHECK(committed->metadata == "batch-2-second");
    CHECK(values_of(read_all(out, 0, "read_committed", 2)) == std::vector<std::string>{"first-1", "second-2"});
    member->close();
}

// A publish that fails before the commit must leave no open transaction
// behind: batch_publisher.h promises "the batch was not committed (aborted
// if a transaction was open). The caller may retry the same batch."
// Here produce() refuses a message on the spot (larger than
// message.max.bytes); publish() must abort, or every later publish fails
// with "begin: Operation not valid in state InTransaction".
TEST_CASE("real broker: after a publish fails, the same publisher publishes the next batch") {
    const std::string in = unique_name("activity"), out = unique_name("out"), group = unique_name("posd");
    create_topic(in, 1);
    create_topic(out, 1);
    produce_input(in, 0, 3);
    auto member = join_group(group, in, 3);
    batch_publisher pub(kafka_properties(), unique_name("posd.txn"), delivery_mode::transactional, *member);
    pub.init(timeout);

    auto bad = batch_of(out, {"bad-1", std::string(2 * 1024 * 1024, 'x')});
    CHECK_THROWS_AS(pub.publish(bad, in, 0, 2, "batch-bad", timeout), kafka_error);
    try {
        pub.publish(batch_of(out, {"good-1"}), in, 0, 3, "batch-good", timeout);
    } catch (const std::exception& e) {
        FAIL("the publish after a failed one threw: " << e.what());
    }
    auto committed = fetch_committed(*member, in, 0, timeout);
    REQUIRE(committed.has_value());
    CHECK(committed->offset == 3);
    CHECK(committed->metadata == "batch-good");
    CHECK(values_of(read_all(out, 0, "read_committed", 1)) == std::vector<std::string>{"good-1"});
    member->close();
}
