#include "ops/metrics.h"

#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

using posd::ops::service_metrics;

namespace {

// The samples of a text exposition: "name{labels}" -> value.
std::map<std::string, double> scrape(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    // Label values are quoted and may hold braces ("/positions/{key}").
    std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?) (\S+)$)");
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line.front() == '#') continue;
        std::smatch m;
        REQUIRE(std::regex_match(line, m, sample));
        out[m[1].str()] = std::stod(m[3].str());
    }
    return out;
}

} // namespace

TEST_CASE("every family is exposed with its type", "[metrics]") {
    service_metrics metrics;
    // prometheus-cpp leaves out a labelled family until it has a child.
    auto before = metrics.serialize();
    CHECK_THAT(before, !Catch::Contains("posd_consumer_lag"));
    CHECK_THAT(before, !Catch::Contains("posd_records_rejected_total"));
    (void)metrics.records_consumed(0);
    (void)metrics.records_rejected("X");
    (void)metrics.consumer_lag(0);
    (void)metrics.restore_progress_ratio(0);
    (void)metrics.refdata_rejected("X");
    (void)metrics.outputs("t");
    (void)metrics.end_of_day_records_applied(0);
    (void)metrics.business_date_seconds(0);
    (void)metrics.http_requests("/healthz", 200);
    auto text = metrics.serialize();
    for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
             {"posd_records_consumed_total", "counter"},
             {"posd_records_applied_total", "counter"},
             {"posd_records_duplicate_total", "counter"},
             {"posd_records_rejected_total", "counter"},
             {"posd_batch_seconds", "histogram"},
             {"posd_transaction_commit_seconds", "histogram"},
             {"posd_apply_latency_seconds", "histogram"},
             {"posd_end_to_end_latency_seconds", "histogram"},
             {"posd_consumer_lag", "gauge"},
             {"posd_restore_progress_ratio", "gauge"},
             {"posd_restore_records_total", "counter"},
             {"posd_state_size_bytes", "gauge"},
             {"posd_state_write_stalls_total", "counter"},
             {"posd_state_write_stall_seconds_total", "counter"},
             {"posd_transaction_aborts_total", "counter"},
             {"posd_refdata_rejected_total", "counter"},
             {"posd_outputs_total", "counter"},
             {"posd_end_of_day_records_applied_total", "counter"},
             {"posd_business_date_seconds", "gauge"},
             {"posd_http_requests_total", "counter"},
             {"posd_build_info", "gauge"},
             {"posd_partitions_assigned", "gauge"},
             {"posd_ready", "gauge"},
         }) {
        INFO(name);
        CHECK_THAT(text, Catch::Contains("# TYPE " + name + " " + type + "\n"));
        CHECK_THAT(text, Catch::Contains("# HELP " + name + " "));
    }
    auto samples = scrape(text);
    CHECK(samples.at("posd_records_applied_total") == 0);
    CHECK(samples.at("posd_ready") == 0);
    CHECK(samples.at("posd_batch_seconds_count") == 0);
}

TEST_CASE("updates show up in the scrape with their labels", "[metrics]") {
    service_metrics metrics;
    metrics.records_consumed(3).Increment(5);
    metrics.records_consumed(4).Increment();
    metrics.records_consumed(3).Increment(2);
    metrics.records_applied().Increment(6);
    metrics.records_duplicate().Increment();
    metrics.records_rejected("INVALID_CUSIP").Increment(2);
    metrics.records_rejected("UNKNOWN_ACCOUNT").Increment();
    metrics.consumer_lag(3).Set(42);
    metrics.restore_progress_ratio(3).Set(0.25);
    metrics.restore_records().Increment(1000);
    metrics.state_size_bytes().Set(1 << 20);
    metrics.partitions_assigned().Set(2);
    metrics.ready().Set(1);
    metrics.batch_seconds().Observe(0.003);
    metrics.batch_seconds().Observe(0.2);
    metrics.transaction_commit_seconds().Observe(0.02);
    metrics.apply_latency_seconds().Observe(3e-6);
    metrics.end_to_end_latency_seconds().Observe(1.5);

    auto s = scrape(metrics.serialize());
    CHECK(s.at(R"(posd_records_consumed_total{partition="3"})") == 7);
    CHECK(s.at(R"(posd_records_consumed_total{partition="4"})") == 1);
    CHECK(s.at("posd_records_applied_total") == 6);
    CHECK(s.at("posd_records_duplicate_total") == 1);
    CHECK(s.at(R"(posd_records_rejected_total{reason="INVALID_CUSIP"})") == 2);
    CHECK(s.at(R"(posd_records_rejected_total{reason="UNKNOWN_ACCOUNT"})") == 1);
    CHECK(s.at(R"(posd_consumer_lag{partition="3"})") == 42);
    CHECK(s.at(R"(posd_restore_progress_ratio{partition="3"})") == 0.25);
    CHECK(s.at("posd_restore_records_total") == 1000);
    CHECK(s.at("posd_state_size_bytes") == 1048576);
    CHECK(s.at("posd_partitions_assigned") == 2);
    CHECK(s.at("posd_ready") == 1);
    CHECK(s.at(R"(posd_batch_seconds_bucket{le="0.0025"})") == 0);
    CHECK(s.at(R"(posd_batch_seconds_bucket{le="0.005"})") == 1);
    CHECK(s.at(R"(posd_batch_seconds_bucket{le="0.25"})") == 2);
    CHECK(s.at(R"(posd_batch_seconds_bucket{le="+Inf"})") == 2);
    CHECK(s.at("posd_batch_seconds_count") == 2);
    CHECK(s.at("posd_batch_seconds_sum") == Approx(0.203));
    CHECK(s.at(R"(posd_transaction_commit_seconds_bucket{le="0.025"})") == 1);
    CHECK(s.at(R"(posd_transaction_commit_seconds_bucket{le="0.01"})") == 0);
    CHECK(s.at(R"(posd_apply_latency_seconds_bucket{le="5e-06"})") == 1);
    CHECK(s.at(R"(posd_apply_latency_seconds_bucket{le="2.5e-06"})") == 0);
    CHECK(s.at(R"(posd_end_to_end_latency_seconds_bucket{le="2.5"})") == 1);
    CHECK(s.at(R"(posd_end_to_end_latency_seconds_bucket{le="1"})") == 0);
    CHECK(s.count(R"(posd_consumer_lag{partition="4"})") == 0); // never set, never created
}

