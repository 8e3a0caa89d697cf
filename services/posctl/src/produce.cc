#include "posctl/produce.h"

#include "codec/decoder.h"
#include "codec/json_encode.h"
#include "outputs/produce.h"
#include "outputs/routing.h"
#include "stream/admin.h"
#include "stream/batch_publisher.h"
#include "workload/generator.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <variant>

namespace posd::posctl {

namespace {

// Routed as posd's producers route it (outputs::activity_partitions): a
// generated control item goes to every partition only when it decodes as a
// control record. (The generator also makes a START_OF_DAY control that posd
// rejects; like any other rejected line it is sent once, keyed.)
model::decoded_record decode_item(codec::decoder& decoder, const workload::item& it) {
    return decoder.decode(it.value, codec::content_type_from_header(
                                        it.content_type.empty() ? std::nullopt
                                                                : std::optional<std::string_view>(it.content_type)));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool stop_requested(const std::atomic<bool>* stop) { return stop && stop->load(); }

template <typename T>
void write_lines(const std::filesystem::path& path, const std::vector<T>& records) {
    std::string out;
    for (const auto& r : records) {
        codec::encode_json(r, out);
        out.push_back('\n');
    }
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    f.close();
    if (!f) throw std::runtime_error(fmt::format("cannot write {}", path.string()));
}

produce_result produce_file(const produce_options& o) {
    produce_result r;
    const auto t0 = std::chrono::steady_clock::now();
    r.messages = outputs::produce_activity_file(o.file, o.kafka, o.topic);
    r.records = r.messages;
    r.seconds = seconds_since(t0);
    return r;
}

produce_result produce_generated(const produce_options& o, const std::atomic<bool>* stop) {
    workload::activity_generator gen(generator_config(o));
    gen.set_protobuf_per_mille(o.protobuf_per_mille);

    auto producer = stream::make_producer(o.kafka);
    produce_result r;
    r.partitions = stream::partitions_of(*producer, o.topic);
    codec::decoder decoder;
    pacer pace(o.rate);
    workload::item it;
    stream::kafka_message m;
    m.topic = o.topic;
    const auto t0 = std::chrono::steady_clock::now();
    auto send = [&](std::int32_t partition) {
        pace.wait();
        m.partition = partition;
        stream::produce_message(*producer, m);
        // Serves librdkafka's callbacks now and then; produce_message only
        // polls when the queue is full.
        if (++r.messages % 1024 == 0) producer->poll(0);
    };
    while (r.records < o.generate && !stop_requested(stop)) {
        gen.next(it);
        // price_update_every is 0 in generator_config: posd reads prices
        // from its reference data, not from a topic.
        if (it.kind == workload::item_kind::price_update) continue;
        ++r.records;
        m.key = it.key;
        m.value = it.value;
        m.headers.clear();
        if (!it.content_type.empty()) m.headers.emplace_back("content-type", it.content_type);
        const auto partitions = it.kind == workload::item_kind::control
                                    ? outputs::activity_partitions(decode_item(decoder, it), r.partitions)
                                    : std::vector<std::int32_t>{RdKafka::Topic::PARTITION_UA};
        if (partitions.size() > 1 || partitions.front() != RdKafka::Topic::PARTITION_UA) ++r.end_of_days;
        for (std::int32_t p : partitions) send(p);
    }
    r.stopped = r.records < o.generate;
    if (producer->flush(60'000) != RdKafka::ERR_NO_ERROR)
        throw stream::kafka_error(fmt::format("flush: {} messages still undelivered after 60 s", producer->outq_len()));
    r.seconds = seconds_since(t0);
    return r;
}

} // namespace

workload::workload_config generator_config(const produce_options& o) {
    if (o.accounts < 2) throw std::invalid_argument("--accounts must be at least 2");
    if (o.cusips < 50) throw std::invalid_argument("--cusips must be at least 50");
    if (o.protobuf_per_mille > 1000) throw std::invalid_argument("--protobuf-per-mille must be 0..1000");
    workload::workload_config c;
    c.seed = o.seed;
    c.account_count = o.accounts;
    // As bench/pipeline: a tenth of the accounts, at most 20, are the hot
    // omnibus accounts (the generator needs fewer than account_count).
    c.hot_account_count = std::min<std::size_t>(20, o.accounts / 10);
    c.cusip_count = o.cusips;
    c.end_of_day_every = o.end_of_day_every;
    c.price_update_every = 0;
    return c;
}

workload::reference_set generator_reference(const produce_options& o) {
    return workload::make_reference_data(generator_config(o));
}

void check_produce_options(const produce_options& o) {
    if (o.kafka.find("bootstrap.servers") == o.kafka.end() || o.kafka.at("bootstrap.servers").empty())
        throw std::invalid_argument("--bootstrap-servers is required");
    if (o.topic.empty()) throw std::invalid_argument("--topic must not be empty");
    if (o.file.empty() == (o.generate == 0))
        throw std::invalid_argument("give one source: --file FILE or --generate N (N > 0)");
    if (!std::isfinite(o.rate) || o.rate < 0) throw std::invalid_argument("--rate must be a number >= 0");
    if (!o.file.empty()) {
        // The file goes through posd's produce_activity_file, which produces
        // as fast as it can.
        if (o.rate > 0) throw std::invalid_argument("--rate applies to --generate only");
    } else {
        (void)generator_config(o);
    }
}

produce_result produce(const produce_options& o, const std::atomic<bool>* stop) {
    check_produce_options(o);
    return o.file.empty() ? produce_generated(o, stop) : produce_file(o);
}

std::string rate_summary(const produce_result& r) {
    const double per_s = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
    return fmt::format("produced {} records in {:.3f} s ({:.0f} records/s)", r.messages, r.seconds, per_s);
}

void write_reference_files(const workload::reference_set& ref, const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot create {}: {}", dir, ec.message()));
    const std::filesystem::path d(dir);
    write_lines(d / "bookkeeping_rules.jsonl", ref.bookkeeping_rules);
    write_lines(d / "products.jsonl", ref.products);
    write_lines(d / "securities.jsonl", ref.securities);
    write_lines(d / "prices.jsonl", ref.prices);
    write_lines(d / "fx_rates.jsonl", ref.fx_rates);
    write_lines(d / "margin_rules.jsonl", ref.margin_rules);
}

pacer::pacer(double rate) : rate_(rate), start_(std::chrono::steady_clock::now()) {}

void pacer::wait() {
    if (rate_ <= 0) return;
    const auto due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(static_cast<double>(events_) / rate_));
    ++events_;
    if (std::chrono::steady_clock::now() < due) std::this_thread::sleep_until(due);
}

} // namespace posd::posctl
