#include "posctl/produce.h"
#include "posctl/query.h"
#include "posctl/tail.h"

#include "codec/decoder.h"
#include "ops/http_server.h"
#include "store/partitioner.h"
#include "stream/batch_publisher.h"
#include "stream/embedded_cluster.h"
#include "workload/generator.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace posd;
using namespace std::chrono_literals;

namespace {

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "posctl-test-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<posctl::tail_message> read_back(const stream::embedded_cluster& cluster, const std::string& topic,
                                            std::uint64_t count, std::chrono::milliseconds timeout,
                                            bool read_uncommitted = false) {
    posctl::tail_options o;
    o.kafka["bootstrap.servers"] = cluster.bootstrap_servers();
    o.topic = topic;
    o.from_beginning = true;
    o.count = count;
    o.timeout = timeout;
    o.read_uncommitted = read_uncommitted;
    std::vector<posctl::tail_message> out;
    const posctl::tail_result r = posctl::tail(o, [&](const posctl::tail_message& m) { out.push_back(m); });
    CHECK(r.messages == out.size());
    return out;
}

} // namespace

TEST_CASE("paths built from keys percent-encode the bar and every reserved byte") {
    CHECK(posctl::percent_encode("MXBK|01|118|32403042") == "MXBK%7C01%7C118%7C32403042");
    CHECK(posctl::percent_encode("a b/c?d%e") == "a%20b%2Fc%3Fd%25e");
    CHECK(posctl::percent_encode("AZaz09-._~") == "AZaz09-._~");
    CHECK(posctl::position_path("ABCD|01|123|4567891|1|037833100") ==
          "/positions/ABCD%7C01%7C123%7C4567891%7C1%7C037833100");
    CHECK(posctl::account_positions_path("ABCD|01|123|4567891") == "/accounts/ABCD%7C01%7C123%7C4567891/positions");
    CHECK(posctl::account_balance_path("ABCD|01|123|4567891") == "/accounts/ABCD%7C01%7C123%7C4567891/balance");
}

TEST_CASE("raw paths keep their structure and encode what a target may not hold") {
    CHECK(posctl::normalize_target("/healthz") == "/healthz");
    CHECK(posctl::normalize_target("metrics") == "/metrics");
    CHECK(posctl::normalize_target("/accounts/A|01|1|2/balance") == "/accounts/A%7C01%7C1%7C2/balance");
    CHECK(posctl::normalize_target("/accounts/A%7C01%7C1%7C2/balance") == "/accounts/A%7C01%7C1%7C2/balance");
    CHECK(posctl::normalize_target("/positions/x?asOf=2024-03-04&y=1") == "/positions/x?asOf=2024-03-04&y=1");
    CHECK(posctl::normalize_target("/a b\"\xC3\xA9") == "/a%20b%22%C3%A9");
}

TEST_CASE("endpoints parse as HOST:PORT, bracketed IPv6 and an http prefix") {
    auto e = posctl::parse_endpoint("127.0.0.1:8080");
    REQUIRE(e);
    CHECK(e->host == "127.0.0.1");
    CHECK(e->port == "8080");
    e = posctl::parse_endpoint("http://localhost:9/");
    REQUIRE(e);
    CHECK(e->host == "localhost");
    CHECK(e->port == "9");
    e = posctl::parse_endpoint("[::1]:80");
    REQUIRE(e);
    CHECK(e->host == "::1");
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":80", "h:0", "h:65536", "h:8x", "::1:80", "[::1]80"})
        CHECK_FALSE(posctl::parse_endpoint(bad));
}

