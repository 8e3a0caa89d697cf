// pipeline_bench: records/s through posd's Kafka service — consumer group,
// decode, engine over RocksDB, one WriteBatch with outbox and changelog per
// batch, then the Kafka transaction (or produce + flush + offset commit) —
// and the process's resident memory at the end.
//
// Two clusters: the embedded mock cluster (default; in this process) or a
// real broker (--bootstrap-servers; topics with names unique to the run are
// created with stream::create_topics). Two delivery modes: transactional
// (default, issue 3) and at-least-once. On the mock (librdkafka 2.0.2),
// transactional publishing runs — init, begin, produce, send_offsets and
// commit all succeed — but proves nothing: the group's committed offsets
// stay unset (committed_offsets_sum is 0), so only the throughput means
// anything there.
//
// The same records first run through the engine alone (decode + apply +
// memory_state, one core, no Kafka, no RocksDB) in the same process: that
// is the baseline, quote the ratio (the machine is shared and noisy).
//
// --prefill-positions N builds the state before the service starts: the
// same generator's earlier records, applied by one engine per partition
// straight to rocks_store::commit (posd's store options but a 1 GiB block
// cache, see prefill_block_cache_bytes), until the store holds >= N
// positions. The measured records continue that stream,
// so they sell and add to the pre-filled holdings. The pre-filled meta says
// next offset 0 and no batch id, so the service takes the state for a
// first batch whose (empty) outbox was never published: it republishes it
// (offset 0) and starts at offset 0 of the fresh activity topic.
//
// Usage: pipeline_bench [--records N] [--accounts N] [--partitions N] [--batch N] [--batch-wait-ms N]
//                       [--seed N] [--mode transactional|at-least-once] [--bootstrap-servers HOST:PORT]
//                       [--prefill-positions N] [--block-cache-mib N] [--kafka KEY=VALUE]...
// --block-cache-mib is posd's state.block-cache-mb (default 64); memtables
// stay at posd's defaults (16 MiB x 2).
// --kafka sets a librdkafka property of the service's consumer and producers
// (linger.ms, debug...); repeat it for several.
// Prints one JSON object on stdout; progress on stderr. Asserts nothing
// about speed; exits 1 when a record is not accounted for.

#include "embedded.h"
#include "kafka_service.h"

#include "codec/decoder.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "ops/metrics.h"
#include "store/partitioner.h"
#include "store/store.h"
#include "stream/admin.h"
#include "stream/embedded_cluster.h"
#include "workload/generator.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace posd;

namespace {

struct options {
    std::uint64_t records = 20'000;
    std::uint64_t accounts = 20'000;
    std::uint64_t partitions = 2;
    std::uint64_t batch = 500;
    std::uint64_t batch_wait_ms = 5;
    std::uint64_t seed = 1;
    stream::delivery_mode mode = stream::delivery_mode::transactional;
    std::string bootstrap_servers; // empty: the embedded mock cluster
    std::uint64_t prefill_positions = 0;
    std::uint64_t block_cache_mib = 64; // posd's state.block-cache-mb default
    std::map<std::string, std::string> kafka; // --kafka KEY=VALUE: librdkafka settings of the service
    // Latency mode (--latency-rate N, real broker only): records produced at
    // N records/s for warmup + measure seconds while the service runs; a
    // read_committed reader of position.updated times each record.
    std::uint64_t latency_rate = 0;
    std::uint64_t latency_seconds = 30;
    std::uint64_t warmup_seconds = 5;
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "pipeline_bench: %s\nusage: pipeline_bench [--records N] [--accounts N] [--partitions N] "
                 "[--batch N] [--batch-wait-ms N] [--seed N] [--mode transactional|at-least-once] "
                 "[--bootstrap-servers HOST:PORT] [--prefill-positions N] [--block-cache-mib N] "
                 "[--kafka KEY=VALUE]... [--latency-rate N [--latency-seconds N] [--warmup-seconds N]]\n",
                 why.c_str());
    std::exit(2);
}