TEST_CASE("children are cached: the same object for the same label", "[metrics]") {
    service_metrics metrics;
    CHECK(&metrics.records_consumed(1) == &metrics.records_consumed(1));
    CHECK(&metrics.records_consumed(1) != &metrics.records_consumed(2));
    CHECK(&metrics.records_rejected("A") == &metrics.records_rejected(std::string("A")));
    CHECK(&metrics.consumer_lag(1) == &metrics.consumer_lag(1));
    CHECK(&metrics.restore_progress_ratio(1) == &metrics.restore_progress_ratio(1));
}

TEST_CASE("forget_partition drops the partition's gauges but not its counter", "[metrics]") {
    service_metrics metrics;
    metrics.records_consumed(5).Increment(3);
    metrics.consumer_lag(5).Set(9);
    metrics.restore_progress_ratio(5).Set(1);
    metrics.consumer_lag(6).Set(1);
    metrics.forget_partition(5);
    auto s = scrape(metrics.serialize());
    CHECK(s.count(R"(posd_consumer_lag{partition="5"})") == 0);
    CHECK(s.count(R"(posd_restore_progress_ratio{partition="5"})") == 0);
    CHECK(s.at(R"(posd_consumer_lag{partition="6"})") == 1);
    CHECK(s.at(R"(posd_records_consumed_total{partition="5"})") == 3);
    // Reassigned later: starts again from zero.
    metrics.consumer_lag(5).Increment(2);
    CHECK(scrape(metrics.serialize()).at(R"(posd_consumer_lag{partition="5"})") == 2);
}

TEST_CASE("concurrent updates and child creation lose nothing", "[metrics]") {
    service_metrics metrics;
    constexpr int threads = 4, per_thread = 20'000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&metrics, t] {
            for (int i = 0; i < per_thread; ++i) {
                metrics.records_consumed(i % 8).Increment();
                metrics.records_applied().Increment();
                if (i % 100 == 0) metrics.records_rejected(t % 2 ? "ODD" : "EVEN").Increment();
                if (i % 1000 == 0) (void)metrics.serialize();
            }
        });
    for (auto& w : workers) w.join();
    auto s = scrape(metrics.serialize());
    CHECK(s.at("posd_records_applied_total") == threads * per_thread);
    double consumed = 0;
    for (int p = 0; p < 8; ++p) {
        double v = s.at("posd_records_consumed_total{partition=\"" + std::to_string(p) + "\"}");
        CHECK(v == threads * per_thread / 8);
        consumed += v;
    }
    CHECK(consumed == threads * per_thread);
    CHECK(s.at(R"(posd_records_rejected_total{reason="ODD"})") == 2 * per_thread / 100);
    CHECK(s.at(R"(posd_records_rejected_total{reason="EVEN"})") == 2 * per_thread / 100);
}

TEST_CASE("the build is named by posd_build_info", "[metrics]") {
    service_metrics metrics;
    const auto s = scrape(metrics.serialize());
    CHECK(service_metrics::build_version() == "0.1.0");
    const std::string commit(service_metrics::build_commit());
    CHECK((commit == "unknown" || std::regex_match(commit, std::regex("[0-9a-f]{40}"))));
    CHECK(s.at(R"(posd_build_info{commit=")" + commit + R"(",version="0.1.0"})") == 1);
}

