// posd's Kafka service against a real Apache Kafka broker (the CTest fixture
// real_broker), fed the way users feed it: with kcat, with a record too
// large for the dead-letter topic, with a protobuf record, and with records
// that retention deleted before posd applied them.
//   - a record that a producer put on another partition than its account
//     key's murmur2 partition (kcat's default partitioner) is rejected
//     WRONG_PARTITION, naming its partition, and changes no state; kcat with
//     the murmur2 partitioner gets it applied;
//   - a dead letter keeps the record's content-type header, so a rejected
//     protobuf record can be produced again as it is;
//   - a 1.5 MB record becomes a dead letter cut to a prefix with the
//     original size and SHA-256, the next records are applied, and a
//     restart does not loop; a dead-letter topic too small for a dead
//     letter stops start-up with the reason;
//   - an input gap (offsets deleted before they were applied) is logged,
//     counted, and stops its partition by default while the others go on;
//     with input.gap=skip the partition goes on at the log start. A new
//     partition starts at the log start with no gap.
// Every case has its own topics, group and state directory.

#include "kafka_service.h"
#include "real_broker_support.h"
#include "refdata_files.h"

#include "codec/dead_letter.h"
#include "codec/decoder.h"
#include "codec/protobuf.h"
#include "ops/metrics.h"
#include "store/partitioner.h"
#include "store/store.h"
#include "stream/admin.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

using namespace posd;
using namespace posd::service;
using namespace real_broker;

namespace {

const std::string sample_dir = POSD_SAMPLE_DIR;

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "posd-real-broker-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
};

// A cash deposit of `amount` into account MXBK|01|118|<base>.
std::string deposit(const std::string& id, const std::string& base, const std::string& amount = "100.00") {
    return fmt::format(R"({{"activityId":"{}","eventTime":"2024-03-04T13:30:16.500Z","maxxKeyCode":"DEPO",)"
                       R"("firm":"MXBK","ledger":"01","branch":"118","base":"{}","subAcctKey":"1",)"
                       R"("acctCategory":"RETL","rr":"R005","usCitizenship":"Y","nyResident":"N","paper":"C",)"
                       R"("quantity":"0","amount":"{}","currency":"USD","tradeDate":"2024-03-04",)"
                       R"("settleDate":"2024-03-04","bondRedeemSw":"N","acctTransferredSw":"N","reverseSplitSw":"N"}})",
                       id, base, amount);
}

std::string account_of(const std::string& base) { return "MXBK|01|118|" + base; }

// The first account base from 32400000 on for which `accept(account key)` holds.
std::string base_where(const std::function<bool(const std::string&)>& accept) {
    for (int b = 32400000; b < 32500000; ++b)
        if (accept(account_of(std::to_string(b)))) return std::to_string(b);
    FAIL("no account base found");
    return {};
}

// The partition librdkafka's default partitioner (consistent_random: CRC32
// of the key), which kcat uses unless told otherwise, gives a key.
std::int32_t crc32_partition(const std::string& key, std::int32_t partitions) {
    return rd_kafka_msg_partitioner_consistent(nullptr, key.data(), key.size(), partitions, nullptr, nullptr);
}

std::optional<std::string> header_of(const received& m, const std::string& name) {
    std::optional<std::string> v;
    for (const auto& [k, value] : m.headers)
        if (k == name) v = value;
    return v;
}

// Runs `command` with `input` on its standard input; true when it exits 0.
bool run_with_input(const std::string& command, const std::string& input) {
    FILE* pipe = ::popen(command.c_str(), "w");
    REQUIRE(pipe != nullptr);
    std::fwrite(input.data(), 1, input.size(), pipe);
    return ::pclose(pipe) == 0;
}

// The standard output of `command`.
std::string output_of(const std::string& command) {
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
    ::pclose(pipe);
    return out;
}

// One posd deployment on the real broker: its topics (unique names), its
// group, its state directory and the sample's reference data.
struct rig {
    std::int32_t partitions;
    temp_dir dir;
    kafka_service_settings settings;
    engine::engine_config config;
    engine::reference_data refdata;
    std::unique_ptr<store::rocks_store> store;

