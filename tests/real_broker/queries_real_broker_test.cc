// Queries answered by the partition's owner, against a real Apache Kafka
// broker (the CTest fixture real_broker): two posd instances — each a
// kafka_service with its own RocksDB store, partition_view, owner_directory
// and HTTP server, in one process — split the activity partitions.
//   - each instance answers every account of the sample exactly as its
//     owner's store holds it: the non-owner forwards (no false 404);
//   - every answer names its partition, input offset and instance;
//   - after one instance leaves, the survivor answers everything itself and
//     the leaver, whose RocksDB still holds its old copy, answers only what
//     the new owner says (no stale 200).

#include "embedded.h"
#include "outputs/produce.h"
#include "kafka_service.h"
#include "queries.h"
#include "query_http_client.h"
#include "query_routing.h"
#include "real_broker_support.h"
#include "refdata_files.h"
#include "service_test_support.h"

#include "codec/decoder.h"
#include "model/keys.h"
#include "ops/http_server.h"
#include "store/partitioner.h"
#include "store/store.h"
#include "stream/admin.h"
#include "stream/batch_publisher.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace posd;
using namespace posd::service;
using namespace std::chrono_literals;

namespace {

constexpr int partitions = 3;
const std::string sample_dir = POSD_SAMPLE_DIR;

using test_support::temp_dir;
using real_broker::bootstrap_servers;
using real_broker::unique_name;

bool wait_for(const std::function<bool()>& cond, std::chrono::seconds limit = 90s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cond() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    return cond();
}

// One posd instance: what run_service wires, minus the reference topics.
struct instance {
    std::unique_ptr<store::rocks_store> store;
    partition_view view;
    std::unique_ptr<owner_directory> owners;
    std::unique_ptr<ops::http_server> http;
    std::string address;
    std::unique_ptr<kafka_service> service;
    std::atomic<bool> stop{false};
    std::thread thread;

    instance(kafka_service_settings s, const engine::engine_config& config, const engine::reference_data& refdata,
             const std::filesystem::path& dir) {
        store::store_options o;
        o.path = dir.string();
        o.changelog_topic = s.topics.changelog;
        store = store::rocks_store::open(o);
        owners = std::make_unique<owner_directory>(s.kafka, owner_directory::options{s.group_id, s.topics.activity});
        http = std::make_unique<ops::http_server>(ops::http_server::options{});
        add_query_routes(*http, *store, partitions, {&view, owners.get(), [this] { return address; }});
        http->start();
        address = "127.0.0.1:" + std::to_string(http->port()); // before any query arrives
        s.view = &view;
        s.advertised_http = address;
        service = std::make_unique<kafka_service>(s, config, refdata, *store);
        thread = std::thread([this] { service->run(stop); });
    }
    void leave() {
        stop = true;
        if (thread.joinable()) thread.join();
    }
    ~instance() {
        leave();
        http->stop();
    }
    std::uint64_t assigned() const { return service->counts().partitions_assigned; }
    test_http::answer get(const std::string& target) const { return test_http::get(address, target); }
};

std::set<std::string> sample_accounts() { return test_support::accounts_of(sample_dir + "/activity.jsonl"); }

std::string positions_path(const std::string& account) { return "/accounts/" + test_http::encode(account) + "/positions"; }

} // namespace