// Ends the JSON object in `out` (with the failure, if any, quotes made
// harmless) and prints it as one line on stdout.
void print_result(std::string& out, const std::string& failure) {
    if (!failure.empty()) {
        std::string text;
        for (char ch : failure) text += ch == '"' || ch == '\\' ? '\'' : ch;
        out += fmt::format(",\"failure\":\"{}\"", text);
    }
    out += "}\n";
    std::fputs(out.c_str(), stdout);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; i += 2) {
        const std::string f = argv[i];
        if (i + 1 >= argc) usage("no value for " + f);
        const std::string v = argv[i + 1];
        char* end = nullptr;
        const std::uint64_t n = std::strtoull(v.c_str(), &end, 10);
        const bool number = !v.empty() && end && *end == '\0';
        auto num = [&] {
            if (!number) usage("bad number for " + f + ": " + v);
            return n;
        };
        if (f == "--records") o.records = num();
        else if (f == "--accounts") o.accounts = num();
        else if (f == "--partitions") o.partitions = num();
        else if (f == "--batch") o.batch = num();
        else if (f == "--batch-wait-ms") o.batch_wait_ms = num();
        else if (f == "--seed") o.seed = num();
        else if (f == "--prefill-positions") o.prefill_positions = num();
        else if (f == "--block-cache-mib") o.block_cache_mib = num();
        else if (f == "--latency-rate") o.latency_rate = num();
        else if (f == "--latency-seconds") o.latency_seconds = num();
        else if (f == "--warmup-seconds") o.warmup_seconds = num();
        else if (f == "--bootstrap-servers") o.bootstrap_servers = v;
        else if (f == "--kafka") {
            const auto eq = v.find('=');
            if (eq == std::string::npos || eq == 0) usage("--kafka wants KEY=VALUE, not " + v);
            o.kafka[v.substr(0, eq)] = v.substr(eq + 1);
        }
        else if (f == "--mode") {
            if (v == "transactional") o.mode = stream::delivery_mode::transactional;
            else if (v == "at-least-once") o.mode = stream::delivery_mode::at_least_once;
            else usage("bad --mode " + v);
        } else usage("unknown flag " + f);
    }
    if (o.records == 0 || o.partitions == 0 || o.partitions > 1024 || o.batch == 0 ||
        o.batch > limits::batch_records_max || o.accounts < 100 || o.batch_wait_ms > 60'000 ||
        o.block_cache_mib == 0 || o.block_cache_mib > 1024 * 1024 || o.latency_rate > 1'000'000 ||
        o.latency_seconds == 0 || o.latency_seconds > 3'600 || o.warmup_seconds > 3'600)
        usage("bad value");
    if (o.latency_rate > 0 && o.bootstrap_servers.empty())
        usage("--latency-rate needs --bootstrap-servers (the mock has no read_committed)");
    if (o.latency_rate > 0 && o.prefill_positions > 0) usage("--latency-rate and --prefill-positions do not mix");
    if (o.latency_rate > 0) o.records = o.latency_rate * (o.latency_seconds + o.warmup_seconds);
    return o;
}

struct memory_kib {
    std::uint64_t rss = 0; // VmRSS
    std::uint64_t hwm = 0; // VmHWM: the peak since start or since reset_peak_rss()
};

memory_kib memory() {
    std::ifstream in("/proc/self/status");
    std::string line;
    memory_kib m;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) m.rss = std::strtoull(line.c_str() + 6, nullptr, 10);
        if (line.rfind("VmHWM:", 0) == 0) m.hwm = std::strtoull(line.c_str() + 6, nullptr, 10);
    }
    return m;
}

// Resets VmHWM to the current RSS (Linux >= 4.0), so that the peak reported
// is the service's, not the generator's or the pre-fill's.
bool reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

