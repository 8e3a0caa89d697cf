// posd's Kafka service on the embedded mock cluster: restart from RocksDB,
// restore from the changelog onto an empty disk. Outputs are at-least-once
// on the mock (no transactions); state and input idempotency are exact, and
// that is what these tests check.

#include "embedded.h"
#include "outputs/produce.h"
#include "exposition.h"
#include "kafka_service.h"
#include "refdata_files.h"
#include "service_test_support.h"

#include "codec/decoder.h"
#include "model/reason.h"
#include "store/partitioner.h"
#include "store/store.h"
#include "stream/embedded_cluster.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace posd;
using namespace posd::service;

namespace {

constexpr int partitions = 3;
const std::string sample_dir = POSD_SAMPLE_DIR;

using test_support::temp_dir;

struct fixture {
    stream::embedded_cluster cluster;
    kafka_service_settings settings;
    engine::engine_config config;
    engine::reference_data refdata;

    fixture() {
        create_service_topics(cluster, settings.topics, partitions);
        settings.kafka["bootstrap.servers"] = cluster.bootstrap_servers();
        settings.consumer_kafka["session.timeout.ms"] = "6000";
        settings.mode = stream::delivery_mode::at_least_once;
        config.initial_business_date = date::parse("2024-03-04");
        codec::json_decoder decoder;
        auto loaded = load_reference_dir(sample_dir, decoder, refdata);
        REQUIRE(loaded.problems.empty());
    }

    std::unique_ptr<store::rocks_store> open_store(const std::filesystem::path& dir) {
        store::store_options o;
        o.path = dir.string();
        o.changelog_topic = settings.topics.changelog;
        return store::rocks_store::open(o);
    }

    std::uint64_t produce_sample() {
        return outputs::produce_activity_file(sample_dir + "/activity.jsonl", cluster.bootstrap_servers(),
                                     settings.topics.activity);
    }

    // Runs one service instance until `until` holds (or 90 s pass).
    service_counts run(store::rocks_store& store, const std::function<bool(const service_counts&)>& until) {
        std::atomic<bool> stop{false};
        kafka_service svc(settings, config, refdata, store);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
        svc.run(stop, [&](const service_counts& c) { return until(c) || std::chrono::steady_clock::now() > deadline; });
        return svc.counts();
    }
};

std::set<std::string> sample_accounts() { return test_support::accounts_of(sample_dir + "/activity.jsonl"); }

// The two stores hold the same state for every account of the sample.
void check_same_state(store::rocks_store& a, store::rocks_store& b) {
    std::size_t positions = 0;
    for (const std::string& account : sample_accounts()) {
        const std::int32_t p = store::kafka_partition_for_key(account, partitions);
        INFO(model::mask_account(account));
        const auto pa = a.account_positions(p, account);
        CHECK(pa == b.account_positions(p, account));
        CHECK(a.find_balance(p, account) == b.find_balance(p, account));
        CHECK(a.account_concentrations(p, account) == b.account_concentrations(p, account));
        positions += pa.size();
    }
    for (std::int32_t p = 0; p < partitions; ++p) {
        CHECK(a.meta(p) == b.meta(p));
        CHECK(a.last_batch_id(p) == b.last_batch_id(p));
    }
    CHECK(positions > 50); // the comparison covered real state
}

} // namespace

TEST_CASE("the sample through Kafka: every record accounted for, then a restart resumes from RocksDB") {
    fixture f;
    temp_dir dir;
    auto store = f.open_store(dir.path / "db");
    const std::uint64_t produced = f.produce_sample();
    REQUIRE(produced == 200 + partitions - 1); // the END_OF_DAY goes to each partition

    service_counts first = f.run(*store, [&](const service_counts& c) { return c.records.records_in >= produced; });
    CHECK(first.records.records_in == produced);
    CHECK(first.records.applied == 173 + partitions); // 173 activities + an END_OF_DAY per partition
    CHECK(first.records.duplicates == 5);
    CHECK(first.records.rejected == 21);
    CHECK(first.restored_partitions == 0);

    // The same records again, to a restarted instance over the same disk: it
    // starts where its state says, and every record is a duplicate or a reject.
    REQUIRE(f.produce_sample() == produced);
    service_counts second = f.run(*store, [&](const service_counts& c) { return c.records.records_in >= produced; });
    CHECK(second.records.records_in == produced); // nothing before the new records was consumed again
    CHECK(second.records.applied == 0);
    CHECK(second.records.duplicates == 173 + 5 + partitions);
    CHECK(second.records.rejected == 21);
    CHECK(second.restored_partitions == 0);
    CHECK(second.republished_batches == 0);
}