    explicit rig(std::int32_t partition_count, std::map<std::string, std::string> activity_config = {},
                 std::map<std::string, std::string> dead_letter_config = {})
        : partitions(partition_count) {
        const std::string stem = unique_name("svc");
        settings.topics.activity = stem + ".activity";
        settings.topics.position_updated = stem + ".position.updated";
        settings.topics.market_value = stem + ".market-value";
        settings.topics.margin_updated = stem + ".margin.updated";
        settings.topics.dead_letter = stem + ".activity.dlq";
        settings.topics.changelog = stem + ".changelog";
        settings.group_id = stem;
        settings.instance_id = stem;
        settings.kafka["bootstrap.servers"] = bootstrap_servers();
        settings.batch_wait_max = std::chrono::milliseconds(20);
        settings.kafka_timeout = std::chrono::seconds(10);
        const std::vector<stream::topic_spec> specs{
            {settings.topics.activity, partitions, 1, std::move(activity_config)},
            {settings.topics.position_updated, partitions, 1, {}},
            {settings.topics.market_value, partitions, 1, {}},
            {settings.topics.margin_updated, partitions, 1, {}},
            {settings.topics.dead_letter, partitions, 1, std::move(dead_letter_config)},
            {settings.topics.changelog, partitions, 1, {{"cleanup.policy", "compact"}}},
        };
        stream::create_topics(settings.kafka, specs, std::chrono::seconds(60));
        config.initial_business_date = date::parse("2024-03-04");
        codec::json_decoder decoder;
        REQUIRE(load_reference_dir(sample_dir, decoder, refdata).problems.empty());
        store::store_options o;
        o.path = (dir.path / "db").string();
        o.changelog_topic = settings.topics.changelog;
        store = store::rocks_store::open(o);
    }

    // Runs one instance until `until(counts, service)` holds or `limit`
    // passes; returns its counts.
    service_counts run(const std::function<bool(const service_counts&, const kafka_service&)>& until,
                       std::chrono::seconds limit = std::chrono::seconds(60)) {
        std::atomic<bool> stop{false};
        kafka_service svc(settings, config, refdata, *store);
        const auto deadline = std::chrono::steady_clock::now() + limit;
        svc.run(stop, [&](const service_counts& c) {
            return until(c, svc) || std::chrono::steady_clock::now() > deadline;
        });
        return svc.counts();
    }
    service_counts run_until_records(std::uint64_t records) {
        return run([&](const service_counts& c, const kafka_service&) { return c.records.records_in >= records; });
    }