double mib(std::uint64_t kib) { return static_cast<double>(kib) / 1024.0; }
double mib_bytes(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// CPU time of the whole process (every thread: librdkafka's and RocksDB's too).
double process_cpu_s() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
    return s(u.ru_utime) + s(u.ru_stime);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

codec::content_type type_of(const workload::item& it) {
    return codec::content_type_from_header(it.content_type.empty()
                                               ? std::nullopt
                                               : std::optional<std::string_view>(it.content_type));
}

// The q-quantile of a Prometheus histogram, interpolated linearly inside the
// bucket it falls in (so only as fine as the buckets: a factor of 2-2.5).
struct histogram_figures {
    std::uint64_t count = 0;
    double sum = 0;
    double p50 = 0;
    double p99 = 0;
};

histogram_figures figures_of(prometheus::Histogram& h) {
    const prometheus::ClientMetric m = h.Collect();
    histogram_figures f;
    f.count = m.histogram.sample_count;
    f.sum = m.histogram.sample_sum;
    auto quantile = [&](double q) {
        if (f.count == 0) return 0.0;
        const double rank = q * static_cast<double>(f.count);
        double lower = 0;
        std::uint64_t below = 0;
        for (const auto& b : m.histogram.bucket) {
            if (static_cast<double>(b.cumulative_count) >= rank) {
                if (std::isinf(b.upper_bound)) return lower;
                const auto in = static_cast<double>(b.cumulative_count - below);
                return lower + (b.upper_bound - lower) * (in > 0 ? (rank - static_cast<double>(below)) / in : 1.0);
            }
            lower = b.upper_bound;
            below = b.cumulative_count;
        }
        return lower;
    };
    f.p50 = quantile(0.50);
    f.p99 = quantile(0.99);
    return f;
}

std::string ms_json(const histogram_figures& f) {
    return fmt::format("{{\"count\":{},\"mean_ms\":{:.2f},\"p50_ms\":{:.2f},\"p99_ms\":{:.2f},\"total_s\":{:.3f}}}",
                       f.count, f.count ? 1e3 * f.sum / static_cast<double>(f.count) : 0.0, 1e3 * f.p50,
                       1e3 * f.p99, f.sum);
}

// A state_reader over the store that remembers which position keys had no
// state: the positions a batch creates are those of its write set among them
// (the engine reads each key once per batch, before it writes it).
class counting_reader : public engine::state_reader {
public:
    explicit counting_reader(engine::state_reader& inner) : inner_(inner) {}
    std::set<std::string, std::less<>> missing_positions;

    bool load_meta(std::int32_t p, model::partition_meta& out) override { return inner_.load_meta(p, out); }
    bool load_position(std::string_view key, model::position& out) override {
        const bool found = inner_.load_position(key, out);
        if (!found) missing_positions.emplace(key);
        return found;
    }
    bool load_managed_position(std::string_view key, model::managed_position& out) override {
        return inner_.load_managed_position(key, out);
    }
    bool load_balance(std::string_view key, model::margin_balance& out) override {
        return inner_.load_balance(key, out);
    }
    bool load_concentration(std::string_view account, std::string_view cusip,
                            model::portfolio_concentration& out) override {
        return inner_.load_concentration(account, cusip, out);
    }
    bool is_applied(std::int32_t p, std::string_view id) override { return inner_.is_applied(p, id); }
    void load_pending_due(std::int32_t p, date through, std::vector<model::pending_settlement>& out) override {
        inner_.load_pending_due(p, through, out);
    }
    void for_each_position_key(std::int32_t p, const std::function<void(std::string_view)>& fn) override {
        inner_.for_each_position_key(p, fn);
    }
    void for_each_position_key_in_cusip(std::int32_t p, std::string_view cusip,
                                        const std::function<void(std::string_view)>& fn) override {
        inner_.for_each_position_key_in_cusip(p, cusip, fn);
    }

private:
    engine::state_reader& inner_;
};

constexpr std::size_t prefill_block_cache_bytes = std::size_t{1} << 30;

struct prefill_result {
    std::uint64_t records = 0;
    std::uint64_t batches = 0;
    std::uint64_t positions_created = 0; // from the write sets
    double seconds = 0;
};

// Applies the generator's records, one engine per partition (the partition
// of the record's key, as Kafka's producer picks it), in batches committed
// straight to the store, until `target` positions exist. The generator runs
// on this thread; each partition's batches are decoded, applied and
// committed on a thread of their own (the store allows one thread per
// partition), so that the pre-fill uses both cores.
prefill_result prefill(workload::activity_generator& gen, const engine::engine_config& config,
                       const engine::reference_data& ref, store::rocks_store& store, std::int32_t partitions,
                       std::uint64_t target) {
    constexpr std::size_t prefill_batch_records = 5'000;
    constexpr std::size_t queued_batches_max = 4; // per partition
    const auto t0 = std::chrono::steady_clock::now();
    std::atomic<std::uint64_t> positions{0}, records{0}, batches{0};
    struct worker {
        std::mutex mutex;
        std::condition_variable changed;
        std::deque<std::vector<workload::item>> queue;
        bool done = false;
        std::thread thread;
    };
    std::vector<std::unique_ptr<worker>> workers;
    for (std::int32_t p = 0; p < partitions; ++p) workers.push_back(std::make_unique<worker>());
    std::exception_ptr failure;
    std::mutex failure_mutex;
    for (std::int32_t p = 0; p < partitions; ++p) {
        worker& w = *workers[static_cast<std::size_t>(p)];
        w.thread = std::thread([&, p, &w = w] {
            try {
                codec::decoder decoder;
                engine::partition_engine eng(p, config, ref);
                std::int64_t next_offset = 0;
                for (;;) {
                    std::vector<workload::item> items;
                    {
                        std::unique_lock lock(w.mutex);
                        w.changed.wait(lock, [&] { return w.done || !w.queue.empty(); });
                        if (w.queue.empty()) return;
                        items = std::move(w.queue.front());
                        w.queue.pop_front();
                    }
                    w.changed.notify_all();
                    std::vector<engine::input_record> batch;
                    batch.reserve(items.size());
                    for (const auto& it : items) {
                        engine::input_record in;
                        in.offset = next_offset++;
                        in.key = it.key;
                        in.value = it.value;
                        in.decoded = decoder.decode(it.value, type_of(it));
                        batch.push_back(std::move(in));
                    }
                    counting_reader reader(store.partition(p));
                    engine::write_set ws = eng.apply(reader, batch, timestamp{0});
                    std::uint64_t created = 0;
                    for (const auto& pos : ws.positions)
                        created += reader.missing_positions.contains(std::string_view(pos.key().value()));
                    // See the file's opening comment: no offset, no batch id.
                    ws.meta.next_offset = 0;
                    store.commit(ws, {}, nullptr, {});
                    positions += created;
                    records += items.size();
                    ++batches;
                }
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure) failure = std::current_exception();
                std::lock_guard wl(w.mutex);
                w.done = true;
                w.queue.clear();
            }
        });
    }
    std::vector<std::vector<workload::item>> pending(static_cast<std::size_t>(partitions));
    auto hand_over = [&](std::int32_t p) {
        auto& items = pending[static_cast<std::size_t>(p)];
        if (items.empty()) return;
        worker& w = *workers[static_cast<std::size_t>(p)];
        {
            std::unique_lock lock(w.mutex);
            w.changed.wait(lock, [&] { return w.done || w.queue.size() < queued_batches_max; });
            if (!w.done) w.queue.push_back(std::move(items));
        }
        w.changed.notify_all();
        items.clear();
    };
    auto last_report = t0;
    bool failed = false;
    while (positions.load() < target && !failed) {
        workload::item it = gen.next();
        if (it.kind != workload::item_kind::activity) continue;
        const std::int32_t p = store::kafka_partition_for_key(it.key, partitions);
        auto& items = pending[static_cast<std::size_t>(p)];
        items.push_back(std::move(it));
        if (items.size() >= prefill_batch_records) {
            hand_over(p);
            std::lock_guard lock(failure_mutex);
            failed = failure != nullptr;
        }
        if (seconds_since(last_report) > 10) {
            last_report = std::chrono::steady_clock::now();
            std::fprintf(stderr, "pipeline_bench: pre-fill: %llu records, %llu positions, %.0f s\n",
                         static_cast<unsigned long long>(records.load()),
                         static_cast<unsigned long long>(positions.load()), seconds_since(t0));
        }
    }
    for (std::int32_t p = 0; p < partitions; ++p) hand_over(p);
    for (auto& w : workers) {
        {
            std::lock_guard lock(w->mutex);
            w->done = true;
        }
        w->changed.notify_all();
        w->thread.join();
    }
    if (failure) std::rethrow_exception(failure);
    prefill_result r;
    r.records = records.load();
    r.batches = batches.load();
    r.positions_created = positions.load();
    r.seconds = seconds_since(t0);
    return r;
}

