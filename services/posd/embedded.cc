#include "embedded.h"
#include "queries.h"

#include "codec/decoder.h"
#include "codec/json_encode.h"
#include "model/keys.h"
#include "ops/http_server.h"
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

std::vector<stream::topic_spec> service_topic_specs(const topic_names& topics, const reference_topics& reference,
                                                   int partitions, int replication_factor) {
    std::vector<stream::topic_spec> out;
    for (const std::string* t :
         {&topics.activity, &topics.position_updated, &topics.market_value, &topics.margin_updated, &topics.dead_letter})
        out.push_back({*t, partitions, replication_factor, {}});
    for (const std::string* t : {&topics.changelog, &reference.bookkeeping_rules, &reference.products,
                                 &reference.securities, &reference.margin_rules, &reference.prices,
                                 &reference.fx_rates})
        out.push_back({*t, partitions, replication_factor, {{"cleanup.policy", "compact"}}});
    return out;
}

void create_service_topics(stream::embedded_cluster& cluster, const topic_names& topics, int partitions,
                           const reference_topics& reference) {
    for (const stream::topic_spec& t : service_topic_specs(topics, reference, partitions, 1))
        cluster.create_topic(t.name, t.partitions);
}

topic_names service_topics(const ops::config& c) {
    topic_names t;
    t.activity = c.topics.activity;
    t.position_updated = c.topics.position_updated;
    t.market_value = c.topics.market_value;
    t.margin_updated = c.topics.margin_updated;
    t.dead_letter = c.topics.dead_letter;
    t.changelog = c.topics.changelog;
    return t;
}

reference_topics reference_topics_of(const ops::config& c) {
    reference_topics t;
    t.bookkeeping_rules = c.topics.refdata_bookkeeping_rules;
    t.products = c.topics.refdata_products;
    t.securities = c.topics.refdata_securities;
    t.margin_rules = c.topics.refdata_margin_rules;
    t.prices = c.topics.prices;
    t.fx_rates = c.topics.fx_rates;
    return t;
}

std::int32_t partitions_of(RdKafka::Handle& client, const std::string& topic) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&client, topic, nullptr, err));
    if (!handle) throw std::runtime_error("topic " + topic + ": " + err);
    RdKafka::Metadata* md = nullptr;
    if (client.metadata(false, handle.get(), &md, 30'000) != RdKafka::ERR_NO_ERROR || !md ||
        md->topics()->empty() || md->topics()->front()->partitions()->empty()) {
        delete md;
        throw std::runtime_error("no metadata for topic " + topic);
    }
    const auto n = static_cast<std::int32_t>(md->topics()->front()->partitions()->size());
    delete md;
    return n;
}

// Produces every line of `path` to the activity topic, keyed by the record's
// account key (what a producer would send; undecodable lines get an empty
// key and are rejected by posd). A control record (END_OF_DAY) goes to every
// partition, as the end-of-day job sends it. Returns the number of records
// produced.
std::vector<std::int32_t> activity_partitions(const model::decoded_record& record, std::int32_t partitions) {
    if (!std::holds_alternative<model::control_record>(record)) return {RdKafka::Topic::PARTITION_UA};
    std::vector<std::int32_t> all(static_cast<std::size_t>(partitions));
    for (std::int32_t p = 0; p < partitions; ++p) all[static_cast<std::size_t>(p)] = p;
    return all;
}

std::uint64_t produce_activity_file(const std::string& path, const std::string& bootstrap, const std::string& topic) {
    return produce_activity_file(path, std::map<std::string, std::string>{{"bootstrap.servers", bootstrap}}, topic);
}

std::uint64_t produce_activity_file(const std::string& path, const std::map<std::string, std::string>& kafka,
                                    const std::string& topic) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(fmt::format("cannot open activity file {}", path));
    auto producer = stream::make_producer(kafka);
    const std::int32_t partitions = partitions_of(*producer, topic);
    codec::decoder decoder;
    std::string line;
    std::uint64_t n = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::string key;
        const model::decoded_record d = decoder.decode(line, codec::content_type::json);
        if (const auto* a = std::get_if<model::activity_record>(&d)) key = a->account().value();
        for (std::int32_t p : activity_partitions(d, partitions)) {
            stream::produce_message(*producer, {topic, p, key, line, {}});
            ++n;
        }
    }
    if (producer->flush(30'000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush of the activity file failed");
    return n;
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
    s.topics = service_topics(cfg);
    const reference_topics reference = reference_topics_of(cfg);
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
        produced = produce_activity_file(cfg.replay_file, s.kafka, s.topics.activity);
        ops::log_info("activity file produced",
                      {{"file", cfg.replay_file}, {"records", produced}, {"topic", s.topics.activity}});
    }

    const std::int32_t partition_count = partitions_of(*stream::make_producer(s.kafka), s.topics.activity);
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
