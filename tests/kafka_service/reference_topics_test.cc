// Reference data as global tables read from the reference topics, and price
// re-valuation by posd's Kafka service, on the embedded mock cluster.

#include "embedded.h"
#include "outputs/produce.h"
#include "exposition.h"
#include "kafka_service.h"
#include "reference_tables.h"
#include "refdata_files.h"

#include "posctl/query.h"
#include "queries.h"
#include "model/reason.h"
#include "store/partitioner.h"
#include "store/store.h"
#include "stream/batch_publisher.h"
#include "stream/embedded_cluster.h"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>

#include <filesystem>
#include <thread>

using namespace posd;
using namespace posd::service;

namespace {

constexpr int partitions = 3;
const std::string sample_dir = POSD_SAMPLE_DIR;
constexpr std::chrono::milliseconds timeout{30'000};

// A sample position: account MXBK|01|121|32719801 buys 432 of 899B6H403 (EQ, factor 1), once.
const std::string account = "MXBK|01|121|32719801";
const std::string cusip = "899B6H403";
const std::string position_key = account + "|1|" + cusip;

struct fixture {
    stream::embedded_cluster cluster;
    std::map<std::string, std::string> kafka;
    reference_topics reference;
    std::filesystem::path dir;

    fixture() {
        kafka_service_settings s;
        create_service_topics(cluster, s.topics, partitions, reference);
        kafka["bootstrap.servers"] = cluster.bootstrap_servers();
        std::string tmpl = (std::filesystem::temp_directory_path() / "posd-refdata-test-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~fixture() { std::filesystem::remove_all(dir); }

    void produce(const std::string& topic, const std::string& key, std::optional<std::string> value) {
        auto producer = stream::make_producer(kafka);
        stream::produce_message(*producer, {topic, -1, key, value.value_or(""), {}, !value.has_value()});
        REQUIRE(producer->flush(30'000) == RdKafka::ERR_NO_ERROR);
    }
    void produce_price(const std::string& price) {
        produce(reference.prices, cusip,
                R"({"cusip":")" + cusip + R"(","price":")" + price +
                    R"(","prevPrice":"1","asOf":"2024-03-04T21:00:00.000Z"})");
    }
};

// One posd process: its own reference tables (loaded to the end at start)
// and a service over `store`, run until `until` holds or 60 s pass.
struct instance {
    reference_tables tables;
    kafka_service_settings settings;
    engine::engine_config config;
    std::unique_ptr<kafka_service> service;

    instance(fixture& f, store::rocks_store& store) : tables(f.kafka, f.reference, timeout) {
        tables.load();
        settings.kafka = f.kafka;
        settings.consumer_kafka["session.timeout.ms"] = "6000";
        settings.mode = stream::delivery_mode::at_least_once;
        settings.tables = &tables;
        settings.revalue_coalesce = std::chrono::milliseconds(100);
        config.initial_business_date = date::parse("2024-03-04");
        service = std::make_unique<kafka_service>(settings, config, tables.data(), store);
    }
    service_counts run(const std::function<bool(const service_counts&)>& until) {
        std::atomic<bool> stop{false};
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        service->run(stop, [&](const service_counts& c) { return until(c) || std::chrono::steady_clock::now() > deadline; });
        return service->counts();
    }
};

std::unique_ptr<store::rocks_store> open_store(const std::filesystem::path& path) {
    store::store_options o;
    o.path = path.string();
    o.changelog_topic = kafka_service_settings{}.topics.changelog;
    return store::rocks_store::open(o);
}

model::position position_in(store::rocks_store& store) {
    auto p = store.find_position(store::kafka_partition_for_key(account, partitions), position_key);
    REQUIRE(p.has_value());
    return *p;
}

} // namespace

TEST_CASE("reference topics load as tables: upserts, tombstones, and skipped bad records with their reason") {
    fixture f;
    const refdata_load_result produced = produce_reference_dir(sample_dir, f.kafka, f.reference);
    REQUIRE(produced.problems.empty());
    f.produce(f.reference.prices, "BADPRICE1", R"({"cusip":"BADPRICE1","price":"abc","prevPrice":"1","asOf":"2024-03-04T21:00:00.000Z"})");
    f.produce(f.reference.products, "ETF", std::nullopt);          // tombstone: the product goes
    f.produce(f.reference.margin_rules, "DEFAULT|10", std::nullopt); // rule|seq
    f.produce(f.reference.margin_rules, "no-seq", std::nullopt);     // a key that names no rule

    ops::service_metrics metrics;
    reference_tables tables(f.kafka, f.reference, timeout, &metrics);
    tables.load();
    const reference_counts c = tables.counts();
    CHECK(c.applied == produced.loaded + 2);
    CHECK(c.rejected == 2);
    CHECK(c.rejected_by_reason.size() == 2);
    CHECK(c.rejected_by_reason.contains("BAD_KEY"));
    // The same in the metrics, where every reason has its series from the start.
    const auto rejected = test::family_of(test::samples_of(metrics.serialize()), "posd_refdata_rejected_total");
    CHECK(rejected.size() == model::reason_max + 1u); // and BAD_KEY
    CHECK(test::sum_of(rejected) == 2);
    for (const auto& [reason, n] : c.rejected_by_reason) {
        INFO(reason);
        CHECK(rejected.at(R"({reason=")" + reason + R"("})") == static_cast<double>(n));
    }
    CHECK(tables.data().product("EQ") != nullptr);
    CHECK(tables.data().product("ETF") == nullptr);
    CHECK(tables.data().price(cusip) != nullptr);
    CHECK(tables.data().price("BADPRICE1") == nullptr);
    for (const auto& r : tables.data().margin_rules("DEFAULT")) CHECK(r.nyrs_mgn_seq != 10);

    // Every cusip with a price or security is unseen by a partition with no
    // marks; none is unseen at the current marks.
    CHECK(!tables.changed_since({}).empty());
    const std::vector<std::int64_t> marks = tables.marks();
    CHECK(marks.size() == 2 * partitions); // prices, then securities partitions
    CHECK(tables.changed_since(marks).empty());

    // Later records arrive through poll, which names the cusips to re-value.
    f.produce_price("2");
    std::vector<std::string> changed;
    for (int i = 0; i < 50 && changed.empty(); ++i) changed = tables.poll(std::chrono::milliseconds(100));
    CHECK(changed == std::vector<std::string>{cusip});
    CHECK(tables.data().price(cusip)->price == decimal::from_units(2));
    CHECK(tables.changed_since(marks) == std::vector<std::string>{cusip});
    CHECK(tables.changed_since(tables.marks()).empty());
}

TEST_CASE("a price change re-values its positions, live and after a restart that missed it, once") {
    fixture f;
    REQUIRE(produce_reference_dir(sample_dir, f.kafka, f.reference).problems.empty());
    const std::uint64_t produced =
        outputs::produce_activity_file(sample_dir + "/activity.jsonl", f.kafka, kafka_service_settings{}.topics.activity);
    auto store = open_store(f.dir / "db");
    {
        instance first(f, *store);
        const service_counts c = first.run([&](const service_counts& n) { return n.records.records_in >= produced; });
        CHECK(c.records.records_in == produced);
        CHECK(c.revalue_batches == 0);
    }
    const model::position bought = position_in(*store);
    REQUIRE(bought.td_qty == decimal::from_units(432));

    // A price arrives while posd is down: the next start re-values that cusip
    // in each partition (its marks are behind it) and nothing else.
    f.produce_price("2");
    {
        instance second(f, *store);
        const service_counts c = second.run([&](const service_counts& n) { return n.revalue_batches >= partitions; });
        CHECK(c.revalue_batches == partitions);
        CHECK(c.cusips_revalued == partitions);
    }
    model::position revalued = position_in(*store);
    CHECK(revalued.market_value == decimal::from_units(864));
    CHECK(revalued.version == bought.version + 1);

    // Started again with nothing new: the marks say every change is re-valued.
    {
        instance third(f, *store);
        std::optional<std::chrono::steady_clock::time_point> assigned;
        const service_counts c = third.run([&](const service_counts& n) {
            if (!assigned && n.partitions_assigned == partitions && third.service->ready())
                assigned = std::chrono::steady_clock::now();
            return assigned && std::chrono::steady_clock::now() > *assigned + std::chrono::seconds(1);
        });
        CHECK(assigned.has_value());
        CHECK(c.revalue_batches == 0);
    }

    // Live: a running instance re-values within the coalescing window.
    {
        instance live(f, *store);
        std::thread producer([&] {
            std::this_thread::sleep_for(std::chrono::seconds(8)); // after the assignment
            f.produce_price("3");
        });
        const service_counts c = live.run([&](const service_counts& n) { return n.revalue_batches >= partitions; });
        producer.join();
        CHECK(c.revalue_batches == partitions);
    }
    CHECK(position_in(*store).market_value == decimal::from_units(1296));
    CHECK(position_in(*store).version == bought.version + 2);

    // The HTTP queries read the same state.
    ops::http_server::options ho;
    ho.port = 0;
    ops::http_server http(ho);
    add_query_routes(http, *store, partitions);
    http.start();
    const posctl::endpoint ep{"127.0.0.1", std::to_string(http.port())};
    auto get = [&](const std::string& target) { return posctl::http_get(ep, target, std::chrono::seconds(10)); };
    const auto values = get(posctl::account_market_values_path(account));
    CHECK(values.status == 200);
    CHECK_THAT(values.body, Catch::Contains(R"("productId":")" + cusip + R"(","quantity":"432","marketValue":"1296")"));
    CHECK_THAT(values.body, Catch::Contains(R"("totalMarketValue":")"));
    CHECK(get(posctl::position_path(position_key)).status == 200);
    CHECK(get(posctl::account_balance_path(account)).status == 200);
    const auto unknown = get(posctl::account_market_values_path("MXBK|01|121|00000000"));
    CHECK(unknown.status == 404);
    CHECK_THAT(unknown.body, !Catch::Contains("00000000")); // masked
    CHECK(get(posctl::account_market_values_path("MXBK|01")).status == 400);
    http.stop();
}

TEST_CASE("the fx-rates topic: upserts keyed CCY/BASE, tombstones, bad rates skipped, and a currency without a "
          "rate is rejected until one arrives") {
    fixture f;
    const refdata_load_result produced = produce_reference_dir(sample_dir, f.kafka, f.reference);
    REQUIRE(produced.problems.empty());
    f.produce(f.reference.fx_rates, "XYZ/USD", R"({"currency":"XYZ","baseCurrency":"USD","rate":"-2"})");
    f.produce(f.reference.fx_rates, "CAD/USD", std::nullopt); // tombstone: the rate goes
    f.produce(f.reference.fx_rates, "CAD", std::nullopt);     // a key that names no pair

    reference_tables tables(f.kafka, f.reference, timeout);
    tables.load();
    const reference_counts c = tables.counts();
    CHECK(c.applied == produced.loaded + 1);
    CHECK(c.rejected == 2);
    CHECK(c.rejected_by_reason == std::map<std::string, std::uint64_t>{{"BAD_FIELD", 1}, {"BAD_KEY", 1}});
    REQUIRE(tables.data().fx_rate("JPY", "USD") != nullptr);
    CHECK(tables.data().fx_rate("JPY", "USD")->rate == decimal::from_scaled(67, 4)); // data/sample/fx_rates.jsonl
    CHECK(tables.data().fx_rate("CAD", "USD") == nullptr);
    CHECK(tables.data().fx_rate("XYZ", "USD") == nullptr);

    // Through the service: a JPY deposit applies in its own currency; an XYZ
    // one is rejected NO_FX_RATE, then applies once its rate has arrived.
    const std::string acct = "MXBK|01|121|32719801";
    auto deposit = [&](const std::string& id, const std::string& amount, const std::string& currency) {
        f.produce(kafka_service_settings{}.topics.activity, acct,
                  R"({"activityId":")" + id + R"(","maxxKeyCode":"DEPO","firm":"MXBK","ledger":"01","branch":"121",)"
                  R"("base":"32719801","subAcctKey":"1","quantity":"0","amount":")" + amount +
                      R"(","currency":")" + currency + R"("})");
    };
    deposit("fx-1", "1000000", "JPY");
    deposit("fx-2", "5", "XYZ");
    auto store = open_store(f.dir / "db");
    const std::int32_t p = store::kafka_partition_for_key(acct, partitions);
    {
        instance first(f, *store);
        const service_counts n = first.run([&](const service_counts& s) { return s.records.records_in >= 2; });
        CHECK(n.records.applied == 1);
        CHECK(n.records.rejected == 1);
    }
    auto bal = store->find_balance(p, acct);
    REQUIRE(bal.has_value());
    CHECK(bal->td_bal.is_zero());
    REQUIRE(bal->cash.size() == 1);
    CHECK(bal->cash[0].currency == "JPY");
    CHECK(bal->cash[0].td_bal == decimal::from_units(1'000'000));
    CHECK(bal->equity == decimal::from_units(6'700)); // 1000000 x 0.0067

    f.produce(f.reference.fx_rates, "XYZ/USD", R"({"currency":"XYZ","baseCurrency":"USD","rate":"2.5"})");
    deposit("fx-2", "5", "XYZ"); // the dead letter, replayed
    {
        instance second(f, *store);
        const service_counts n = second.run([&](const service_counts& s) { return s.records.applied >= 1; });
        CHECK(n.records.applied == 1);
        CHECK(n.records.rejected == 0);
    }
    bal = store->find_balance(p, acct);
    REQUIRE(bal->cash.size() == 2);
    CHECK(bal->cash[1].currency == "XYZ");
    CHECK(bal->equity == decimal::from_scaled(671250, 2)); // 6700 + 5 x 2.5
}