std::string mode_name(stream::delivery_mode m) {
    return m == stream::delivery_mode::transactional ? "transactional" : "at-least-once";
}


// The activity ids of a position.updated value (`"activityIds":["A","B"]`;
// posd writes ids as plain JSON strings). Empty when the field is absent.
std::vector<std::string_view> activity_ids_of(std::string_view json) {
    std::vector<std::string_view> ids;
    constexpr std::string_view field = "\"activityIds\":[";
    std::size_t at = json.find(field);
    if (at == std::string_view::npos) return ids;
    at += field.size();
    while (at < json.size() && json[at] != ']') {
        if (json[at] != '"') {
            ++at;
            continue;
        }
        const std::size_t end = json.find('"', at + 1);
        if (end == std::string_view::npos) break;
        ids.push_back(json.substr(at + 1, end - at - 1));
        at = end + 1;
    }
    return ids;
}

double percentile_ms(std::vector<double>& sorted_ms, double q) {
    if (sorted_ms.empty()) return 0;
    const auto i = static_cast<std::size_t>(q * static_cast<double>(sorted_ms.size() - 1) + 0.5);
    return sorted_ms[std::min(i, sorted_ms.size() - 1)];
}

struct latency_result {
    std::uint64_t produced = 0;
    double offered_records_per_s = 0;
    std::uint64_t measured = 0;       // records after the warm-up seen in position.updated
    std::uint64_t expected_unseen = 0; // measured-window ids never seen (rejects, duplicates, lost)
    double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
};

