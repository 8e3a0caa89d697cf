// pipeline_bench: records/s through posd's Kafka service — consumer group,
// decode, engine, RocksDB commit with outbox and changelog, publish — on the
// embedded mock cluster, and the process's resident memory at the end.
// The same records are first run through the engine alone (decode + apply +
// memory_state, no Kafka, no RocksDB) in the same process: quote the ratio.
//
// The mock cluster implements no transactions, so the service publishes
// at-least-once here (produce + flush + offset commit per batch); a real
// broker's transactions are measured in issue 4's harness.
//
// Usage: pipeline_bench [--records N] [--accounts N] [--partitions N] [--batch N] [--seed N]
// Prints one JSON object on stdout; progress on stderr.

#include "embedded.h"
#include "kafka_service.h"

#include "codec/decoder.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "store/store.h"
#include "stream/embedded_cluster.h"
#include "workload/generator.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace posd;

namespace {

struct options {
    std::uint64_t records = 200'000;
    std::uint64_t accounts = 20'000;
    std::uint64_t partitions = 2;
    std::uint64_t batch = 500;
    std::uint64_t seed = 1;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string f = argv[i];
        const std::uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
        if (f == "--records") o.records = v;
        else if (f == "--accounts") o.accounts = v;
        else if (f == "--partitions") o.partitions = v;
        else if (f == "--batch") o.batch = v;
        else if (f == "--seed") o.seed = v;
        else {
            std::fprintf(stderr, "pipeline_bench: unknown flag %s\n", f.c_str());
            std::exit(2);
        }
    }
    if (o.records == 0 || o.partitions == 0 || o.batch == 0 || o.batch > limits::batch_records_max) {
        std::fprintf(stderr, "pipeline_bench: bad value\n");
        std::exit(2);
    }
    return o;
}

std::uint64_t resident_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
    return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    workload::workload_config wc;
    wc.seed = o.seed;
    wc.account_count = o.accounts;
    wc.hot_account_count = std::min<std::uint64_t>(20, o.accounts / 10);
    wc.end_of_day_every = 0;    // END_OF_DAY is the engine bench's subject
    wc.price_update_every = 0;  // no prices topic here
    workload::activity_generator gen(wc);
    engine::reference_data ref;
    gen.reference().load_into(ref);
    engine::engine_config config;
    config.initial_business_date = wc.start_business_date;

    std::vector<workload::item> items;
    items.reserve(o.records);
    while (items.size() < o.records) {
        workload::item it = gen.next();
        if (it.kind == workload::item_kind::activity) items.push_back(std::move(it));
    }
    std::fprintf(stderr, "pipeline_bench: %zu records over %llu accounts\n", items.size(),
                 static_cast<unsigned long long>(o.accounts));

    // Baseline: the engine alone on one core, same records, same batch size.
    double engine_s = 0;
    {
        codec::decoder decoder;
        engine::memory_state state;
        engine::partition_engine eng(0, config, ref);
        std::vector<engine::input_record> batch;
        const auto t0 = std::chrono::steady_clock::now();
        std::int64_t offset = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            engine::input_record in;
            in.offset = offset++;
            in.key = items[i].key;
            in.value = items[i].value;
            in.decoded = decoder.decode(items[i].value, codec::content_type_from_header(
                                                            items[i].content_type.empty()
                                                                ? std::nullopt
                                                                : std::optional<std::string_view>(items[i].content_type)));
            batch.push_back(std::move(in));
            if (batch.size() == o.batch || i + 1 == items.size()) {
                state.apply(eng.apply(state, batch, timestamp{0}));
                batch.clear();
            }
        }
        engine_s = seconds_since(t0);
    }

    // The service on the embedded cluster.
    stream::embedded_cluster cluster;
    service::kafka_service_settings s;
    service::create_service_topics(cluster, s.topics, static_cast<int>(o.partitions));
    s.kafka["bootstrap.servers"] = cluster.bootstrap_servers();
    s.consumer_kafka["session.timeout.ms"] = "6000";
    s.mode = stream::delivery_mode::at_least_once;
    s.batch_records_max = o.batch;
    {
        auto producer =
            stream::make_producer({{"bootstrap.servers", cluster.bootstrap_servers()}, {"linger.ms", "5"}});
        for (const auto& it : items)
            stream::produce_message(*producer, {s.topics.activity, RdKafka::Topic::PARTITION_UA, it.key, it.value, {}});
        producer->flush(60'000);
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "posd-pipeline-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return 1;
    store::store_options so;
    so.path = tmpl;
    so.changelog_topic = s.topics.changelog;
    auto store = store::rocks_store::open(so);
    const std::uint64_t rss_before = resident_kib();
    std::atomic<bool> stop{false};
    service::kafka_service svc(s, config, ref, *store);
    std::chrono::steady_clock::time_point first_record{};
    const auto started = std::chrono::steady_clock::now();
    svc.run(stop, [&](const service::service_counts& c) {
        if (c.records.records_in > 0 && first_record == std::chrono::steady_clock::time_point{})
            first_record = std::chrono::steady_clock::now();
        return c.records.records_in >= items.size() || seconds_since(started) > 1800;
    });
    const double service_s = seconds_since(first_record);
    const service::service_counts c = svc.counts();
    const std::uint64_t rss = resident_kib();
    const auto stats = store->stats();
    store.reset();
    std::filesystem::remove_all(tmpl);
    const double n = static_cast<double>(items.size());
    std::printf("{\"bench\":\"pipeline\",\"records\":%zu,\"accounts\":%llu,\"partitions\":%llu,\"batch\":%llu,"
                "\"delivery\":\"at_least_once (mock cluster)\",\"records_per_s\":%.0f,"
                "\"engine_only_records_per_s\":%.0f,\"ratio_to_engine_only\":%.2f,\"batches\":%llu,"
                "\"outputs\":%llu,\"applied\":%llu,\"duplicates\":%llu,\"rejected\":%llu,"
                "\"resident_mib\":%.0f,\"resident_mib_before_service\":%.0f,\"state_live_mib\":%.1f}\n",
                items.size(), static_cast<unsigned long long>(o.accounts),
                static_cast<unsigned long long>(o.partitions), static_cast<unsigned long long>(o.batch),
                n / service_s, n / engine_s, (n / engine_s) / (n / service_s),
                static_cast<unsigned long long>(c.batches), static_cast<unsigned long long>(c.outputs),
                static_cast<unsigned long long>(c.records.applied), static_cast<unsigned long long>(c.records.duplicates),
                static_cast<unsigned long long>(c.records.rejected), static_cast<double>(rss) / 1024.0,
                static_cast<double>(rss_before) / 1024.0,
                static_cast<double>(stats.estimated_live_data_bytes + stats.memtable_bytes) / (1024.0 * 1024.0));
    return c.records.records_in == items.size() ? 0 : 1;
}
