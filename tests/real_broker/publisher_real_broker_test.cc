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

#include "real_broker_support.h"
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
using namespace real_broker;
using namespace std::chrono_literals;

namespace {

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

// ---- exactly-once v2: one producer per instance, one transaction over several partitions ----

TEST_CASE("real broker: one transaction commits the offsets of several partitions, each with its own batch id") {
    const std::string in = unique_name("activity"), out = unique_name("out"), group = unique_name("posd");
    create_topic(in, 3);
    create_topic(out, 1);
    for (std::int32_t p = 0; p < 3; ++p) produce_input(in, p, 4);
    auto member = join_group(group, in, 12);
    batch_publisher pub(kafka_properties(), unique_name("posd.instance"), delivery_mode::transactional, *member);
    pub.init(timeout);
    const std::vector<partition_offset> offsets{{0, 4, "i-1-0-1"}, {1, 2, "i-1-1-1"}, {2, 3, "i-1-2-1"}};
    pub.publish(batch_of(out, {"p0", "p1", "p2"}), in, offsets, timeout);
    for (const partition_offset& o : offsets) {
        auto committed = fetch_committed(*member, in, o.partition, timeout);
        INFO("partition " << o.partition);
        REQUIRE(committed.has_value());
        CHECK(committed->offset == o.next_offset);
        CHECK(committed->metadata == o.batch_id);
    }
    // The next cycle has batches of two of the partitions only: the third's
    // commit stays as it was.
    pub.publish(batch_of(out, {"p0b", "p2b"}), in, std::vector<partition_offset>{{0, 4, "i-1-0-2"}, {2, 4, "i-1-2-2"}},
                timeout);
    CHECK(fetch_committed(*member, in, 0, timeout)->metadata == "i-1-0-2");
    CHECK(fetch_committed(*member, in, 1, timeout)->metadata == "i-1-1-1");
    CHECK(fetch_committed(*member, in, 2, timeout)->offset == 4);
    CHECK(values_of(read_all(out, 0, "read_committed", 5)) == std::vector<std::string>{"p0", "p1", "p2", "p0b", "p2b"});
    member->close();
}

// What the service does after a failed cycle: every partition of it is
// unpublished, and the same messages and offsets are published again.
TEST_CASE("real broker: a failed transaction over several partitions commits none of them, and its republish commits all") {
    const std::string in = unique_name("activity"), out = unique_name("out"), group = unique_name("posd");
    create_topic(in, 2);
    create_topic(out, 1);
    for (std::int32_t p = 0; p < 2; ++p) produce_input(in, p, 3);
    auto member = join_group(group, in, 6);
    batch_publisher pub(kafka_properties(), unique_name("posd.instance"), delivery_mode::transactional, *member);
    pub.init(timeout);
    pub.publish(batch_of(out, {"first"}), in, std::vector<partition_offset>{{0, 1, "b-0-1"}, {1, 1, "b-1-1"}},
                timeout);

    const std::vector<partition_offset> cycle{{0, 3, "b-0-2"}, {1, 3, "b-1-2"}};
    auto bad = batch_of(out, {"lost-1", std::string(2 * 1024 * 1024, 'x')}); // refused: too large
    CHECK_THROWS_AS(pub.publish(bad, in, cycle, timeout), kafka_error);
    for (std::int32_t p = 0; p < 2; ++p) {
        auto committed = fetch_committed(*member, in, p, timeout);
        REQUIRE(committed.has_value());
        CHECK(committed->offset == 1);
        CHECK(committed->metadata == "b-" + std::to_string(p) + "-1");
    }
    pub.publish(batch_of(out, {"again-0", "again-1"}), in, cycle, timeout);
    for (std::int32_t p = 0; p < 2; ++p) {
        auto committed = fetch_committed(*member, in, p, timeout);
        REQUIRE(committed.has_value());
        CHECK(committed->offset == 3);
        CHECK(committed->metadata == "b-" + std::to_string(p) + "-2");
    }
    CHECK(values_of(read_all(out, 0, "read_committed", 3)) == std::vector<std::string>{"first", "again-0", "again-1"});
    member->close();
}

// A zombie: a member that stopped polling for longer than
// max.poll.interval.ms is out of the group (librdkafka leaves the group and
// forgets its member id). Its publisher must not commit, and a member of
// the group takes over from the offset it committed before. On this path
// librdkafka keeps the old generation, so the coordinator itself refuses
// the offsets (UNKNOWN_MEMBER_ID) and the publisher's own guard (no member
// id, or a lost assignment) is not what stops it here: the guard is for a
// member left with generation -1 and no member id, which the coordinator
// accepts from anyone (batch_publisher.cc); no test reaches that state.
TEST_CASE("real broker: a member thrown out of its group cannot commit offsets through its publisher") {
    const std::string in = unique_name("activity"), out = unique_name("out"), group = unique_name("posd");
    create_topic(in, 1);
    create_topic(out, 1);
    produce_input(in, 0, 4);
    auto zombie = make_consumer({{"group.id", group},
                                 {"isolation.level", "read_committed"},
                                 {"partition.assignment.strategy", "cooperative-sticky"},
                                 {"session.timeout.ms", "6000"},
                                 {"max.poll.interval.ms", "7000"}});
    REQUIRE(zombie->subscribe({in}) == RdKafka::ERR_NO_ERROR);
    std::size_t read = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read < 4) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::unique_ptr<RdKafka::Message> m(zombie->consume(100));
        if (m->err() == RdKafka::ERR_NO_ERROR) ++read;
    }
    batch_publisher pub(kafka_properties(), unique_name("posd.zombie"), delivery_mode::transactional, *zombie);
    pub.init(timeout);
    pub.publish(batch_of(out, {"zombie-1"}), in, 0, 2, "zombie-1", timeout);

    // It stops polling (paused, say) until the consumer leaves the group:
    // librdkafka forgets its member id (and marks the assignment lost).
    auto member_id = [&] {
        char* id = rd_kafka_memberid(zombie->c_ptr());
        std::string s = id ? id : "";
        if (id) rd_kafka_mem_free(zombie->c_ptr(), id);
        return s;
    };
    const auto paused = std::chrono::steady_clock::now();
    while (!rd_kafka_assignment_lost(zombie->c_ptr()) && !member_id().empty()) {
        REQUIRE(std::chrono::steady_clock::now() - paused < 30s);
        std::this_thread::sleep_for(100ms);
    }
    INFO("assignment lost: " << rd_kafka_assignment_lost(zombie->c_ptr()) << ", member id '" << member_id() << "'");
    try {
        pub.publish(batch_of(out, {"zombie-2"}), in, 0, 4, "zombie-2", timeout);
        FAIL("a member out of its group committed its offsets");
    } catch (const kafka_error& e) {
        SUCCEED("kafka_error: " << e.what());
    }
    // Nothing of it committed; a member of the group takes over.
    auto member = join_group(group, in, 2);
    auto committed = fetch_committed(*member, in, 0, timeout);
    REQUIRE(committed.has_value());
    CHECK(committed->offset == 2);
    CHECK(committed->metadata == "zombie-1");
    batch_publisher next(kafka_properties(), unique_name("posd.next"), delivery_mode::transactional, *member);
    next.init(timeout);
    next.publish(batch_of(out, {"next-1"}), in, 0, 4, "next-1", timeout);
    CHECK(fetch_committed(*member, in, 0, timeout)->metadata == "next-1");
    CHECK(values_of(read_all(out, 0, "read_committed", 2)) == std::vector<std::string>{"zombie-1", "next-1"});
    zombie->close();
    member->close();
}