TEST_CASE("tail lines are key TAB value, with headers after a second TAB") {
    posctl::tail_message m;
    m.key = "ABCD|01|123|4567891";
    m.value = R"({"a":"x\ty"})";
    CHECK(posctl::format_line(m) == "ABCD|01|123|4567891\t{\"a\":\"x\\ty\"}");
    m.value = "two\nlines\tand\rmore";
    CHECK(posctl::format_line(m) == "ABCD|01|123|4567891\ttwo\\nlines\\tand\\rmore");
    m.value = "bad";
    m.headers = {{"reason", "MISSING_FIELD"}, {"message", "a; b=c"}, {"field", ""}, {"source.partition", "3"}};
    CHECK(posctl::format_line(m) ==
          "ABCD|01|123|4567891\tbad\treason=MISSING_FIELD;message=a\\; b\\=c;field=;source.partition=3");
}

TEST_CASE("the pacer holds a loop to its rate and a rate of 0 does not wait") {
    {
        posctl::pacer none(0);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 100'000; ++i) none.wait();
        CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    }
    posctl::pacer p(200);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 41; ++i) p.wait(); // the 41st is due 200 ms after the first
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 195ms);
    CHECK(took < 2s);
}

TEST_CASE("produce refuses options that name no source, two sources or settings the source does not take") {
    posctl::produce_options o;
    CHECK_THROWS_WITH(posctl::check_produce_options(o), Catch::Contains("--bootstrap-servers"));
    o.kafka["bootstrap.servers"] = "127.0.0.1:9";
    CHECK_THROWS_WITH(posctl::check_produce_options(o), Catch::Contains("one source"));
    o.file = "x.jsonl";
    o.generate = 5;
    CHECK_THROWS_WITH(posctl::check_produce_options(o), Catch::Contains("one source"));
    o.generate = 0;
    CHECK_NOTHROW(posctl::check_produce_options(o));
    o.rate = 10;
    CHECK_THROWS_WITH(posctl::check_produce_options(o), Catch::Contains("--rate"));
    o.rate = 0;
    o.file.clear();
    o.generate = 5;
    o.rate = -1;
    CHECK_THROWS_WITH(posctl::check_produce_options(o), Catch::Contains("--rate"));
    o.rate = 0;
    o.accounts = 1;
    CHECK_THROWS_WITH(posctl::check_produce_options(o), Catch::Contains("--accounts"));
    o.accounts = 10;
    o.cusips = 49;
    CHECK_THROWS_WITH(posctl::check_produce_options(o), Catch::Contains("--cusips"));
}

TEST_CASE("the default seed generates the reference data posd loads by default (data/sample)") {
    temp_dir dir;
    posctl::produce_options o;
    posctl::write_reference_files(posctl::generator_reference(o), dir.path.string());
    for (const char* f : {"bookkeeping_rules.jsonl", "products.jsonl", "securities.jsonl", "prices.jsonl",
                          "margin_rules.jsonl", "fx_rates.jsonl"}) {
        INFO(f);
        const std::string written = read_file(dir.path / f);
        CHECK_FALSE(written.empty());
        CHECK(written == read_file(std::filesystem::path(POSD_SAMPLE_DIR) / f));
    }
}

