// engine_bench: single-core throughput of the per-record pipeline without
// Kafka or RocksDB — decode (codec::decoder, simdjson) + validate + apply
// (partition_engine::apply in batches) + memory_state::apply(write_set) +
// JSON encoding of every output event — on a realistic workload
// (libs/workload), and, in the same process on the same bytes, a baseline
// that only parses each record with simdjson. The machine is shared and
// noisy, so the figure to quote is the ratio to that baseline.
//
// Usage: engine_bench [--records N] [--accounts N] [--batch N] [--seed N]
//                     [--cusips N] [--runs N] [--eod-every N] [--price-every N]
//                     [--hot-accounts N] [--hot-share PER_MILLE] [--zipf-offset N]
// Prints one JSON object on stdout; progress goes to stderr.

#include "workload/generator.h"

#include "codec/decoder.h"
#include "codec/json_encode.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "engine/reference_data.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace posd;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
    std::uint64_t records = 2'000'000;
    std::uint64_t accounts = 100'000;
    std::uint64_t batch = 500;
    std::uint64_t seed = 1;
    std::uint64_t cusips = 5'000;
    std::uint64_t runs = 3;
    std::uint64_t eod_every = 500'000;
    std::uint64_t price_every = 5'000;
    std::uint64_t hot_accounts = 20;
    std::uint64_t hot_share_per_mille = 300;
    std::uint64_t zipf_offset = 10;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "engine_bench: %s\nusage: engine_bench [--records N] [--accounts N] [--batch N] [--seed N]\n"
                 "                    [--cusips N] [--runs N] [--eod-every N] [--price-every N]\n"
                 "                    [--hot-accounts N] [--hot-share PER_MILLE] [--zipf-offset N]\n",
                 why);
    std::exit(2);
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (i + 1 >= argc) usage("missing value");
        char* end = nullptr;
        const std::uint64_t v = std::strtoull(argv[++i], &end, 10);
        if (end == nullptr || *end != '\0') usage("not a number");
        if (flag == "--records") o.records = v;
        else if (flag == "--accounts") o.accounts = v;
        else if (flag == "--batch") o.batch = v;
        else if (flag == "--seed") o.seed = v;
        else if (flag == "--cusips") o.cusips = v;
        else if (flag == "--runs") o.runs = v;
        else if (flag == "--eod-every") o.eod_every = v;
        else if (flag == "--price-every") o.price_every = v;
        else if (flag == "--hot-accounts") o.hot_accounts = v;
        else if (flag == "--hot-share") o.hot_share_per_mille = v;
        else if (flag == "--zipf-offset") o.zipf_offset = v;
        else usage("unknown flag");
    }
    if (o.records == 0 || o.batch == 0 || o.runs == 0 || o.batch > limits::batch_records_max ||
        o.hot_accounts >= o.accounts || o.hot_share_per_mille > 1000)
        usage("bad value");
    return o;
}

// The stream, stored compactly: one arena for every key and value.
struct stored_item {
    std::uint64_t offset = 0; // into the arena: key, then value
    std::uint32_t key_size = 0;
    std::uint32_t value_size = 0;
    workload::item_kind kind = workload::item_kind::activity;
    codec::content_type type = codec::content_type::json;
    std::int32_t price = -1; // index into prices for price updates
    timestamp event_time;
};

struct stream {
    std::string arena;
    std::vector<stored_item> items;
    std::vector<model::price> prices;
    std::uint64_t records = 0; // activity + control items
    workload::generator_counts expected;
    workload::reference_set refdata;

    std::string_view key(const stored_item& it) const { return {arena.data() + it.offset, it.key_size}; }
    std::string_view value(const stored_item& it) const {
        return {arena.data() + it.offset + it.key_size, it.value_size};
    }
};