// An instance that dies with a transaction open that holds offsets of a
// partition: the partition's next owner has another transactional id, so
// nothing fences it; its read_committed committed-offset read (OffsetFetch
// with require_stable, KIP-447) waits until the coordinator aborts the
// dead transaction (transaction.timeout.ms), and then sees the offset
// before it. Without the wait the next owner could start from a stale
// offset while the dead transaction might still commit.
TEST_CASE("real broker: a dead instance's open transaction holds up the next owner's committed offset until it times out") {
    const std::string in = unique_name("activity"), out = unique_name("out"), group = unique_name("posd");
    create_topic(in, 1);
    create_topic(out, 1);
    produce_input(in, 0, 3);
    auto member = join_group(group, in, 3);
    {
        batch_publisher before(kafka_properties(), unique_name("posd.before"), delivery_mode::transactional, *member);
        before.init(timeout);
        before.publish(batch_of(out, {"committed-1"}), in, 0, 1, "batch-1", timeout);
    }
    const auto transaction_timeout = 5s;
    {
        auto dying = make_producer({{"bootstrap.servers", bootstrap_servers()},
                                    {"transactional.id", unique_name("posd.dead")},
                                    {"transaction.timeout.ms", std::to_string(transaction_timeout.count() * 1000)}});
        require_ok(dying->init_transactions(30'000), "init_transactions");
        require_ok(dying->begin_transaction(), "begin_transaction");
        for (const auto& m : batch_of(out, {"dead-1"})) produce_message(*dying, m);
        std::vector<RdKafka::TopicPartition*> offsets{RdKafka::TopicPartition::create(in, 0, 3)};
        std::unique_ptr<RdKafka::ConsumerGroupMetadata> group_metadata(member->groupMetadata());
        require_ok(dying->send_offsets_to_transaction(offsets, group_metadata.get(), 30'000),
                   "send_offsets_to_transaction");
        RdKafka::TopicPartition::destroy(offsets);
    } // dies: no commit, no abort
    const auto died = std::chrono::steady_clock::now();
    auto committed = fetch_committed(*member, in, 0, 60s);
    const auto waited = std::chrono::steady_clock::now() - died;
    REQUIRE(committed.has_value());
    CHECK(committed->offset == 1);
    CHECK(committed->metadata == "batch-1");
    INFO("waited " << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms");
    CHECK(waited >= transaction_timeout - 1s);
    CHECK(values_of(read_all(out, 0, "read_committed", 1)) == std::vector<std::string>{"committed-1"});
    member->close();
}