// Latency mode: the service runs on its own thread; once every partition is
// assigned and recovered, `items` are produced at `rate` records/s (record i
// at t0 + i / rate), and a read_committed consumer of position.updated notes
// when each activity id first appears. A record's latency is that moment
// minus the moment it was handed to the producer (one steady clock, one
// process). Records of the first `warmup` seconds are not measured.
latency_result run_latency(const options& o, const std::vector<workload::item>& items,
                           service::kafka_service& svc, const service::kafka_service_settings& s,
                           std::string& failure) {
    using clock = std::chrono::steady_clock;
    const auto epoch = clock::now();
    auto now_us = [&] { return std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - epoch).count(); };
    std::unordered_map<std::string_view, std::size_t> index_of;
    index_of.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i)
        if (!items[i].activity_id.empty()) index_of.emplace(items[i].activity_id, i); // a duplicate keeps the first
    std::vector<std::atomic<std::int64_t>> sent_us(items.size());
    std::vector<std::int64_t> seen_us(items.size(), -1);
    for (auto& t : sent_us) t.store(-1);

    std::atomic<bool> stop_service{false}, stop_reader{false}, failed{false};
    std::mutex failure_mutex;
    auto fail = [&](std::string what) {
        std::lock_guard lock(failure_mutex);
        if (!failed.exchange(true)) failure = std::move(what);
    };
    std::thread service_thread([&] {
        try {
            svc.run(stop_service);
        } catch (const std::exception& e) {
            fail(e.what());
        }
    });
    const auto deadline = clock::now() + std::chrono::seconds(120);
    while (!failed.load() && clock::now() < deadline &&
           !(svc.ready() && svc.counts().partitions_assigned == o.partitions))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::fprintf(stderr, "pipeline_bench: service ready (%llu partitions); producing %zu records at %llu/s\n",
                 static_cast<unsigned long long>(svc.counts().partitions_assigned), items.size(),
                 static_cast<unsigned long long>(o.latency_rate));

    std::atomic<std::uint64_t> events{0};
    std::thread reader_thread([&] {
        auto props = s.kafka;
        props["group.id"] = s.group_id + ".latency-reader";
        props["isolation.level"] = "read_committed";
        props["enable.auto.commit"] = "false";
        props["fetch.wait.max.ms"] = "5"; // the reader must not add its own wait to the figure
        auto conf = stream::make_conf(props);
        std::string err;
        std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf.get(), err));
        if (!reader) {
            fail("latency reader: " + err);
            return;
        }
        std::vector<RdKafka::TopicPartition*> parts;
        for (std::int32_t p = 0; p < static_cast<std::int32_t>(o.partitions); ++p)
            parts.push_back(RdKafka::TopicPartition::create(s.topics.position_updated, p,
                                                            RdKafka::Topic::OFFSET_BEGINNING));
        reader->assign(parts);
        RdKafka::TopicPartition::destroy(parts);
        while (!stop_reader.load()) {
            std::unique_ptr<RdKafka::Message> m(reader->consume(20));
            if (m->err() != RdKafka::ERR_NO_ERROR || !m->payload()) continue;
            const std::int64_t t = now_us();
            ++events;
            for (std::string_view id :
                 activity_ids_of(std::string_view(static_cast<const char*>(m->payload()), m->len()))) {
                const auto it = index_of.find(id);
                if (it != index_of.end() && seen_us[it->second] < 0) seen_us[it->second] = t;
            }
        }
        reader->close();
    });

    auto producer = stream::make_producer({{"bootstrap.servers", s.kafka.at("bootstrap.servers")}, {"linger.ms", "0"}});
    const auto t0 = clock::now();
    const double period_us = 1e6 / static_cast<double>(o.latency_rate);
    for (std::size_t i = 0; i < items.size() && !failed.load(); ++i) {
        const auto due = t0 + std::chrono::microseconds(static_cast<std::int64_t>(static_cast<double>(i) * period_us));
        std::this_thread::sleep_until(due);
        sent_us[i].store(now_us());
        stream::produce_message(*producer, {s.topics.activity, RdKafka::Topic::PARTITION_UA, items[i].key,
                                            items[i].value, {}});
        producer->poll(0);
    }
    producer->flush(30'000);
    latency_result r;
    r.produced = items.size();
    r.offered_records_per_s = static_cast<double>(items.size()) / seconds_since(t0);
    // Until every record is accounted for by the service and the reader has
    // had a moment to see the last transaction (or 60 s).
    const auto wait_until = clock::now() + std::chrono::seconds(60);
    while (!failed.load() && clock::now() < wait_until && svc.counts().records.records_in < items.size())
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    stop_reader = true;
    reader_thread.join();
    stop_service = true;
    service_thread.join();

    const std::size_t first_measured = static_cast<std::size_t>(o.latency_rate * o.warmup_seconds);
    std::vector<double> ms;
    for (std::size_t i = first_measured; i < items.size(); ++i) {
        const auto it = index_of.find(items[i].activity_id);
        if (it == index_of.end() || it->second != i) continue; // no id, or a duplicate
        if (seen_us[i] < 0) {
            ++r.expected_unseen;
            continue;
        }
        ms.push_back(static_cast<double>(seen_us[i] - sent_us[i].load()) / 1000.0);
    }
    std::sort(ms.begin(), ms.end());
    r.measured = ms.size();
    r.p50_ms = percentile_ms(ms, 0.50);
    r.p90_ms = percentile_ms(ms, 0.90);
    r.p99_ms = percentile_ms(ms, 0.99);
    r.max_ms = ms.empty() ? 0 : ms.back();
    double sum = 0;
    for (double x : ms) sum += x;
    r.mean_ms = ms.empty() ? 0 : sum / static_cast<double>(ms.size());
    std::fprintf(stderr, "pipeline_bench: %llu position.updated events read\n",
                 static_cast<unsigned long long>(events.load()));
    return r;
}

} // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const auto partitions = static_cast<std::int32_t>(o.partitions);
    workload::workload_config wc;
    wc.seed = o.seed;
    wc.account_count = o.accounts;
    wc.hot_account_count = std::min<std::uint64_t>(20, o.accounts / 10);
    wc.end_of_day_every = 0;    // END_OF_DAY is the engine bench's subject
    wc.price_update_every = 0;  // no prices topic here
    auto gen = std::make_unique<workload::activity_generator>(wc);
    engine::reference_data ref;
    gen->reference().load_into(ref);
    engine::engine_config config;
    config.initial_business_date = wc.start_business_date;

    std::string state_dir = (std::filesystem::temp_directory_path() / "posd-pipeline-XXXXXX").string();
    if (!mkdtemp(state_dir.data())) return 1;
    store::store_options so; // posd's defaults: state.block-cache-mb 64, state.write-buffer-mb 16
    so.path = state_dir;
    so.block_cache_bytes = static_cast<std::size_t>(o.block_cache_mib) << 20;
    so.applied_ids_retained = config.applied_ids_retained;

    // Pre-fill (optional): the stream's first records, straight into the store.
    prefill_result pre;
    std::uint64_t prefill_store_keys = 0;
    if (o.prefill_positions > 0) {
        // A larger block cache than posd's for the pre-fill only (the files
        // it writes do not depend on it): with 64 MiB, split into 64 shards
        // of 1 MiB, the full Bloom filter of a large table file does not fit
        // a shard, so every Get reads and checksums it again, and the
        // pre-fill crawls (bench/README.md). The service then opens the
        // store with posd's options.
        store::store_options fill = so;
        fill.block_cache_bytes = prefill_block_cache_bytes;
        auto store = store::rocks_store::open(fill);
        pre = prefill(*gen, config, ref, *store, partitions, o.prefill_positions);
        prefill_store_keys = store->stats().estimated_keys;
        std::fprintf(stderr, "pipeline_bench: pre-filled %llu positions from %llu records in %.1f s\n",
                     static_cast<unsigned long long>(pre.positions_created),
                     static_cast<unsigned long long>(pre.records), pre.seconds);
    }

    // The measured records: the stream from where the pre-fill stopped.
    std::vector<workload::item> items;
    items.reserve(o.records);
    while (items.size() < o.records) {
        workload::item it = gen->next();
        if (it.kind == workload::item_kind::activity) items.push_back(std::move(it));
    }
    std::vector<std::string> account_keys; // to count positions at the end
    if (o.prefill_positions > 0) {
        account_keys.reserve(gen->account_count());
        for (std::size_t i = 0; i < gen->account_count(); ++i) account_keys.push_back(gen->account_key(i));
    }
    gen.reset(); // its model of every holding is not posd's memory
    // What this process holds that posd would not: the records and the keys.
    std::uint64_t bench_data_bytes = items.capacity() * sizeof(workload::item) +
                                     account_keys.capacity() * sizeof(std::string);
    for (const auto& it : items)
        bench_data_bytes += it.key.capacity() + it.value.capacity() + it.activity_id.capacity() +
                            it.maxx_key_code.capacity() + it.content_type.capacity();
    for (const auto& k : account_keys) bench_data_bytes += k.capacity();
    std::fprintf(stderr, "pipeline_bench: %zu records over %llu accounts\n", items.size(),
                 static_cast<unsigned long long>(o.accounts));

    // Baseline: the engine alone on one core, same records, same batch size,
    // from empty state (also with a pre-fill: memory_state has none of it).
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
            in.decoded = decoder.decode(items[i].value, type_of(items[i]));
            batch.push_back(std::move(in));
            if (batch.size() == o.batch || i + 1 == items.size()) {
                state.apply(eng.apply(state, batch, timestamp{0}));
                batch.clear();
            }
        }
        engine_s = seconds_since(t0);
    }
    malloc_trim(0);

    // The cluster and the topics.
    service::kafka_service_settings s;
    std::unique_ptr<stream::embedded_cluster> cluster;
    const bool embedded = o.bootstrap_servers.empty();
    if (embedded) {
        cluster = std::make_unique<stream::embedded_cluster>(1);
        service::create_service_topics(*cluster, s.topics, partitions);
        s.kafka["bootstrap.servers"] = cluster->bootstrap_servers();
        // The mock waits session.timeout.ms - 1000 on every group change.
        s.consumer_kafka["session.timeout.ms"] = "6000";
    } else {
        // Names unique to this run, so that a broker can serve several runs.
        const std::string run = fmt::format("bench-{}-{:x}", getpid(),
                                            std::chrono::system_clock::now().time_since_epoch().count());
        for (std::string* t : {&s.topics.activity, &s.topics.position_updated, &s.topics.market_value,
                               &s.topics.margin_updated, &s.topics.dead_letter, &s.topics.changelog})
            *t = run + "." + *t;
        s.group_id = run;
        s.kafka["bootstrap.servers"] = o.bootstrap_servers;
        service::reference_topics reference;
        for (std::string* t : {&reference.bookkeeping_rules, &reference.products, &reference.securities,
                               &reference.margin_rules, &reference.prices, &reference.fx_rates})
            *t = run + "." + *t;
        const auto specs = outputs::topic_specs(s.topics, reference, partitions, 1);
        stream::create_topics(s.kafka, specs, std::chrono::seconds(60));
    }
    for (const auto& [k, v] : o.kafka) s.kafka[k] = v;
    s.mode = o.mode;
    s.batch_records_max = o.batch;
    s.batch_wait_max = std::chrono::milliseconds(o.batch_wait_ms);
    ops::service_metrics metrics;
    s.metrics = &metrics;

    if (o.latency_rate > 0) {
        so.changelog_topic = s.topics.changelog;
        auto store = store::rocks_store::open(so);
        std::string failure;
        latency_result r;
        {
            service::kafka_service svc(s, config, ref, *store);
            r = run_latency(o, items, svc, s, failure);
            const service::service_counts c = svc.counts();
            const histogram_figures batch_h = figures_of(metrics.batch_seconds());
            const histogram_figures commit_h = figures_of(metrics.transaction_commit_seconds());
            std::string out = fmt::format(
                "{{\"bench\":\"pipeline-latency\",\"cluster\":\"broker\",\"mode\":\"{}\",\"partitions\":{},"
                "\"accounts\":{},\"batch_max_records\":{},\"batch_wait_max_ms\":{},\"seed\":{},"
                "\"offered_records_per_s\":{:.0f},\"warmup_s\":{},\"measured_s\":{},\"produced\":{},"
                "\"measured\":{},\"unseen\":{},\"latency_ms\":{{\"p50\":{:.1f},\"p90\":{:.1f},\"p99\":{:.1f},"
                "\"max\":{:.1f},\"mean\":{:.1f}}},\"records_in\":{},\"batches\":{},\"mean_records_per_batch\":{:.1f},"
                "\"batch_ms\":{},\"publish_commit_ms\":{}",
                mode_name(o.mode), o.partitions, o.accounts, o.batch, o.batch_wait_ms, o.seed,
                r.offered_records_per_s, o.warmup_seconds, o.latency_seconds, r.produced, r.measured,
                r.expected_unseen, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms, r.mean_ms, c.records.records_in, c.batches,
                c.batches ? static_cast<double>(c.records.records_in) / static_cast<double>(c.batches) : 0.0,
                ms_json(batch_h), ms_json(commit_h));
            print_result(out, failure);
        }
        store.reset();
        std::filesystem::remove_all(state_dir);
        return failure.empty() && r.measured > 0 ? 0 : 1;
    }

    double produce_s = 0;
    {
        auto producer = stream::make_producer({{"bootstrap.servers", s.kafka["bootstrap.servers"]}, {"linger.ms", "5"}});
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& it : items)
            stream::produce_message(*producer, {s.topics.activity, RdKafka::Topic::PARTITION_UA, it.key, it.value, {}});
        if (producer->flush(120'000) != RdKafka::ERR_NO_ERROR) {
            std::fprintf(stderr, "pipeline_bench: the activity records were not all produced\n");
            return 1;
        }
        produce_s = seconds_since(t0);
    }

    so.changelog_topic = s.topics.changelog;
    auto store = store::rocks_store::open(so);
    malloc_trim(0);
    const bool peak_reset = reset_peak_rss();
    const memory_kib before = memory();

    // The service, timed from its first committed batch to its last.
    std::atomic<bool> stop{false};
    service::kafka_service svc(s, config, ref, *store);
    std::optional<std::chrono::steady_clock::time_point> first_batch;
    std::uint64_t first_batch_records = 0;
    std::chrono::steady_clock::time_point last_batch{};
    double first_batch_cpu_s = 0, last_batch_cpu_s = 0;
    std::uint64_t seen_batches = 0;
    const auto started = std::chrono::steady_clock::now();
    std::string failure;
    try {
        svc.run(stop, [&](const service::service_counts& c) {
            if (c.batches != seen_batches) {
                seen_batches = c.batches;
                last_batch = std::chrono::steady_clock::now();
                last_batch_cpu_s = process_cpu_s();
                if (!first_batch && c.records.records_in > 0) {
                    first_batch = last_batch;
                    first_batch_cpu_s = last_batch_cpu_s;
                    first_batch_records = c.records.records_in;
                }
            }
            return c.records.records_in >= items.size() || seconds_since(started) > 1800;
        });
    } catch (const std::exception& e) {
        failure = e.what();
        std::fprintf(stderr, "pipeline_bench: the service failed: %s\n", e.what());
    }
    const service::service_counts c = svc.counts();
    const memory_kib after = memory();

    // What the group committed, summed over the activity partitions: the
    // number of records when every batch's offset commit was stored (the
    // activity topic is produced without transactions, so no marker takes
    // an offset there). The mock keeps no transactional offset commit: 0.
    std::uint64_t committed_sum = 0;
    std::string committed_error;
    try {
        auto props = s.kafka;
        props["group.id"] = s.group_id;
        auto conf = stream::make_conf(props);
        std::string err;
        std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf.get(), err));
        if (!reader) throw std::runtime_error(err);
        for (std::int32_t p = 0; p < partitions; ++p)
            if (const auto co = stream::fetch_committed(*reader, s.topics.activity, p, std::chrono::seconds(10)))
                committed_sum += static_cast<std::uint64_t>(co->offset);
        reader->close();
    } catch (const std::exception& e) {
        committed_error = e.what();
    }
    const store::store_stats stats = store->stats();

    // The outbox of each partition's last batch: what one batch writes to
    // RocksDB a second time (its events and its changelog records) and
    // publishes, per input record.
    std::uint64_t outbox_messages = 0, outbox_bytes = 0, outbox_records = 0;
    for (std::int32_t p = 0; p < partitions; ++p) {
        const auto start = store->outbox_start_offset(p);
        const auto meta = store->meta(p);
        if (!start || !meta) continue;
        outbox_records += static_cast<std::uint64_t>(meta->next_offset - *start);
        for (const auto& m : store->outbox(p)) {
            ++outbox_messages;
            outbox_bytes += m.topic.size() + m.key.size() + m.value.size();
            for (const auto& [k, v] : m.headers) outbox_bytes += k.size() + v.size();
        }
    }

    // Positions in the store, counted one account at a time.
    std::uint64_t positions_in_store = 0;
    if (!account_keys.empty()) {
        for (const std::string& a : account_keys)
            positions_in_store += store->account_positions(store::kafka_partition_for_key(a, partitions), a).size();
    }
    store.reset();
    std::filesystem::remove_all(state_dir);

    const double measured_records = static_cast<double>(c.records.records_in - first_batch_records);
    const double service_s = first_batch ? std::chrono::duration<double>(last_batch - *first_batch).count() : 0;
    const double service_rate = service_s > 0 ? measured_records / service_s : 0;
    const double engine_rate = static_cast<double>(items.size()) / engine_s;
    const histogram_figures batch_h = figures_of(metrics.batch_seconds());
    const histogram_figures commit_h = figures_of(metrics.transaction_commit_seconds());
    const histogram_figures apply_h = figures_of(metrics.apply_latency_seconds());
    // apply_latency_seconds holds one observation per record (its batch's
    // engine time divided evenly): its sum is the engine's total time.
    const double apply_total_s = apply_h.sum;
    const double wall_s = seconds_since(started);

    std::string out = fmt::format(
        "{{\"bench\":\"pipeline\",\"cluster\":\"{}\",\"mode\":\"{}\",\"records\":{},\"accounts\":{},"
        "\"partitions\":{},\"batch_max_records\":{},\"batch_wait_max_ms\":{},\"seed\":{},"
        "\"records_per_s\":{:.0f},\"engine_only_records_per_s\":{:.0f},\"ratio_engine_only_to_service\":{:.2f},"
        "\"produce_records_per_s\":{:.0f},"
        "\"batches\":{},\"mean_records_per_batch\":{:.1f},\"outputs\":{},\"applied\":{},\"duplicates\":{},"
        "\"rejected\":{},\"republished_batches\":{},\"restored_partitions\":{},\"committed_offsets_sum\":{},",
        embedded ? "mock" : "broker", mode_name(o.mode), items.size(), o.accounts, o.partitions, o.batch,
        o.batch_wait_ms, o.seed, service_rate, engine_rate, service_rate > 0 ? engine_rate / service_rate : 0.0,
        static_cast<double>(items.size()) / produce_s, c.batches,
        c.batches ? static_cast<double>(c.records.records_in) / static_cast<double>(c.batches) : 0.0, c.outputs,
        c.records.applied, c.records.duplicates, c.records.rejected, c.republished_batches, c.restored_partitions,
        committed_error.empty() ? std::to_string(committed_sum) : "\"" + committed_error + "\"");
    out += fmt::format(
        "\"time_s\":{{\"service\":{:.3f},\"service_cpu\":{:.3f},\"run_wall\":{:.3f},\"batch_decode_apply_encode_store\":{:.3f},"
        "\"engine_apply_approx\":{:.3f},\"publish_commit\":{:.3f}}},"
        "\"batch_ms\":{},\"publish_commit_ms\":{},\"apply_us_per_record_mean\":{:.2f},"
        "\"last_batches\":{{\"records\":{},\"outbox_messages\":{},\"outbox_bytes\":{}}},",
        service_s, last_batch_cpu_s - first_batch_cpu_s, wall_s, batch_h.sum, apply_total_s, commit_h.sum, ms_json(batch_h), ms_json(commit_h),
        apply_h.count ? 1e6 * apply_h.sum / static_cast<double>(apply_h.count) : 0.0, outbox_records,
        outbox_messages, outbox_bytes);
    out += fmt::format(
        "\"memory\":{{\"bench_data_mib\":{:.0f},\"rss_mib_before_service\":{:.0f},\"rss_mib\":{:.0f},\"peak_rss_mib\":{:.0f},"
        "\"peak_since\":\"{}\",\"block_cache_capacity_mib\":{:.0f},\"block_cache_usage_mib\":{:.1f},"
        "\"memtables_cap_mib\":{:.0f},\"memtable_mib\":{:.1f},\"sst_mib\":{:.1f},\"live_data_mib\":{:.1f},"
        "\"estimated_keys\":{}}}",
        mib_bytes(bench_data_bytes), mib(before.rss), mib(after.rss), mib(after.hwm), peak_reset ? "store open, before the service" : "process start",
        mib_bytes(stats.block_cache_capacity_bytes), mib_bytes(stats.block_cache_usage_bytes),
        mib_bytes(so.write_buffer_bytes * static_cast<std::size_t>(so.max_write_buffer_number)),
        mib_bytes(stats.memtable_bytes), mib_bytes(stats.sst_bytes), mib_bytes(stats.estimated_live_data_bytes),
        stats.estimated_keys);
    if (o.prefill_positions > 0)
        out += fmt::format(",\"prefill\":{{\"target_positions\":{},\"positions_created\":{},\"records\":{},"
                           "\"batches\":{},\"seconds\":{:.1f},\"records_per_s\":{:.0f},\"estimated_keys\":{},"
                           "\"positions_in_store_after_run\":{}}}",
                           o.prefill_positions, pre.positions_created, pre.records, pre.batches, pre.seconds,
                           static_cast<double>(pre.records) / pre.seconds, prefill_store_keys, positions_in_store);
    print_result(out, failure);
    return failure.empty() && c.records.records_in == items.size() ? 0 : 1;
}