TEST_CASE("two instances: each answers every account by its owner, and after one leaves no stale answers",
          "[real_broker][queries]") {
    kafka_service_settings s;
    s.kafka["bootstrap.servers"] = bootstrap_servers();
    s.mode = stream::delivery_mode::transactional;
    const std::string stem = unique_name("q");
    s.topics.activity = stem + ".activity";
    s.topics.position_updated = stem + ".position.updated";
    s.topics.market_value = stem + ".market-value";
    s.topics.margin_updated = stem + ".margin.updated";
    s.topics.dead_letter = stem + ".dlq";
    s.topics.changelog = stem + ".changelog";
    s.group_id = stem + ".group";
    s.consumer_kafka["session.timeout.ms"] = "10000";
    std::vector<stream::topic_spec> specs;
    for (const stream::topic_spec& t : outputs::topic_specs(s.topics, {}, partitions, 1))
        if (t.name.starts_with(stem)) specs.push_back(t); // not the reference topics: data comes from files
    stream::create_topics(s.kafka, specs, 60s);

    engine::engine_config config;
    config.initial_business_date = date::parse("2024-03-04");
    engine::reference_data refdata;
    codec::json_decoder decoder;
    REQUIRE(load_reference_dir(sample_dir, decoder, refdata).problems.empty());

    temp_dir dir;
    kafka_service_settings sa = s, sb = s;
    sa.instance_id = "a";
    sb.instance_id = "b";
    auto a = std::make_unique<instance>(sa, config, refdata, dir.path / "a");
    REQUIRE(wait_for([&] { return a->assigned() == partitions && a->service->ready(); }));
    auto b = std::make_unique<instance>(sb, config, refdata, dir.path / "b");
    REQUIRE(wait_for([&] {
        return b->assigned() > 0 && a->assigned() + b->assigned() == partitions && a->service->ready() &&
               b->service->ready();
    }));
    const std::uint64_t produced = outputs::produce_activity_file(sample_dir + "/activity.jsonl", s.kafka, s.topics.activity);
    REQUIRE(wait_for([&] {
        return a->service->counts().records.records_in + b->service->counts().records.records_in >= produced;
    }));

    // Which store holds each partition now, by the views.
    auto owner_of = [&](std::int32_t p) -> instance* {
        if (a->view.status(p) == partition_status::serving) return a.get();
        if (b->view.status(p) == partition_status::serving) return b.get();
        return nullptr;
    };
    const std::set<std::string> accounts = sample_accounts();
    std::size_t forwarded = 0, found = 0, with_state = 0;
    for (const std::string& account : accounts) {
        INFO(model::mask_account(account));
        const std::int32_t p = store::kafka_partition_for_key(account, partitions);
        instance* owner = owner_of(p);
        REQUIRE(owner != nullptr);
        const auto held = owner->store->account_positions(p, account);
        if (!held.empty()) ++with_state;
        const bool has_balance = owner->store->find_balance(p, account).has_value();
        const std::string balance = "/accounts/" + test_http::encode(account) + "/balance";
        CHECK(a->get(balance).status == (has_balance ? 200u : 404u));
        CHECK(a->get(balance).body == b->get(balance).body);
        for (const instance* asked : {a.get(), b.get()}) {
            const test_http::answer r = asked->get(positions_path(account));
            CHECK(r.status == (held.empty() ? 404u : 200u));
            CHECK(r.header("X-Posd-Partition") == std::to_string(p));
            CHECK(r.header("X-Posd-Instance") == owner->address);
            CHECK(r.header("X-Posd-Offset") == std::to_string(owner->store->meta(p)->next_offset));
            if (asked != owner) {
                CHECK(r.header("X-Posd-Forwarded-By") == asked->address);
                ++forwarded;
            }
            if (r.status == 200) {
                ++found;
                for (const model::position& pos : held)
                    CHECK_THAT(r.body, Catch::Contains(fmt::format(R"("version":{})", pos.version)));
            }
        }
    }
    CHECK(forwarded == accounts.size());
    CHECK(with_state > 0);
    CHECK(found == 2 * with_state);
    CHECK(a->get(positions_path(*accounts.begin()) + "?asOf=2024-03-04T00:00:00Z").status == 400);

    // b leaves; a takes its partitions over (restoring them from the changelog).
    std::set<std::int32_t> b_partitions;
    for (std::int32_t p = 0; p < partitions; ++p)
        if (b->view.status(p) == partition_status::serving) b_partitions.insert(p);
    REQUIRE(!b_partitions.empty());
    b->leave();
    for (std::int32_t p = 0; p < partitions; ++p) CHECK(b->view.status(p) == partition_status::not_owned);
    REQUIRE(wait_for([&] { return a->assigned() == partitions && a->service->ready(); }));

    // New activity for b's former accounts moves a's state past b's copy:
    // every sample line of those accounts again, with new activity ids.
    {
        auto producer = stream::make_producer(s.kafka);
        codec::decoder records;
        std::ifstream in(sample_dir + "/activity.jsonl");
        std::string line;
        std::uint64_t sent = 0;
        while (std::getline(in, line)) {
            const model::decoded_record d = records.decode(line, codec::content_type::json);
            const auto* rec = std::get_if<model::activity_record>(&d);
            if (!rec) continue;
            const std::string account = rec->account().value();
            if (!b_partitions.contains(store::kafka_partition_for_key(account, partitions))) continue;
            const auto at = line.find("\"activityId\":\"");
            REQUIRE(at != std::string::npos);
            line.insert(at + 14, "again-");
            stream::produce_message(*producer, {s.topics.activity, RdKafka::Topic::PARTITION_UA, account, line, {}});
            ++sent;
        }
        REQUIRE(producer->flush(30'000) == RdKafka::ERR_NO_ERROR);
        const std::uint64_t before = a->service->counts().records.records_in;
        REQUIRE(wait_for([&] { return a->service->counts().records.records_in >= before + sent; }));
    }

    std::size_t stale_in_b = 0;
    for (const std::string& account : accounts) {
        INFO(model::mask_account(account));
        const std::int32_t p = store::kafka_partition_for_key(account, partitions);
        const auto held = a->store->account_positions(p, account);
        const test_http::answer from_a = a->get(positions_path(account));
        CHECK(from_a.status == (held.empty() ? 404u : 200u));
        CHECK(from_a.header("X-Posd-Instance") == a->address);
        CHECK(from_a.header("X-Posd-Forwarded-By").empty());
        // The leaver answers what the owner says, never its own copy.
        const test_http::answer from_b = b->get(positions_path(account));
        CHECK(from_b.status == from_a.status);
        CHECK(from_b.body == from_a.body);
        CHECK(from_b.header("X-Posd-Instance") == a->address);
        if (b_partitions.contains(p) && b->store->account_positions(p, account) != held) ++stale_in_b;
    }
    CHECK(stale_in_b > 0); // b's RocksDB really is behind: the check above could fail

    a.reset();
    // Nobody owns anything now: b says so instead of answering from its store.
    const test_http::answer none = b->get(positions_path(*accounts.begin()));
    CHECK(none.status == 503);
    CHECK(none.header("Retry-After") == "1");
}