TEST_CASE("the service's metrics: every reason from the start, per-record latencies, outputs, END_OF_DAYs, dates") {
    fixture f;
    temp_dir dir;
    auto store = f.open_store(dir.path / "db");
    ops::service_metrics metrics;
    f.settings.metrics = &metrics;

    // Before any record: every reject reason and every output topic at 0.
    {
        kafka_service idle(f.settings, f.config, f.refdata, *store);
        const auto s = test::samples_of(metrics.serialize());
        for (std::uint16_t r = 1; r <= model::reason_max; ++r) {
            const std::string code(model::reason_code(static_cast<model::reason>(r)));
            INFO(code);
            CHECK(s.at(R"(posd_records_rejected_total{reason=")" + code + R"("})") == 0);
        }
        for (const std::string& topic : {f.settings.topics.position_updated, f.settings.topics.market_value,
                                         f.settings.topics.margin_updated, f.settings.topics.dead_letter,
                                         f.settings.topics.changelog}) {
            INFO(topic);
            CHECK(s.at(R"(posd_outputs_total{topic=")" + topic + R"("})") == 0);
        }
    }

    const std::uint64_t produced = f.produce_sample();
    // Scraped while the partitions are still assigned (a revoke forgets
    // their gauges).
    std::string scraped;
    const service_counts c = f.run(*store, [&](const service_counts& n) {
        if (n.records.records_in < produced) return false;
        scraped = metrics.serialize();
        return true;
    });
    REQUIRE(c.records.records_in == produced);
    const auto s = test::samples_of(scraped);
    const auto records = static_cast<double>(produced);

    CHECK(test::sum_of(test::family_of(s, "posd_records_consumed_total")) == records);
    CHECK(s.at("posd_records_applied_total") == static_cast<double>(c.records.applied));
    CHECK(test::sum_of(test::family_of(s, "posd_records_rejected_total")) == static_cast<double>(c.records.rejected));
    CHECK(c.records.rejected == 21); // the sample's (data/sample/README.md)
    CHECK(test::family_of(s, "posd_records_rejected_total").size() == model::reason_max);
    // One observation per input record, not per batch.
    CHECK(s.at("posd_apply_latency_seconds_count") == records);
    CHECK(s.at("posd_end_to_end_latency_seconds_count") == records);
    CHECK(s.at("posd_end_to_end_latency_seconds_sum") > 0);
    CHECK(s.at(R"(posd_end_to_end_latency_seconds_bucket{le="300"})") == records); // produced just now
    CHECK(s.at("posd_batch_seconds_count") == static_cast<double>(c.batches));
    // Every message of the committed batches, by topic.
    const auto outputs = test::family_of(s, "posd_outputs_total");
    CHECK(outputs.at(R"({topic="activity.dlq"})") == static_cast<double>(c.records.rejected));
    CHECK(outputs.at(R"({topic="position.updated"})") > 0);
    CHECK(outputs.at(R"({topic="posd.changelog"})") > 0);
    CHECK(test::sum_of(outputs) - outputs.at(R"({topic="posd.changelog"})") == static_cast<double>(c.outputs));
    CHECK(s.at("posd_transaction_aborts_total") == 0);
    // The sample's END_OF_DAY reaches every partition, which moves its date.
    for (std::int32_t p = 0; p < partitions; ++p) {
        INFO("partition " << p);
        const std::string label = fmt::format(R"({{partition="{}"}})", p);
        CHECK(s.at("posd_end_of_day_records_applied_total" + label) == 1);
        const auto meta = store->meta(p);
        REQUIRE(meta);
        REQUIRE(meta->business_date);
        CHECK(*meta->business_date > *f.config.initial_business_date);
        CHECK(s.at("posd_business_date_seconds" + label) == meta->business_date->days() * 86'400.0);
    }
    CHECK(s.at("posd_state_write_stalls_total") == 0);
    CHECK(s.count("posd_state_write_stalls") == 0);
}

TEST_CASE("an instance with an empty disk restores the partitions from the changelog, identical, and carries on") {
    fixture f;
    temp_dir dir;
    auto original = f.open_store(dir.path / "original");
    const std::uint64_t produced = f.produce_sample();
    f.run(*original, [&](const service_counts& c) { return c.records.records_in >= produced; });

    auto fresh = f.open_store(dir.path / "fresh");
    service_counts restored =
        f.run(*fresh, [&](const service_counts& c) { return c.restored_partitions == partitions; });
    REQUIRE(restored.restored_partitions == partitions);
    CHECK(restored.changelog_records_restored > 0);
    CHECK(restored.records.records_in == 0);
    check_same_state(*original, *fresh);

    // It carries on where the group committed: the replayed sample is all
    // duplicates and rejects, so the applied ids and the offsets came back.
    REQUIRE(f.produce_sample() == produced);
    service_counts more = f.run(*fresh, [&](const service_counts& c) { return c.records.records_in >= produced; });
    CHECK(more.records.records_in == produced);
    CHECK(more.records.applied == 0);
    CHECK(more.records.duplicates == 173 + 5 + partitions);
    CHECK(more.records.rejected == 21);
}

TEST_CASE("two instances split the partitions, when one leaves the other takes over from the changelog") {
    fixture f;
    temp_dir dir;
    auto store_a = f.open_store(dir.path / "a");
    auto store_b = f.open_store(dir.path / "b");
    std::atomic<bool> stop_a{false}, stop_b{false};
    kafka_service a(f.settings, f.config, f.refdata, *store_a);
    kafka_service b(f.settings, f.config, f.refdata, *store_b);
    auto wait_for = [](const std::function<bool()>& cond) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!cond() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return cond();
    };

    std::thread ta([&] { a.run(stop_a); });
    REQUIRE(wait_for([&] { return a.counts().partitions_assigned == partitions && a.ready(); }));
    std::thread tb([&] { b.run(stop_b); });
    // Cooperative rebalancing moves some partitions to b.
    REQUIRE(wait_for([&] {
        return b.counts().partitions_assigned > 0 &&
               a.counts().partitions_assigned + b.counts().partitions_assigned == partitions && a.ready() && b.ready();
    }));

    const std::uint64_t produced = f.produce_sample();
    REQUIRE(wait_for([&] { return a.counts().records.records_in + b.counts().records.records_in >= produced; }));
    const service_counts a1 = a.counts(), b1 = b.counts();
    CHECK(a1.records.records_in > 0);
    CHECK(b1.records.records_in > 0);
    CHECK(a1.records.records_in + b1.records.records_in == produced);
    CHECK(a1.records.applied + b1.records.applied == 173 + partitions);
    CHECK(a1.records.duplicates + b1.records.duplicates == 5);
    CHECK(a1.records.rejected + b1.records.rejected == 21);

    // b leaves the group: a gets b's partitions back, finds its local copy
    // of them behind the group and restores them from the changelog.
    stop_b = true;
    tb.join();
    REQUIRE(wait_for([&] { return a.counts().partitions_assigned == partitions && a.ready(); }));
    CHECK(a.counts().restored_partitions == b1.partitions_assigned);

    // The whole sample again: all of it lands on a, and none of it applies.
    REQUIRE(f.produce_sample() == produced);
    REQUIRE(wait_for([&] { return a.counts().records.records_in >= a1.records.records_in + produced; }));
    const service_counts a2 = a.counts();
    stop_a = true;
    ta.join();
    CHECK(a2.records.records_in - a1.records.records_in == produced);
    CHECK(a2.records.applied == a1.records.applied);
    CHECK(a2.records.duplicates - a1.records.duplicates == 173 + 5 + partitions);
    CHECK(a2.records.rejected - a1.records.rejected == 21);
}
