// The query layer without Kafka: the routing decision, the parameter check,
// and the HTTP answers of one instance over a real RocksDB store and a real
// loopback HTTP server (the restore 503, the partition headers, forwarding
// to a second instance and the loop guard). The two-instance behaviour over
// a real broker is tests/real_broker/queries_real_broker_test.cc.

#include "query_http_client.h"
#include "queries.h"
#include "query_routing.h"
#include "service_test_support.h"

#include "ops/http_server.h"
#include "store/partitioner.h"
#include "store/store.h"
#include "stream/embedded_cluster.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

using namespace posd;
using namespace posd::service;

namespace {

constexpr std::int32_t partitions = 4;
const std::string account = "MXBK|01|118|32403042";
const std::string position_key = account + "|1|037833100";

using test_support::temp_dir;

// A store holding one position of `account`, its partition's next offset 42.
std::unique_ptr<store::rocks_store> store_with_position(const std::filesystem::path& dir) {
    store::store_options o;
    o.path = dir.string();
    auto s = store::rocks_store::open(o);
    engine::write_set ws;
    ws.partition = store::kafka_partition_for_key(account, partitions);
    ws.meta.partition = ws.partition;
    ws.meta.next_offset = 42;
    model::position p;
    p.firm_postrmt = "MXBK";
    p.ledger_postrmt = "01";
    p.branch_postrmt = "118";
    p.base_postrmt = "32403042";
    p.sub_acct_key = "1";
    p.cusip = "037833100";
    p.td_qty = decimal::from_units(220);
    p.version = 3;
    ws.positions.push_back(p);
    s->commit(ws, {});
    return s;
}

} // namespace

TEST_CASE("decide_route: answer, restoring, forward, unavailable") {
    const std::string self = "10.0.0.1:8080", other = "10.0.0.2:8080";
    using enum partition_status;
    // Owned and recovered: answered here, whatever the (possibly late) group says.
    CHECK(decide_route(serving, std::nullopt, self, false).action == route_action::answer);
    CHECK(decide_route(serving, self, self, false).action == route_action::answer);
    CHECK(decide_route(serving, self, self, true).action == route_action::answer);
    // The group gave it to another member (this one is a zombie): the new owner answers.
    const route_decision moved = decide_route(serving, other, self, false);
    CHECK(moved.action == route_action::forward);
    CHECK(moved.owner == other);
    CHECK(decide_route(serving, other, self, true).action == route_action::unavailable);
    // Being recovered: 503, never the store.
    for (bool forwarded : {false, true}) {
        CHECK(decide_route(recovering, std::nullopt, self, forwarded).action == route_action::restoring);
        CHECK(decide_route(recovering, other, self, forwarded).action == route_action::restoring);
    }
    // Not owned: to the owner, once.
    const route_decision fwd = decide_route(not_owned, other, self, false);
    CHECK(fwd.action == route_action::forward);
    CHECK(fwd.owner == other);
    CHECK(decide_route(not_owned, other, self, true).action == route_action::unavailable); // no second hop
    CHECK(decide_route(not_owned, std::nullopt, self, false).action == route_action::unavailable);
    CHECK(decide_route(not_owned, self, self, false).action == route_action::unavailable); // the group is ahead of us
}

TEST_CASE("the advertised address: defaults, and carried in the client.id") {
    CHECK(default_advertised_address("127.0.0.1", 8080, "pod-0") == "127.0.0.1:8080");
    CHECK(default_advertised_address("0.0.0.0", 8080, "pod-0") == "pod-0:8080");
    CHECK(default_advertised_address("::", 8081, "pod-0") == "pod-0:8081");
    CHECK(default_advertised_address("::1", 8081, "pod-0") == "[::1]:8081");
    CHECK(member_client_id("posd-0", "pod-0.posd:8080") == "posd-0@pod-0.posd:8080");
    CHECK(advertised_address_of("posd-0@pod-0.posd:8080") == "pod-0.posd:8080");
    CHECK(advertised_address_of("me@x@[::1]:8080") == "[::1]:8080");
    CHECK(advertised_address_of("rdkafka") == std::nullopt);       // another client in the group
    CHECK(advertised_address_of("posd-0@nohostport") == std::nullopt);
    CHECK(advertised_address_of("posd-0@") == std::nullopt);
}

TEST_CASE("unknown query parameters are a 400 naming the parameter") {
    ops::http_request r;
    CHECK_FALSE(reject_unknown_parameters(r, {}).has_value());
    r.query["asOf"] = "2024-03-04T00:00:00Z";
    const auto bad = reject_unknown_parameters(r, {});
    REQUIRE(bad.has_value());
    CHECK(bad->status == 400);
    CHECK_THAT(bad->body, Catch::Contains(R"("error":"unknown_parameter")"));
    CHECK_THAT(bad->body, Catch::Contains("'asOf'"));
    const std::string_view allowed[] = {"asOf"};
    CHECK_FALSE(reject_unknown_parameters(r, allowed).has_value());
    r.query["bogus\"name"] = "1";
    const auto escaped = reject_unknown_parameters(r, allowed);
    REQUIRE(escaped.has_value());
    CHECK_THAT(escaped->body, Catch::Contains(R"('bogus\"name')")); // still valid JSON
}

