#include "embedded.h"

#include "codec/decoder.h"
#include "codec/json_encode.h"
#include "model/keys.h"
#include "ops/http_server.h"
#include "ops/metrics.h"
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

namespace posd::service {

namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) { stop_requested.store(true); }

// Read-only queries over the store (README.md, "HTTP"). Positions and
// balances are the JSON of the position.updated / margin.updated events.
void add_query_routes(ops::http_server& http, store::rocks_store& store, std::int32_t partitions) {
    auto partition_of = [partitions](std::string_view account) {
        return store::kafka_partition_for_key(account, partitions);
    };
    auto position_json = [](const model::position& p) {
        std::string out;
        codec::encode_json(model::position_updated{p, {}, {}, timestamp{0}, timestamp{0}}, out);
        return out;
    };
    http.route("/positions/{key}", [&store, partition_of, position_json](const ops::http_request& r) {
        const std::string& key = r.param("key");
        if (std::count(key.begin(), key.end(), '|') != 5)
            return ops::http_response::error(400, "bad_key", "a position key is firm|ledger|branch|base|subAcctKey|cusip");
        const std::string account = model::account_of(model::position_key{key}).value();
        auto p = store.find_position(partition_of(account), key);
        if (!p) return ops::http_response::error(404, "not_found", "no position " + model::mask_account(key));
        return ops::http_response::json(position_json(*p));
    });
    http.route("/accounts/{account}/positions", [&store, partition_of, position_json](const ops::http_request& r) {
        const std::string& account = r.param("account");
        if (std::count(account.begin(), account.end(), '|') != 3)
            return ops::http_response::error(400, "bad_key", "an account key is firm|ledger|branch|base");
        auto positions = store.account_positions(partition_of(account), account);
        if (positions.empty())
            return ops::http_response::error(404, "not_found", "no positions for " + model::mask_account(account));
        std::string body = "[";
        for (const auto& p : positions) {
            if (body.size() > 1) body += ',';
            body += position_json(p);
        }
        return ops::http_response::json(body + "]");
    });
    http.route("/accounts/{account}/balance", [&store, partition_of](const ops::http_request& r) {
        const std::string& account = r.param("account");
        if (std::count(account.begin(), account.end(), '|') != 3)
            return ops::http_response::error(400, "bad_key", "an account key is firm|ledger|branch|base");
        auto b = store.find_balance(partition_of(account), account);
        if (!b) return ops::http_response::error(404, "not_found", "no balance for " + model::mask_account(account));
        std::string out;
        codec::encode_json(model::margin_updated{*b, timestamp{0}}, out);
        return ops::http_response::json(out);
    });
}

} // namespace

void create_service_topics(stream::embedded_cluster& cluster, const topic_names& topics, int partitions) {
    for (const std::string* t : {&topics.activity, &topics.position_updated, &topics.market_value,
                                 &topics.margin_updated, &topics.dead_letter, &topics.changelog})
        cluster.create_topic(*t, partitions);
}

std::int32_t partitions_of(RdKafka::Producer& producer, const std::string& topic) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&producer, topic, nullptr, err));
    if (!handle) throw std::runtime_error("topic " + topic + ": " + err);
    RdKafka::Metadata* md = nullptr;
    if (producer.metadata(false, handle.get(), &md, 30'000) != RdKafka::ERR_NO_ERROR || !md ||
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
std::uint64_t produce_activity_file(const std::string& path, const std::string& bootstrap, const std::string& topic) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(fmt::format("cannot open activity file {}", path));
    auto producer = stream::make_producer({{"bootstrap.servers", bootstrap}});
    const std::int32_t partitions = partitions_of(*producer, topic);
    codec::decoder decoder;
    std::string line;
    std::uint64_t n = 0;
    auto send = [&](std::int32_t partition, std::string key) {
        stream::produce_message(*producer, {topic, partition, std::move(key), line, {}});
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
        create_service_topics(*cluster, s.topics, o.partitions);
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

    ops::service_metrics metrics;
    s.metrics = &metrics;
    kafka_service service(s, config, refdata, *store);
    std::int32_t partition_count = o.partitions;
    if (!o.bootstrap_servers.empty()) {
        partition_count = partitions_of(*stream::make_producer(s.kafka), s.topics.activity);
    }
    ops::http_server::options ho;
    ho.address = o.http_address;
    ho.port = o.http_port;
    ho.ready = [&service] { return service.ready(); };
    ho.metrics = &metrics;
    ops::http_server http(ho);
    add_query_routes(http, *store, partition_count);
    http.start();
    std::printf("http=%s:%u\n", o.http_address.c_str(), static_cast<unsigned>(http.port()));
    std::fflush(stdout);
    std::function<bool(const service_counts&)> until;
    if (o.exit_when_done) until = [&](const service_counts& c) { return c.records.records_in >= produced; };
    service.run(stop_requested, until);
    const service_counts c = service.counts();
    fmt::print(stderr,
               "posd: kafka: records_in={} applied={} duplicates={} rejected={} (END_OF_DAY {}) batches={} "
               "outputs={}\n",
               c.records.records_in, c.records.applied, c.records.duplicates, c.records.rejected, c.records.controls,
               c.batches, c.outputs);
    http.stop();
    store.reset();
    if (temp_state) std::filesystem::remove_all(*temp_state);
    return c.records.records_in == c.records.applied + c.records.duplicates + c.records.rejected ? 0 : 1;
}

} // namespace posd::service
