#include "embedded.h"
#include "queries.h"

#include "codec/decoder.h"
#include "codec/json_encode.h"
#include "model/keys.h"
#include "ops/http_server.h"
#include "outputs/produce.h"
#include "ops/json_text.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "refdata_files.h"
#include "store/partitioner.h"
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

#include <sys/resource.h>
#include <unistd.h>

namespace posd::service {

namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) { stop_requested.store(true); }

// The embedded mode's temporary state directory, removed when this goes out
// of scope: on return and on every exception. Declared before the store, so
// that the store is closed first.
struct temporary_state_dir {
    std::optional<std::filesystem::path> path;
    temporary_state_dir() = default;
    temporary_state_dir(const temporary_state_dir&) = delete;
    temporary_state_dir& operator=(const temporary_state_dir&) = delete;
    ~temporary_state_dir() {
        if (!path) return;
        std::error_code ec;
        std::filesystem::remove_all(*path, ec);
        if (ec) ops::log_warn("cannot remove the temporary state directory", {{"dir", path->string()}, {"error", ec.message()}});
    }
};

// The soft limit of open files up to the hard one: the HTTP server's 1,024
// connections, RocksDB's table files (max_open_files 1,024) and Kafka's
// sockets must not run each other out of descriptors (Debian's default soft
// limit is 1,024), where RocksDB or librdkafka would fail for it.
void raise_open_files_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max) return;
    const rlim_t before = r.rlim_cur;
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r) == 0)
        ops::log_debug("open files limit raised", {{"from", static_cast<std::uint64_t>(before)},
                                                  {"to", static_cast<std::uint64_t>(r.rlim_cur)}});
}

} // namespace

void create_service_topics(stream::embedded_cluster& cluster, const topic_names& topics, int partitions,
                           const reference_topics& reference) {
    for (const stream::topic_spec& t : outputs::topic_specs(topics, reference, partitions, 1))
        cluster.create_topic(t.name, t.partitions);
}

namespace {

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "posd";
    return buf;
}

void log_counts(std::string_view message, const service_counts& c) {
    ops::log_info(message, {{"records_in", c.records.records_in},
                            {"applied", c.records.applied},
                            {"duplicates", c.records.duplicates},
                            {"rejected", c.records.rejected},
                            {"end_of_day", c.records.controls},
                            {"batches", c.batches},
                            {"outputs", c.outputs},
                            {"revalue_batches", c.revalue_batches}});
}

} // namespace