TEST_CASE("a JSON-lines file is produced with posd's keys and its END_OF_DAY on every partition") {
    // Four activity lines of the sample, a line that does not decode, and
    // the sample's END_OF_DAY.
    std::ifstream sample(std::string(POSD_SAMPLE_DIR) + "/activity.jsonl");
    REQUIRE(sample);
    codec::decoder decoder;
    std::vector<std::string> activities;
    std::string end_of_day, line;
    while (std::getline(sample, line)) {
        const auto d = decoder.decode(line, codec::content_type::json);
        if (activities.size() < 4 && std::holds_alternative<model::activity_record>(d)) activities.push_back(line);
        if (end_of_day.empty() && std::holds_alternative<model::control_record>(d)) end_of_day = line;
    }
    REQUIRE(activities.size() == 4);
    REQUIRE_FALSE(end_of_day.empty());
    temp_dir dir;
    const auto file = dir.path / "activity.jsonl";
    {
        std::ofstream out(file);
        for (const auto& a : activities) out << a << "\n";
        out << "not json\n\n" << end_of_day << "\n";
    }

    constexpr std::int32_t partitions = 3;
    stream::embedded_cluster cluster;
    cluster.create_topic("activity", partitions);
    posctl::produce_options o;
    o.kafka["bootstrap.servers"] = cluster.bootstrap_servers();
    o.file = file.string();
    const posctl::produce_result r = posctl::produce(o);
    CHECK(r.messages == 4 + 1 + partitions);
    CHECK(posctl::rate_summary(r).starts_with("produced 8 records in "));

    const auto got = read_back(cluster, "activity", r.messages, 20s);
    REQUIRE(got.size() == r.messages);
    std::multiset<std::string> keyed_values;
    std::set<std::int32_t> end_of_day_partitions;
    for (const auto& m : got) {
        INFO(m.value);
        CHECK(m.headers.empty());
        if (m.value == end_of_day) {
            CHECK(m.key.empty());
            CHECK(end_of_day_partitions.insert(m.partition).second);
            continue;
        }
        if (m.value == "not json") {
            CHECK(m.key.empty());
            continue;
        }
        const auto d = decoder.decode(m.value, codec::content_type::json);
        REQUIRE(std::holds_alternative<model::activity_record>(d));
        CHECK(m.key == std::get<model::activity_record>(d).account().value());
        CHECK(m.partition == store::kafka_partition_for_key(m.key, partitions));
        keyed_values.insert(m.value);
    }
    CHECK(end_of_day_partitions == std::set<std::int32_t>{0, 1, 2});
    CHECK(keyed_values == std::multiset<std::string>(activities.begin(), activities.end()));

    // Asked for more than there is, tail gives up after its silence.
    posctl::tail_options t;
    t.kafka["bootstrap.servers"] = cluster.bootstrap_servers();
    t.topic = "activity";
    t.from_beginning = true;
    t.count = r.messages + 1;
    t.timeout = 1500ms;
    t.read_uncommitted = true;
    std::uint64_t seen = 0;
    auto tr = posctl::tail(t, [&](const posctl::tail_message&) { ++seen; });
    CHECK(tr.messages == r.messages);
    CHECK(seen == r.messages);
    CHECK_FALSE(tr.count_reached);
    // From the end, nothing old is shown.
    t.from_beginning = false;
    t.count = 0;
    t.timeout = 1000ms;
    tr = posctl::tail(t, [&](const posctl::tail_message&) { ++seen; });
    CHECK(tr.messages == 0);
    // A topic that does not exist is an error, not a wait.
    t.topic = "no-such-topic";
    CHECK_THROWS_AS(posctl::tail(t, [](const posctl::tail_message&) {}), stream::kafka_error);
}

TEST_CASE("generated records go to their key's partition in order and every END_OF_DAY to every partition") {
    constexpr std::int32_t partitions = 4;
    stream::embedded_cluster cluster;
    cluster.create_topic("activity", partitions);
    posctl::produce_options o;
    o.kafka["bootstrap.servers"] = cluster.bootstrap_servers();
    o.generate = 300;
    o.seed = 7;
    o.accounts = 30;
    o.end_of_day_every = 100;
    o.protobuf_per_mille = 100;
    const posctl::produce_result r = posctl::produce(o);

    // The same stream, from the same configuration: what each partition must
    // hold, in order.
    workload::activity_generator gen(posctl::generator_config(o));
    gen.set_protobuf_per_mille(o.protobuf_per_mille);
    std::map<std::int32_t, std::vector<std::string>> expected; // partition -> values (keyed records)
    std::vector<std::string> end_of_days;
    std::uint64_t records = 0, unkeyed = 0;
    while (records < o.generate) {
        const workload::item it = gen.next();
        if (it.kind == workload::item_kind::price_update) continue;
        ++records;
        if (it.kind == workload::item_kind::control && it.value.find("END_OF_DAY") != std::string::npos) {
            end_of_days.push_back(it.value);
            for (std::int32_t p = 0; p < partitions; ++p) expected[p].push_back(it.value);
        } else if (it.key.empty()) {
            ++unkeyed; // partitioned at random (START_OF_DAY, some broken records)
        } else {
            expected[store::kafka_partition_for_key(it.key, partitions)].push_back(it.value);
        }
    }
    REQUIRE(end_of_days.size() >= 2);
    CHECK(r.records == o.generate);
    CHECK(r.end_of_days == end_of_days.size());
    CHECK(r.partitions == partitions);
    CHECK(r.messages == o.generate + end_of_days.size() * (partitions - 1));

    const auto got = read_back(cluster, "activity", r.messages, 20s, true);
    REQUIRE(got.size() == r.messages);
    std::map<std::int32_t, std::vector<std::string>> seen;
    std::uint64_t protobuf = 0, got_unkeyed = 0;
    for (const auto& m : got) {
        if (!m.headers.empty() && m.headers.front().second == workload::content_type_protobuf) ++protobuf;
        if (m.key.empty() && m.value.find("END_OF_DAY") == std::string::npos) {
            ++got_unkeyed;
            continue;
        }
        seen[m.partition].push_back(m.value);
    }
    CHECK(protobuf > 0);
    CHECK(got_unkeyed == unkeyed);
    for (std::int32_t p = 0; p < partitions; ++p) {
        INFO("partition " << p);
        CHECK(seen[p] == expected[p]);
    }
}