stream generate(const options& o) {
    workload::workload_config cfg;
    cfg.seed = o.seed;
    cfg.account_count = o.accounts;
    cfg.cusip_count = o.cusips;
    cfg.end_of_day_every = o.eod_every;
    cfg.price_update_every = o.price_every;
    cfg.hot_account_count = o.hot_accounts;
    cfg.hot_share_per_mille = static_cast<std::uint32_t>(o.hot_share_per_mille);
    cfg.zipf_offset = static_cast<std::uint32_t>(o.zipf_offset);
    workload::activity_generator gen(cfg);
    stream s;
    s.refdata = gen.reference();
    s.arena.reserve(o.records * 520);
    s.items.reserve(o.records + o.records / std::max<std::uint64_t>(1, o.price_every) + 1);
    workload::item it;
    while (s.records < o.records) {
        gen.next(it);
        stored_item st;
        st.offset = s.arena.size();
        st.key_size = static_cast<std::uint32_t>(it.key.size());
        st.value_size = static_cast<std::uint32_t>(it.value.size());
        st.kind = it.kind;
        st.type = codec::content_type_from_header(
            it.content_type.empty() ? std::nullopt : std::optional<std::string_view>(it.content_type));
        st.event_time = it.event_time;
        if (it.kind == workload::item_kind::price_update) {
            st.price = static_cast<std::int32_t>(s.prices.size());
            s.prices.push_back(*it.price);
        } else {
            ++s.records;
        }
        s.arena += it.key;
        s.arena += it.value;
        s.items.push_back(st);
    }
    s.expected = gen.counts();
    return s;
}

double seconds(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

struct run_result {
    double total_s = 0;
    double decode_s = 0, engine_s = 0, state_s = 0, encode_s = 0, end_of_day_s = 0, revalue_s = 0;
    engine::batch_counts counts;
    std::uint64_t events = 0;
    std::uint64_t encoded_bytes = 0;
};

// Not inlined, so that profilers (callgrind, perf) show the two phases apart.
[[gnu::noinline]] run_result run_pipeline(const stream& s, std::size_t batch_size) {
    engine::reference_data ref;
    s.refdata.load_into(ref);
    engine::engine_config config;
    config.initial_business_date = workload::workload_config{}.start_business_date;
    engine::memory_state state(config.applied_ids_retained);
    engine::partition_engine eng(0, config, ref);
    codec::decoder decoder;
    std::string out;
    out.reserve(4096);
    std::vector<engine::input_record> batch;
    batch.reserve(batch_size);
    run_result r;

    // Encodes the events, then hands the state to the store (moved, as the
    // service does once the batch is encoded into its outbox).
    auto finish = [&](engine::write_set& ws, double& bucket, clock_type::time_point t0) {
        const auto t1 = clock_type::now();
        for (const auto& e : ws.events) {
            out.clear();
            if (const auto* p = std::get_if<model::position_updated>(&e)) codec::encode_json(*p, out);
            else if (const auto* m = std::get_if<model::market_value_event>(&e)) codec::encode_json(*m, out);
            else if (const auto* b = std::get_if<model::margin_updated>(&e)) codec::encode_json(*b, out);
            else if (const auto* d = std::get_if<model::dead_letter>(&e))
                for (const auto& [k, v] : codec::dead_letter_headers(*d, "activity")) out += v;
            r.encoded_bytes += out.size();
        }
        const auto t2 = clock_type::now();
        r.counts += ws.counts;
        r.events += ws.events.size();
        state.apply(std::move(ws));
        const auto t3 = clock_type::now();
        bucket += seconds(t1 - t0);
        r.encode_s += seconds(t2 - t1);
        r.state_s += seconds(t3 - t2);
    };
    timestamp now{0};
    auto flush = [&] {
        if (batch.empty()) return;
        const auto t0 = clock_type::now();
        auto ws = eng.apply(state, batch, now);
        finish(ws, r.engine_s, t0);
        batch.clear();
    };

    const auto start = clock_type::now();
    auto decode_start = start;
    for (const auto& it : s.items) {
        now = it.event_time;
        if (it.kind == workload::item_kind::price_update) {
            r.decode_s += seconds(clock_type::now() - decode_start);
            flush();
            const auto t0 = clock_type::now();
            ref.upsert(s.prices[static_cast<std::size_t>(it.price)]);
            auto ws = eng.revalue(state, s.prices[static_cast<std::size_t>(it.price)].cusip, now);
            finish(ws, r.revalue_s, t0);
            decode_start = clock_type::now();
            continue;
        }
        const auto value = s.value(it);
        // An END_OF_DAY is applied on its own, so that its cost shows apart.
        const bool end_of_day = it.kind == workload::item_kind::control && value.find("END_OF_DAY") != value.npos;
        if (end_of_day) {
            r.decode_s += seconds(clock_type::now() - decode_start);
            flush();
            decode_start = clock_type::now();
        }
        batch.push_back(engine::input_record{static_cast<std::int64_t>(&it - s.items.data()), s.key(it), value,
                                             decoder.decode(value, it.type)});
        if (batch.size() == batch_size || end_of_day) {
            r.decode_s += seconds(clock_type::now() - decode_start);
            if (end_of_day) {
                const auto t0 = clock_type::now();
                auto ws = eng.apply(state, batch, now);
                finish(ws, r.end_of_day_s, t0);
                batch.clear();
            } else {
                flush();
            }
            decode_start = clock_type::now();
        }
    }
    r.decode_s += seconds(clock_type::now() - decode_start);
    flush();
    r.total_s = seconds(clock_type::now() - start);
    return r;
}

// The baseline: copy each JSON record into a padded buffer (as the codec
// must, Kafka payloads are not padded) and walk its fields with simdjson's
// on-demand parser, touching every value's raw text.
[[gnu::noinline]] double run_baseline(const stream& s, std::uint64_t& parsed, std::uint64_t& checksum) {
    simdjson::ondemand::parser parser;
    std::unique_ptr<char[]> buffer(new char[limits::record_bytes_max + simdjson::SIMDJSON_PADDING]);
    parsed = 0;
    checksum = 0;
    const auto start = clock_type::now();
    for (const auto& it : s.items) {
        if (it.kind == workload::item_kind::price_update || it.type != codec::content_type::json) continue;
        const auto value = s.value(it);
        if (value.size() > limits::record_bytes_max) continue;
        std::memcpy(buffer.get(), value.data(), value.size());
        ++parsed;
        simdjson::ondemand::document doc;
        if (parser.iterate(buffer.get(), value.size(), value.size() + simdjson::SIMDJSON_PADDING).get(doc)) continue;
        simdjson::ondemand::object obj;
        if (doc.get_object().get(obj)) continue;
        for (auto field : obj) {
            std::string_view k;
            if (field.unescaped_key().get(k)) break;
            simdjson::ondemand::value v;
            if (field.value().get(v)) break;
            std::string_view text;
            if (v.type() == simdjson::ondemand::json_type::string) {
                if (v.get_string().get(text)) break;
            } else {
                text = v.raw_json_token();
            }
            checksum += k.size() + text.size();
        }
    }
    return seconds(clock_type::now() - start);
}

} // namespace