    // Produces through posd's own producer (the murmur2 partitioner).
    void produce(const std::vector<stream::kafka_message>& messages,
                 std::map<std::string, std::string> extra = {}) {
        extra["bootstrap.servers"] = bootstrap_servers();
        auto producer = stream::make_producer(extra);
        for (const auto& m : messages) stream::produce_message(*producer, m);
        REQUIRE(producer->flush(30'000) == RdKafka::ERR_NO_ERROR);
    }
    void produce_deposit(const std::string& id, const std::string& base) {
        produce({{settings.topics.activity, -1, account_of(base), deposit(id, base), {}}});
    }

    // Every dead letter, once there are at least `n`.
    std::vector<received> dead_letters(std::size_t n) {
        std::vector<received> all;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (all.size() < n) {
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            all.clear();
            for (std::int32_t p = 0; p < partitions; ++p)
                for (auto& m : read_all(settings.topics.dead_letter, p, "read_committed", 0))
                    all.push_back(std::move(m));
        }
        return all;
    }

    // Deletes the records of the activity topic's partition before `offset`
    // (what retention does), through the admin API's DeleteRecords.
    void delete_records(std::int32_t partition, std::int64_t offset) {
        char err[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_servers().c_str(), err, sizeof err) ==
                RD_KAFKA_CONF_OK);
        c_ptr<rd_kafka_t> rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
        REQUIRE(rk);
        c_ptr<rd_kafka_topic_partition_list_t> offsets(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(offsets.get(), settings.topics.activity.c_str(), partition)->offset = offset;
        c_ptr<rd_kafka_DeleteRecords_t> request(rd_kafka_DeleteRecords_new(offsets.get()));
        c_ptr<rd_kafka_queue_t> queue(rd_kafka_queue_new(rk.get()));
        rd_kafka_DeleteRecords_t* requests[] = {request.get()};
        rd_kafka_DeleteRecords(rk.get(), requests, 1, nullptr, queue.get());
        c_ptr<rd_kafka_event_t> ev(rd_kafka_queue_poll(queue.get(), 60'000));
        REQUIRE(ev);
        INFO(or_empty(rd_kafka_event_error_string(ev.get())));
        REQUIRE(rd_kafka_event_error(ev.get()) == RD_KAFKA_RESP_ERR_NO_ERROR);
        const rd_kafka_topic_partition_list_t* result =
            rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev.get()));
        REQUIRE(result->cnt == 1);
        REQUIRE(result->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR);
        REQUIRE(result->elems[0].offset == offset); // the new log start
    }
};

} // namespace

TEST_CASE("kcat's default partitioner gets the record rejected WRONG_PARTITION, kcat with murmur2_random gets it applied") {
    rig r(4);
    // An account whose murmur2 partition (posd's, the Java client's) is not
    // the partition kcat's default partitioner picks.
    const std::string base = base_where([&](const std::string& key) {
        return store::kafka_partition_for_key(key, r.partitions) != crc32_partition(key, r.partitions);
    });
    const std::string key = account_of(base);
    const std::int32_t right = store::kafka_partition_for_key(key, r.partitions);
    const std::int32_t wrong = crc32_partition(key, r.partitions);
    INFO("murmur2 partition " << right << ", kcat's default " << wrong);

    const std::string kcat = fmt::format("kcat -b {} -P -t {} -k '{}'", bootstrap_servers(), r.settings.topics.activity, key);
    REQUIRE(run_with_input(kcat, deposit("WP-1", base) + "\n"));
    const service_counts first = r.run_until_records(1);
    CHECK(first.records.records_in == 1);
    CHECK(first.records.applied == 0);
    CHECK(first.records.rejected == 1);
    for (std::int32_t p = 0; p < r.partitions; ++p) CHECK_FALSE(r.store->find_balance(p, key));
    const std::vector<received> letters = r.dead_letters(1);
    REQUIRE(letters.size() == 1);
    CHECK(header_of(letters[0], "reason") == "WRONG_PARTITION");
    CHECK(header_of(letters[0], "source.partition") == std::to_string(wrong));
    CHECK(header_of(letters[0], "message").value_or("").find(fmt::format("belongs to partition {} of 4", right)) !=
          std::string::npos);
    CHECK(letters[0].value == deposit("WP-1", base));

    // The README's command: kcat with the murmur2 partitioner.
    REQUIRE(run_with_input(kcat + " -X topic.partitioner=murmur2_random", deposit("WP-2", base) + "\n"));
    const service_counts second = r.run_until_records(1);
    CHECK(second.records.records_in == 1);
    CHECK(second.records.applied == 1);
    CHECK(second.records.rejected == 0);
    const auto balance = r.store->find_balance(right, key);
    REQUIRE(balance);
    CHECK(balance->td_bal == decimal::from_units(100));
}

TEST_CASE("a dead letter keeps the record's content-type: a rejected protobuf record can be produced again as it is") {
    rig r(2);
    const std::string base = base_where([](const std::string&) { return true; });
    codec::decoder decoder;
    auto record = std::get<model::activity_record>(decoder.decode(deposit("CT-1", base), codec::content_type::json));
    record.maxx_key_code = "NOSUCH";
    const std::string bytes = codec::encode_activity_protobuf(record);
    const std::vector<std::pair<std::string, std::string>> headers{{"content-type", "application/x-protobuf"}};
    r.produce({{r.settings.topics.activity, -1, account_of(base), bytes, headers}});
    const service_counts first = r.run_until_records(1);
    CHECK(first.records.rejected == 1);
    std::vector<received> letters = r.dead_letters(1);
    REQUIRE(letters.size() == 1);
    CHECK(header_of(letters[0], "reason") == "UNKNOWN_KEY_CODE");
    CHECK(header_of(letters[0], "content-type") == "application/x-protobuf");
    CHECK(letters[0].value == bytes);

    // Replayed as it is (value, key, content-type): the same record, rejected
    // for the same reason again, not as undecodable.
    r.produce({{r.settings.topics.activity, -1, letters[0].key, letters[0].value,
                {{"content-type", *header_of(letters[0], "content-type")}}}});
    const service_counts second = r.run_until_records(1);
    CHECK(second.records.rejected == 1);
    letters = r.dead_letters(2);
    REQUIRE(letters.size() == 2);
    for (const auto& l : letters) CHECK(header_of(l, "reason") == "UNKNOWN_KEY_CODE");
}

TEST_CASE("a 1.5 MB record becomes a capped dead letter, the next records apply, and a restart does not loop") {
    // The activity topic takes records up to 4 MB; the dead-letter topic has
    // the broker's default limit (1 MB).
    rig r(2, {{"max.message.bytes", "4000000"}});
    const std::string base = base_where([](const std::string&) { return true; });
    const std::string key = account_of(base);
    const std::string huge_value = deposit("BIG-1", base) + std::string(1'500'000, ' ');
    const std::string huge_key(1'200'000, 'K');
    r.produce({{r.settings.topics.activity, -1, key, huge_value, {{"content-type", "application/json"}}},
               {r.settings.topics.activity, -1, huge_key, deposit("BIG-2", base), {}},
               {r.settings.topics.activity, -1, key, deposit("BIG-3", base), {}}},
              {{"message.max.bytes", "4000000"}});

    const service_counts first = r.run_until_records(3);
    CHECK(first.records.records_in == 3);
    CHECK(first.records.rejected == 2);
    CHECK(first.records.applied == 1);
    CHECK(r.store->find_balance(store::kafka_partition_for_key(key, r.partitions), key));

    const std::vector<received> letters = r.dead_letters(2);
    REQUIRE(letters.size() == 2);
    for (const auto& l : letters) {
        CHECK(l.key.size() + l.value.size() <= codec::dead_letter_bytes_max);
        if (l.key == key) {
            CHECK(header_of(l, "reason") == "RECORD_TOO_LARGE");
            CHECK(l.value == huge_value.substr(0, codec::dead_letter_value_bytes_max));
            CHECK(header_of(l, "original.value.bytes") == std::to_string(huge_value.size()));
            // The hash a user computes with sha256sum over the original.
            temp_dir d;
            const auto file = d.path / "original";
            std::ofstream(file, std::ios::binary) << huge_value;
            CHECK(header_of(l, "original.value.sha256") ==
                  output_of("sha256sum " + file.string()).substr(0, 64));
            CHECK(header_of(l, "content-type") == "application/json");
            CHECK_FALSE(header_of(l, "original.key.bytes"));
        } else {
            CHECK(header_of(l, "reason") == "KEY_MISMATCH");
            CHECK(l.key == huge_key.substr(0, codec::dead_letter_key_bytes_max));
            CHECK(header_of(l, "original.key.bytes") == std::to_string(huge_key.size()));
            CHECK(header_of(l, "original.key.sha256") == codec::sha256_hex(huge_key));
            CHECK(l.value == deposit("BIG-2", base));
            CHECK_FALSE(header_of(l, "original.value.bytes"));
        }
    }

    // A restart finds its state current: nothing to republish, nothing
    // consumed again, no exit.
    service_counts second;
    REQUIRE_NOTHROW(second = r.run([](const service_counts&, const kafka_service&) { return false; },
                                   std::chrono::seconds(5)));
    CHECK(second.records.records_in == 0);
    CHECK(second.republished_batches == 0);
}

TEST_CASE("producer limits come from the broker: a dead-letter topic smaller than a dead letter stops start-up") {
    rig r(1, {}, {{"max.message.bytes", "50000"}});
    const std::vector<std::string> topics{r.settings.topics.dead_letter, r.settings.topics.activity};
    const auto limits = stream::topic_max_message_bytes(r.settings.kafka, topics, timeout);
    CHECK(limits.at(r.settings.topics.dead_letter) == 50000);
    CHECK(limits.at(r.settings.topics.activity) > 1'000'000); // the broker's default, 1048588
    CHECK_THROWS_WITH(r.run([](const service_counts&, const kafka_service&) { return true; }),
                      Catch::Contains("max.message.bytes=50000") && Catch::Contains(r.settings.topics.dead_letter));
}

namespace {

// Partition 0 applies 2 records, partition 1 one (after a new-partition
// start past deleted records); then records of partition 0 are deleted
// past its committed offset while posd is down, and each partition gets a
// record more.
struct gap_rig : rig {
    std::string base0, base1;
    gap_rig() : rig(2) {
        base0 = base_where([](const std::string& k) { return store::kafka_partition_for_key(k, 2) == 0; });
        base1 = base_where([](const std::string& k) { return store::kafka_partition_for_key(k, 2) == 1; });
        produce_deposit("G-0a", base0);
        produce_deposit("G-0b", base0);
        produce_deposit("G-1a", base1);
        produce_deposit("G-1b", base1);
        delete_records(1, 1); // before posd ever ran: a new partition starts at the log start, no gap
        const service_counts first = run_until_records(3);
        CHECK(first.records.records_in == 3);
        CHECK(first.records.applied == 3);
        CHECK(first.input_gaps == 0);
        produce_deposit("G-0c", base0); // offset 2
        produce_deposit("G-0d", base0); // 3
        produce_deposit("G-0e", base0); // 4
        delete_records(0, 4);           // 2 and 3 never applied
        produce_deposit("G-1c", base1);
    }
};

} // namespace

TEST_CASE("an input gap stops its partition by default: logged, counted, not ready, while the other partition goes on") {
    gap_rig r;
    ops::service_metrics metrics;
    r.settings.metrics = &metrics;
    // What the service shows while it runs (leaving the group at the end
    // unassigns the stopped partition too).
    bool ready_seen = true;
    std::uint64_t stopped_seen = 0;
    std::string text;
    std::optional<std::chrono::steady_clock::time_point> first_applied;
    const service_counts c = r.run([&](const service_counts& n, const kafka_service& svc) {
        if (n.records.records_in >= 1 && !first_applied) first_applied = std::chrono::steady_clock::now();
        // Partition 0 has had 3 s more to apply something, had it gone on.
        if (!first_applied || std::chrono::steady_clock::now() - *first_applied < std::chrono::seconds(3)) return false;
        ready_seen = svc.ready();
        stopped_seen = n.partitions_stopped;
        text = metrics.serialize();
        return true;
    });
    CHECK(c.records.records_in == 1); // partition 1's record only
    CHECK(c.records.applied == 1);
    CHECK(c.input_gaps == 1);
    CHECK(c.input_gap_records == 2);
    CHECK(stopped_seen == 1);
    CHECK_FALSE(ready_seen);
    CHECK_THAT(text, Catch::Contains("posd_input_gaps_total{partition=\"0\"} 1"));
    CHECK_THAT(text, Catch::Contains("posd_input_gap_records_total{partition=\"0\"} 2"));
    CHECK_THAT(text, Catch::Contains("posd_partitions_stopped 1"));
    CHECK_THAT(text, Catch::Contains("posd_ready 0"));
    CHECK(r.store->meta(0)->next_offset == 2); // nothing of partition 0 applied past the gap
}

TEST_CASE("with input.gap=skip the partition goes on at the log start, the gap counted") {
    gap_rig r;
    r.settings.input_gap_skip = true;
    ops::service_metrics metrics;
    r.settings.metrics = &metrics;
    bool ready_seen = false;
    const service_counts c = r.run([&](const service_counts& n, const kafka_service& svc) {
        ready_seen = svc.ready();
        return n.records.records_in >= 2;
    });
    CHECK(c.records.records_in == 2); // offset 4 of partition 0, and partition 1's record
    CHECK(c.records.applied == 2);
    CHECK(c.input_gaps == 1);
    CHECK(c.input_gap_records == 2);
    CHECK(c.partitions_stopped == 0);
    CHECK(ready_seen);
    CHECK_THAT(metrics.serialize(), Catch::Contains("posd_input_gap_records_total{partition=\"0\"} 2"));
    CHECK(r.store->meta(0)->next_offset == 5);
}

namespace {

// A gap found while running: partition 0 applies a record, then, while
// its consumer waits on a held fetch (fetch.min.bytes not met), two
// records are produced and deleted and a third produced. The next fetch
// finds its offset gone. Returns the counts, with what the service showed
// 3 s after the gap was seen (or once the third record is applied).
struct running_gap {
    service_counts counts;
    bool ready_seen = true;
    std::uint64_t stopped_seen = 0;
};

running_gap gap_while_running(rig& r) {
    const std::string base = base_where([](const std::string& k) { return store::kafka_partition_for_key(k, 1) == 0; });
    r.settings.consumer_kafka["fetch.min.bytes"] = "100000000";
    // The held fetch must outlast the two produces and the delete below,
    // even on a loaded machine (2 s lost the race under ctest -j2).
    r.settings.consumer_kafka["fetch.wait.max.ms"] = "6000";
    r.produce_deposit("RG-0", base); // offset 0
    running_gap out;
    std::optional<std::chrono::steady_clock::time_point> gap_made, gap_seen;
    out.counts = r.run([&](const service_counts& c, const kafka_service& svc) {
        if (c.records.records_in >= 1 && !gap_made) {
            r.produce_deposit("RG-1", base); // 1
            r.produce_deposit("RG-2", base); // 2
            r.delete_records(0, 3);
            r.produce_deposit("RG-3", base); // 3
            gap_made = std::chrono::steady_clock::now();
        }
        if (!gap_made) return false;
        const auto now = std::chrono::steady_clock::now();
        out.ready_seen = svc.ready();
        out.stopped_seen = c.partitions_stopped;
        if (c.input_gaps >= 1 && !gap_seen) gap_seen = now;
        // The next record applied (skip), 3 s after the partition stopped at
        // the gap (stop: nothing more may come), or give up after 30 s.
        const bool stopped_a_while = gap_seen && c.partitions_stopped > 0 && now - *gap_seen > std::chrono::seconds(3);
        return c.records.records_in >= 2 || stopped_a_while || now - *gap_made > std::chrono::seconds(30);
    });
    return out;
}

} // namespace

TEST_CASE("a gap found while running stops the partition by default") {
    rig r(1);
    const running_gap g = gap_while_running(r);
    CHECK(g.counts.records.records_in == 1);
    CHECK(g.counts.input_gaps == 1);
    CHECK(g.counts.input_gap_records == 2);
    CHECK(g.stopped_seen == 1);
    CHECK_FALSE(g.ready_seen);
    CHECK(r.store->meta(0)->next_offset == 1);
}

TEST_CASE("a gap found while running is skipped with input.gap=skip: the partition goes on at the log start") {
    rig r(1);
    r.settings.input_gap_skip = true;
    const running_gap g = gap_while_running(r);
    CHECK(g.counts.records.records_in == 2);
    CHECK(g.counts.records.applied == 2);
    CHECK(g.counts.input_gaps == 1);
    CHECK(g.counts.input_gap_records == 2);
    CHECK(g.stopped_seen == 0);
    CHECK(g.ready_seen);
    CHECK(r.store->meta(0)->next_offset == 4);
}