int run_service(const ops::config& cfg, const engine::engine_config& config) {
    // SIGHUP (the terminal went away) stops like SIGTERM, so that the
    // embedded mode's temporary state goes too; a closed stdout must not
    // kill posd by SIGPIPE either.
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    raise_open_files_limit();
    kafka_service_settings s;
    s.topics = outputs::topic_names_of(cfg);
    const reference_topics reference = outputs::reference_topics_of(cfg);
    s.kafka = cfg.kafka;
    std::unique_ptr<stream::embedded_cluster> cluster;
    const bool embedded = !s.kafka.contains("bootstrap.servers");
    if (embedded) {
        cluster = std::make_unique<stream::embedded_cluster>(1);
        s.kafka["bootstrap.servers"] = cluster->bootstrap_servers();
        create_service_topics(*cluster, s.topics, static_cast<int>(cfg.embedded_partitions), reference);
        // The mock cluster implements neither transactions nor read_committed.
        s.mode = stream::delivery_mode::at_least_once;
        // It waits session.timeout.ms - 1000 on every group change.
        s.consumer_kafka["session.timeout.ms"] = "6000";
        ops::log_info("embedded Kafka-protocol cluster started",
                      {{"bootstrap_servers", s.kafka["bootstrap.servers"]}, {"partitions", cfg.embedded_partitions}});
    }
    const std::string bootstrap = s.kafka["bootstrap.servers"];
    std::printf("bootstrap.servers=%s\n", bootstrap.c_str());
    std::fflush(stdout);
    s.group_id = cfg.group_id;
    s.instance_id = cfg.instance_id.empty() ? host_name() : cfg.instance_id;
    s.batch_records_max = cfg.batch_records_max;
    s.batch_wait_max = std::chrono::milliseconds(cfg.batch_wait_max_ms);
    s.revalue_coalesce = std::chrono::milliseconds(cfg.revalue_coalesce_ms);
    s.input_gap_skip = cfg.input_gap_skip;

    // The embedded cluster's topics and offsets die with the process, so no
    // state may outlive it: a temporary directory, removed at exit.
    temporary_state_dir temp_state;
    if (embedded) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "posd-embedded-state-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary state directory");
        temp_state.path = tmpl;
    }
    store::store_options so;
    so.path = temp_state.path ? temp_state.path->string() : cfg.state_dir;
    so.applied_ids_retained = config.applied_ids_retained;
    so.changelog_topic = s.topics.changelog;
    so.block_cache_bytes = cfg.state_block_cache_mb << 20;
    so.write_buffer_bytes = cfg.state_write_buffer_mb << 20;
    auto store = store::rocks_store::open(so);
    ops::log_info("state opened", {{"dir", so.path}});

    if (!cfg.refdata_dir.empty()) {
        const refdata_load_result r = produce_reference_dir(cfg.refdata_dir, s.kafka, reference);
        for (const std::string& p : r.problems) ops::log_warn("reference file line skipped", {{"problem", p}});
        ops::log_info("reference files produced", {{"dir", cfg.refdata_dir}, {"records", r.loaded}});
    }
    ops::service_metrics metrics; // before the tables: they count skipped reference records
    s.metrics = &metrics;
    reference_tables tables(s.kafka, reference, s.kafka_timeout, &metrics);
    tables.load();
    {
        const reference_counts rc = tables.counts();
        ops::log_info("reference data loaded", {{"records", rc.applied}, {"skipped", rc.rejected}});
    }
    s.tables = &tables;

    std::uint64_t produced = 0;
    if (!cfg.replay_file.empty()) {
        produced = outputs::produce_activity_file(cfg.replay_file, s.kafka, s.topics.activity);
        ops::log_info("activity file produced",
                      {{"file", cfg.replay_file}, {"records", produced}, {"topic", s.topics.activity}});
    }

    const std::int32_t partition_count = stream::partitions_of(*stream::make_producer(s.kafka), s.topics.activity);
    // The HTTP server first: its bound port makes the advertised address
    // the consumer's client.id carries (README.md, "HTTP").
    partition_view view;
    owner_directory owners(s.kafka, {s.group_id, s.topics.activity});
    // Declared before the server, so that it outlives it (ready() reads it).
    std::unique_ptr<kafka_service> service;
    std::atomic<kafka_service*> running{nullptr};
    ops::http_server::options ho;
    ho.address = cfg.http_address;
    ho.port = cfg.http_port;
    ho.threads = 4; // a forwarded query waits for its owner; probes and other queries must not wait behind it
    ho.ready = [&running] {
        const kafka_service* sv = running.load();
        return sv && sv->ready();
    };
    ho.metrics = &metrics;
    ops::http_server http(ho);
    const std::string host = host_name();
    auto advertised = [&http, &cfg, host] {
        return cfg.http_advertised_address.empty()
                   ? default_advertised_address(cfg.http_address, http.port(), host)
                   : cfg.http_advertised_address;
    };
    add_query_routes(http, *store, partition_count, {&view, &owners, advertised});
    http.start();
    s.view = &view;
    s.advertised_http = advertised();
    service = std::make_unique<kafka_service>(s, config, tables.data(), *store);
    running.store(service.get());
    std::printf("http=%s:%u\n", cfg.http_address.c_str(), static_cast<unsigned>(http.port()));
    std::fflush(stdout);
    ops::log_info("http", {{"address", cfg.http_address}, {"port", http.port()}, {"advertised", s.advertised_http}});

    // Once the replayed file is accounted for: exit (exit-when-done) or say
    // so, with where to read the outputs.
    bool announced = produced == 0;
    auto until = [&](const service_counts& c) {
        if (announced || c.records.records_in < produced) return false;
        if (cfg.exit_when_done) return true;
        announced = true;
        log_counts("activity file applied; posd keeps running until SIGTERM", c);
        ops::log_info("read the outputs", {{"command", fmt::format("kcat -b {} -C -t {} -o beginning -e", bootstrap,
                                                                   s.topics.position_updated)}});
        return false;
    };
    service->run(stop_requested, until);
    const service_counts c = service->counts();
    log_counts("stopped", c);
    http.stop();
    store.reset();
    return c.records.records_in == c.records.applied + c.records.duplicates + c.records.rejected ? 0 : 1;
}

} // namespace posd::service