int main(int argc, char** argv) {
    const options o = parse_args(argc, argv);
    std::fprintf(stderr, "engine_bench: generating %llu records over %llu accounts (seed %llu)...\n",
                 static_cast<unsigned long long>(o.records), static_cast<unsigned long long>(o.accounts),
                 static_cast<unsigned long long>(o.seed));
    const auto g0 = clock_type::now();
    const stream s = generate(o);
    std::fprintf(stderr, "engine_bench: generated %zu items, %.1f MB, in %.1f s; simdjson kernel %s\n",
                 s.items.size(), static_cast<double>(s.arena.size()) / 1e6, seconds(clock_type::now() - g0),
                 std::string(simdjson::get_active_implementation()->name()).c_str());

    std::vector<run_result> runs;
    std::vector<double> baselines;
    std::uint64_t parsed = 0, checksum = 0;
    for (std::uint64_t i = 0; i < o.runs; ++i) {
        // Interleave baseline and pipeline so that both see the same noise.
        baselines.push_back(run_baseline(s, parsed, checksum));
        runs.push_back(run_pipeline(s, o.batch));
        const auto& r = runs.back();
        std::fprintf(stderr,
                     "engine_bench: run %llu: %.3f s (%.0f records/s); decode %.3f engine %.3f state %.3f "
                     "encode %.3f end_of_day %.3f revalue %.3f; baseline parse %.3f s\n",
                     static_cast<unsigned long long>(i + 1), r.total_s, static_cast<double>(s.records) / r.total_s,
                     r.decode_s, r.engine_s, r.state_s, r.encode_s, r.end_of_day_s, r.revalue_s, baselines.back());
        const auto& k = r.counts;
        if (k.records_in != s.records || k.applied != s.expected.applied || k.duplicates != s.expected.duplicates ||
            k.rejected != s.expected.rejected) {
            std::fprintf(stderr,
                         "engine_bench: outcome mismatch: in %llu/%llu applied %llu/%llu duplicates %llu/%llu "
                         "rejected %llu/%llu (got/expected)\n",
                         static_cast<unsigned long long>(k.records_in), static_cast<unsigned long long>(s.records),
                         static_cast<unsigned long long>(k.applied), static_cast<unsigned long long>(s.expected.applied),
                         static_cast<unsigned long long>(k.duplicates),
                         static_cast<unsigned long long>(s.expected.duplicates),
                         static_cast<unsigned long long>(k.rejected),
                         static_cast<unsigned long long>(s.expected.rejected));
            return 1;
        }
    }

    // The median run by total time, and the median baseline.
    std::vector<std::size_t> order(runs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return runs[a].total_s < runs[b].total_s; });
    const run_result& med = runs[order[order.size() / 2]];
    std::sort(baselines.begin(), baselines.end());
    const double baseline_s = baselines[baselines.size() / 2];

    const double n = static_cast<double>(s.records);
    const double ns_per_record = med.total_s * 1e9 / n;
    const double baseline_ns = baseline_s * 1e9 / static_cast<double>(parsed);
    auto per = [&](double x) { return x * 1e9 / n; };
    std::printf(
        "{\"bench\":\"engine\",\"records\":%llu,\"accounts\":%llu,\"hot_accounts\":%llu,\"hot_share_per_mille\":%llu,\"zipf_offset\":%llu,\"batch\":%llu,\"seed\":%llu,\"runs\":%llu,"
        "\"records_per_s\":%.0f,\"ns_per_record\":%.1f,\"baseline_parse_ns_per_record\":%.1f,"
        "\"ratio_to_parse\":%.2f,\"events_per_record\":%.3f,\"applied\":%llu,\"duplicates\":%llu,"
        "\"rejected\":%llu,\"end_of_days\":%llu,\"price_updates\":%zu,"
        "\"breakdown_ns_per_record\":{\"decode\":%.1f,\"engine_apply\":%.1f,\"state_apply\":%.1f,"
        "\"encode\":%.1f,\"end_of_day\":%.1f,\"revalue\":%.1f},\"mean_record_bytes\":%.0f,"
        "\"encoded_bytes_per_record\":%.0f,\"codec_ns_per_record\":%.1f,\"codec_bound_records_per_s\":%.0f,"
        "\"simdjson\":\"%s\"}\n",
        static_cast<unsigned long long>(s.records), static_cast<unsigned long long>(o.accounts),
        static_cast<unsigned long long>(o.hot_accounts), static_cast<unsigned long long>(o.hot_share_per_mille),
        static_cast<unsigned long long>(o.zipf_offset),
        static_cast<unsigned long long>(o.batch), static_cast<unsigned long long>(o.seed),
        static_cast<unsigned long long>(o.runs), n / med.total_s, ns_per_record, baseline_ns,
        ns_per_record / baseline_ns, static_cast<double>(med.events) / n,
        static_cast<unsigned long long>(med.counts.applied), static_cast<unsigned long long>(med.counts.duplicates),
        static_cast<unsigned long long>(med.counts.rejected), static_cast<unsigned long long>(med.counts.controls),
        s.prices.size(), per(med.decode_s), per(med.engine_s), per(med.state_s), per(med.encode_s),
        per(med.end_of_day_s), per(med.revalue_s),
        static_cast<double>(s.arena.size()) / static_cast<double>(s.items.size()),
        static_cast<double>(med.encoded_bytes) / n, per(med.decode_s + med.encode_s),
        n / (med.decode_s + med.encode_s),
        std::string(simdjson::get_active_implementation()->name()).c_str());
    std::fprintf(stderr, "engine_bench: checksum %llu\n", static_cast<unsigned long long>(checksum));
    return 0;
}