TEST_CASE("produce paces generated records to the rate and reports it") {
    stream::embedded_cluster cluster;
    cluster.create_topic("activity", 2);
    posctl::produce_options o;
    o.kafka["bootstrap.servers"] = cluster.bootstrap_servers();
    o.generate = 31;
    o.accounts = 10;
    o.rate = 100; // the 31st record is due 300 ms after the first
    const posctl::produce_result r = posctl::produce(o);
    CHECK(r.messages == 31);
    CHECK(r.seconds >= 0.29);
    CHECK(r.seconds < 10);
    CHECK_THAT(posctl::rate_summary(r), Catch::Matches("produced 31 records in [0-9.]+ s \\([0-9]+ records/s\\)"));
}

TEST_CASE("query answers 2xx with exit code 0, 404 and 503 with 1, and a refused connection with 2") {
    ops::http_server::options ho;
    ho.ready = [] { return false; };
    ops::http_server server(ho);
    server.route("/positions/{key}", [](const ops::http_request& r) {
        return ops::http_response::json("{\"key\":\"" + r.param("key") + "\"}");
    });
    server.start();
    const posctl::endpoint ep{"127.0.0.1", std::to_string(server.port())};

    auto a = posctl::http_get(ep, "/healthz", 5s);
    REQUIRE(a.answered);
    CHECK(a.status == 200);
    CHECK(a.body.find("ok") != std::string::npos);
    CHECK(posctl::query_exit_code(a) == 0);

    a = posctl::http_get(ep, posctl::position_path("ABCD|01|123|4567891|1|037833100"), 5s);
    CHECK(a.status == 200);
    CHECK(a.body == R"({"key":"ABCD|01|123|4567891|1|037833100"})");
    a = posctl::http_get(ep, posctl::normalize_target("/positions/ABCD|01|1|2|1|X"), 5s);
    CHECK(a.body == R"({"key":"ABCD|01|1|2|1|X"})");

    a = posctl::http_get(ep, "/accounts/x/balance", 5s);
    REQUIRE(a.answered);
    CHECK(a.status == 404);
    CHECK(a.body.find("not_found") != std::string::npos);
    CHECK(posctl::query_exit_code(a) == 1);

    a = posctl::http_get(ep, "/readyz", 5s);
    CHECK(a.status == 503);
    CHECK(posctl::query_exit_code(a) == 1);

    server.stop();
    a = posctl::http_get(ep, "/healthz", 5s);
    CHECK_FALSE(a.answered);
    CHECK(a.error.find("connect") != std::string::npos);
    CHECK(posctl::query_exit_code(a) == 2);
}