TEST_CASE("per-record latencies: one observation per record, in one call per batch", "[metrics]") {
    service_metrics metrics;
    // A batch of 100 records whose engine time was 2 ms: 20 µs each.
    metrics.observe_apply_latency(0.002 / 100, 100);
    metrics.observe_apply_latency(0.5, 0); // no records, nothing observed
    // Four records: the one from a clock ahead of ours counts as 0 s.
    const std::vector<double> e2e = {0.002, 0.3, -1.0, 400.0};
    metrics.observe_end_to_end_latency(e2e);

    auto s = scrape(metrics.serialize());
    CHECK(s.at("posd_apply_latency_seconds_count") == 100);
    CHECK(s.at("posd_apply_latency_seconds_sum") == Approx(0.002));
    CHECK(s.at(R"(posd_apply_latency_seconds_bucket{le="1e-05"})") == 0);
    CHECK(s.at(R"(posd_apply_latency_seconds_bucket{le="2.5e-05"})") == 100);
    CHECK(s.at(R"(posd_apply_latency_seconds_bucket{le="+Inf"})") == 100);
    CHECK(s.at("posd_end_to_end_latency_seconds_count") == 4);
    CHECK(s.at("posd_end_to_end_latency_seconds_sum") == Approx(400.302));
    CHECK(s.at(R"(posd_end_to_end_latency_seconds_bucket{le="0.001"})") == 1);
    CHECK(s.at(R"(posd_end_to_end_latency_seconds_bucket{le="0.0025"})") == 2);
    CHECK(s.at(R"(posd_end_to_end_latency_seconds_bucket{le="0.5"})") == 3);
    CHECK(s.at(R"(posd_end_to_end_latency_seconds_bucket{le="300"})") == 3);
    CHECK(s.at(R"(posd_end_to_end_latency_seconds_bucket{le="+Inf"})") == 4);
}

TEST_CASE("write stalls are counters that follow RocksDB's cumulative figures", "[metrics]") {
    service_metrics metrics;
    auto s = scrape(metrics.serialize());
    CHECK(s.at("posd_state_write_stalls_total") == 0);
    CHECK(s.count("posd_state_write_stalls") == 0); // no gauge of the same thing
    metrics.sample_state_write_stalls(3, 1'500'000);
    metrics.sample_state_write_stalls(3, 1'500'000); // unchanged: nothing added
    s = scrape(metrics.serialize());
    CHECK(s.at("posd_state_write_stalls_total") == 3);
    CHECK(s.at("posd_state_write_stall_seconds_total") == Approx(1.5));
    metrics.sample_state_write_stalls(5, 2'000'000);
    s = scrape(metrics.serialize());
    CHECK(s.at("posd_state_write_stalls_total") == 5);
    CHECK(s.at("posd_state_write_stall_seconds_total") == Approx(2.0));
    // The store opened again: RocksDB counts from 0, the counter carries on.
    metrics.sample_state_write_stalls(1, 250'000);
    s = scrape(metrics.serialize());
    CHECK(s.at("posd_state_write_stalls_total") == 6);
    CHECK(s.at("posd_state_write_stall_seconds_total") == Approx(2.25));
}

TEST_CASE("outputs, aborts, END_OF_DAYs, business dates and reference rejects by their labels", "[metrics]") {
    service_metrics metrics;
    metrics.outputs("position.updated").Increment(4);
    metrics.outputs("activity.dlq").Increment();
    metrics.transaction_aborts().Increment();
    metrics.end_of_day_records_applied(2).Increment();
    metrics.business_date_seconds(2).Set(19'786.0 * 86'400); // 2024-03-04
    metrics.refdata_rejected("MALFORMED").Increment(2);
    metrics.http_requests("/positions/{key}", 404).Increment();
    metrics.http_requests("/positions/{key}", 404).Increment();
    metrics.http_requests("unmatched", 400).Increment();

    auto s = scrape(metrics.serialize());
    CHECK(s.at(R"(posd_outputs_total{topic="position.updated"})") == 4);
    CHECK(s.at(R"(posd_outputs_total{topic="activity.dlq"})") == 1);
    CHECK(s.at("posd_transaction_aborts_total") == 1);
    CHECK(s.at(R"(posd_end_of_day_records_applied_total{partition="2"})") == 1);
    CHECK(s.at(R"(posd_business_date_seconds{partition="2"})") == 1'709'510'400);
    CHECK(s.at(R"(posd_refdata_rejected_total{reason="MALFORMED"})") == 2);
    CHECK(s.at(R"(posd_http_requests_total{route="/positions/{key}",status="404"})") == 2);
    CHECK(s.at(R"(posd_http_requests_total{route="unmatched",status="400"})") == 1);

    // A revoked partition's business date goes with its other gauges; its
    // END_OF_DAY counter stays (counters never go back).
    metrics.forget_partition(2);
    s = scrape(metrics.serialize());
    CHECK(s.count(R"(posd_business_date_seconds{partition="2"})") == 0);
    CHECK(s.at(R"(posd_end_of_day_records_applied_total{partition="2"})") == 1);
}