TEST_CASE("one instance: answers with its partition's headers, 503 while recovering, 404 only when owned") {
    temp_dir dir;
    auto store = store_with_position(dir.path);
    const std::int32_t p = store::kafka_partition_for_key(account, partitions);
    partition_view view;
    ops::http_server http({});
    add_query_routes(http, *store, partitions, {&view, nullptr, [&http] { return "127.0.0.1:" + std::to_string(http.port()); }});
    http.start();
    const std::string self = "127.0.0.1:" + std::to_string(http.port());
    auto get = [&](const std::string& target) { return test_http::get(self, target); };
    const std::string path = "/positions/" + test_http::encode(position_key);

    // Not owned and no owner known: 503 with a retry hint, never a false 404.
    auto r = get(path);
    CHECK(r.status == 503);
    CHECK(r.header("Retry-After") == "1");
    CHECK(r.header("X-Posd-Partition") == std::to_string(p));
    CHECK(get("/accounts/" + test_http::encode("ZZZZ|01|118|00000001") + "/balance").status == 503);

    // Assigned and being recovered: 503 restoring.
    view.recovering(p);
    r = get(path);
    CHECK(r.status == 503);
    CHECK_THAT(r.body, Catch::Contains(R"("error":"restoring")"));
    CHECK(r.header("Retry-After") == "1");

    // Recovered: the store answers, saying which partition, offset and instance.
    view.serving(p);
    r = get(path);
    CHECK(r.status == 200);
    CHECK_THAT(r.body, Catch::Contains(R"("version":3)"));
    CHECK(r.header("X-Posd-Partition") == std::to_string(p));
    CHECK(r.header("X-Posd-Offset") == "42");
    CHECK(r.header("X-Posd-Instance") == self);
    CHECK(get("/accounts/" + test_http::encode(account) + "/positions").status == 200);
    CHECK(get("/accounts/" + test_http::encode(account) + "/market-values").status == 200);
    // An account of that partition with no state: a true 404, with the headers.
    const auto missing = get("/positions/" + test_http::encode(account + "|2|037833100"));
    CHECK(missing.status == 404);
    CHECK(missing.header("X-Posd-Offset") == "42");

    // Unknown parameters: 400 naming them, before anything is read.
    r = get(path + "?asOf=2024-03-04T00:00:00Z");
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Catch::Contains("'asOf'"));
    CHECK(get(path + "?businessDate=2024-03-04").status == 400);

    // Revoked: gone from the view at once.
    view.leave(p);
    CHECK(get(path).status == 503);
    http.stop();
}

TEST_CASE("forward_query proxies to the owner once, and a forwarded query is never forwarded again") {
    temp_dir dir;
    auto store = store_with_position(dir.path);
    const std::int32_t p = store::kafka_partition_for_key(account, partitions);
    // The owner serves p.
    partition_view owner_view;
    owner_view.serving(p);
    ops::http_server owner({});
    add_query_routes(owner, *store, partitions,
                     {&owner_view, nullptr, [&owner] { return "127.0.0.1:" + std::to_string(owner.port()); }});
    owner.start();
    const std::string owner_address = "127.0.0.1:" + std::to_string(owner.port());
    const std::string path = "/positions/" + test_http::encode(position_key);

    auto r = forward_query(owner_address, path, "127.0.0.1:1", p, std::chrono::seconds(5));
    CHECK(r.status == 200);
    CHECK_THAT(r.body, Catch::Contains(R"("version":3)"));
    auto header = [&](std::string_view name) -> std::string {
        for (auto& [n, v] : r.headers)
            if (n == name) return v;
        return {};
    };
    CHECK(header("X-Posd-Instance") == owner_address);
    CHECK(header("X-Posd-Offset") == "42");
    CHECK(header("X-Posd-Forwarded-By") == "127.0.0.1:1");

    // A query forwarded to an instance that does not own the partition is
    // refused, not sent on (no loops between instances that disagree).
    owner_view.leave(p);
    const auto refused = test_http::get(owner_address, path, {{"X-Posd-Forwarded-By", "127.0.0.1:1"}});
    CHECK(refused.status == 503);
    CHECK(refused.header("Retry-After") == "1");

    // An owner that does not answer: 503, not a hang.
    owner.stop();
    r = forward_query(owner_address, path, "127.0.0.1:1", p, std::chrono::seconds(2));
    CHECK(r.status == 503);
}

TEST_CASE("owner_directory over a cluster that cannot describe groups: owners unknown, the process lives") {
    // librdkafka's mock cluster answers no DescribeGroups. With
    // rd_kafka_DescribeConsumerGroups the first timed-out description
    // aborted the process (librdkafka 2.0.2, #4605); the directory must
    // report "unknown" instead, however often it is asked.
    posd::stream::embedded_cluster cluster(1);
    cluster.create_topic("activity", partitions);
    owner_directory owners({{"bootstrap.servers", cluster.bootstrap_servers()}},
                           {"posd", "activity", std::chrono::milliseconds(1), std::chrono::milliseconds(1),
                            std::chrono::milliseconds(500)});
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    int asked = 0;
    while (std::chrono::steady_clock::now() < until) {
        CHECK_FALSE(owners.owner(asked % partitions, true).has_value());
        ++asked;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    CHECK(asked > 3);
}
