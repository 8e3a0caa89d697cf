#include "embedded.h"

#include "codec/decoder.h"
#include "store/store.h"
#include "stream/embedded_cluster.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

namespace posd::service {

namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) { stop_requested.store(true); }

} // namespace

// Produces every line of `path` to the activity topic, keyed by the record's
// account key (what a producer would send; undecodable lines get an empty
// key and are rejected by posd). A control record (END_OF_DAY) goes to every
// partition, as the end-of-day job sends it. Returns the number of records
// produced.
std::uint64_t produce_activity_file(const std::string& path, const std::string& bootstrap, const std::string& topic) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(fmt::format("cannot open activity file {}", path));
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    // murmur2: the Java client's partitioner, which the store's queries assume.
    for (auto [k, v] : {std::pair{"bootstrap.servers", bootstrap.c_str()}, std::pair{"partitioner", "murmur2_random"},
                        std::pair{"enable.idempotence", "true"}})
        if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error(err);
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
    if (!producer) throw std::runtime_error("cannot create the producer: " + err);
    std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(producer.get(), topic, nullptr, err));
    if (!handle) throw std::runtime_error("topic " + topic + ": " + err);
    RdKafka::Metadata* md = nullptr;
    if (producer->metadata(false, handle.get(), &md, 30'000) != RdKafka::ERR_NO_ERROR || !md ||
        md->topics()->empty())
        throw std::runtime_error("no metadata for topic " + topic);
    const auto partitions = static_cast<std::int32_t>(md->topics()->front()->partitions()->size());
    delete md;
    codec::decoder decoder;
    std::string line;
    std::uint64_t n = 0;
    auto send = [&](std::int32_t partition, const std::string& key) {
        for (;;) {
            auto e = producer->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY, line.data(), line.size(),
                                       key.data(), key.size(), 0, nullptr, nullptr);
            if (e == RdKafka::ERR_NO_ERROR) break;
            if (e != RdKafka::ERR__QUEUE_FULL) throw std::runtime_error("produce: " + RdKafka::err2str(e));
            producer->poll(100);
        }
        ++n;
    };
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::string key;
        const model::decoded_record d = decoder.decode(line, codec::content_type::json);
        if (const auto* a = std::get_if<model::activity_record>(&d)) key = a->account().value();
        if (std::holds_alternative<model::control_record>(d)) {
            for (std::int32_t p = 0; p < partitions; ++p) send(p, key);
        } else {
            send(RdKafka::Topic::PARTITION_UA, key);
        }
    }
    if (producer->flush(30'000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush of the activity file failed");
    return n;
}

int run_kafka(const kafka_run_options& o, const engine::engine_config& config,
              const engine::reference_data& refdata) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    kafka_service_settings s;
    std::unique_ptr<stream::embedded_cluster> cluster;
    std::string bootstrap = o.bootstrap_servers;
    if (bootstrap.empty()) {
        cluster = std::make_unique<stream::embedded_cluster>(1);
        bootstrap = cluster->bootstrap_servers();
        for (const std::string* t : {&s.topics.activity, &s.topics.position_updated, &s.topics.market_value,
                                     &s.topics.margin_updated, &s.topics.dead_letter, &s.topics.changelog})
            cluster->create_topic(*t, o.partitions);
        // The mock cluster implements neither transactions nor read_committed.
        s.mode = stream::delivery_mode::at_least_once;
        // It waits session.timeout.ms - 1000 on every group change.
        s.consumer_kafka["session.timeout.ms"] = "6000";
    }
    std::printf("bootstrap.servers=%s\n", bootstrap.c_str());
    std::fflush(stdout);
    s.kafka["bootstrap.servers"] = bootstrap;
    s.batch_records_max = o.batch_records;

    std::optional<std::filesystem::path> temp_state;
    std::string state_dir = o.state_dir;
    if (state_dir.empty()) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "posd-state-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary state directory");
        state_dir = tmpl;
        temp_state = state_dir;
    }
    store::store_options so;
    so.path = state_dir;
    so.applied_ids_retained = config.applied_ids_retained;
    so.changelog_topic = s.topics.changelog;
    auto store = store::rocks_store::open(so);

    std::uint64_t produced = 0;
    if (!o.replay_file.empty()) {
        produced = produce_activity_file(o.replay_file, bootstrap, s.topics.activity);
        fmt::print(stderr, "posd: produced {} records from {} to {}\n", produced, o.replay_file, s.topics.activity);
    }

    kafka_service service(s, config, refdata, *store);
    std::function<bool(const service_counts&)> until;
    if (o.exit_when_done) until = [&](const service_counts& c) { return c.records.records_in >= produced; };
    service.run(stop_requested, until);
    const service_counts c = service.counts();
    fmt::print(stderr,
               "posd: kafka: records_in={} applied={} duplicates={} rejected={} (END_OF_DAY {}) batches={} "
               "outputs={}\n",
               c.records.records_in, c.records.applied, c.records.duplicates, c.records.rejected, c.records.controls,
               c.batches, c.outputs);
    store.reset();
    if (temp_state) std::filesystem::remove_all(*temp_state);
    return c.records.records_in == c.records.applied + c.records.duplicates + c.records.rejected ? 0 : 1;
}

} // namespace posd::service
