// The exactly-once checker (checker.h) against posd's Kafka service on the
// embedded mock cluster: it passes a clean run, and it fails when the
// outputs are broken the ways a faulty service would break them (a repeated
// event, a dead letter too many or too few, a changed field, a lost event,
// a schedule that does not match the run). The mock implements neither
// transactions nor read_committed, but a clean at-least-once run has no
// repeated outputs, so everything the checker compares must hold there too.

#include "checker.h"

#include "embedded.h"
#include "kafka_service.h"
#include "reference_tables.h"

#include "codec/decoder.h"
#include "codec/json_encode.h"
#include "store/store.h"
#include "stream/batch_publisher.h"
#include "stream/embedded_cluster.h"
#include "workload/generator.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

using namespace posd;

namespace {

constexpr int partitions = 4;
constexpr std::chrono::milliseconds kafka_timeout{30'000};

std::string join(const std::vector<std::int64_t>& v) {
    std::string out;
    for (const std::int64_t x : v) out += fmt::format(" {}", x);
    return out;
}

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "posd-eos-checker-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
};

bool wait_for(const std::function<bool()>& cond, std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cond() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return cond();
}

// The mock cluster with posd's topics, the reference data of a seeded
// workload on the reference topics, and a producer for the rest.
struct world {
    stream::embedded_cluster cluster;
    std::map<std::string, std::string> kafka;
    service::topic_names topics;
    service::reference_topics reference;
    workload::workload_config config;
    std::unique_ptr<workload::activity_generator> generator;
    std::unique_ptr<RdKafka::Producer> producer;
    codec::decoder decoder;
    std::uint64_t produced = 0; // activity messages
    temp_dir dir;

    world() {
        service::create_service_topics(cluster, topics, partitions, reference);
        kafka["bootstrap.servers"] = cluster.bootstrap_servers();
        config.seed = 4;
        config.account_count = 300;
        config.cusip_count = 60;
        config.end_of_day_every = 1'000;
        config.price_update_every = 0; // the price test makes its own
        config.duplicate_per_mille = 30;
        config.bad_per_mille = 30;
        generator = std::make_unique<workload::activity_generator>(config);
        generator->set_protobuf_per_mille(100);
        producer = stream::make_producer(kafka);
        const workload::reference_set& ref = generator->reference();
        for (const auto& r : ref.bookkeeping_rules) produce_reference(reference.bookkeeping_rules, r);
        for (const auto& r : ref.products) produce_reference(reference.products, r);
        for (const auto& r : ref.securities) produce_reference(reference.securities, r);
        for (const auto& r : ref.margin_rules) produce_reference(reference.margin_rules, r);
        for (const auto& r : ref.prices) produce_reference(reference.prices, r);
        flush();
    }

    template <typename T>
    void produce_reference(const std::string& topic, const T& r) {
        std::string value;
        codec::encode_json(r, value);
        stream::produce_message(*producer, {topic, -1, service::reference_key(r), value, {}});
    }
    void produce(stream::kafka_message m) { stream::produce_message(*producer, m); }
    void flush() { REQUIRE(producer->flush(30'000) == RdKafka::ERR_NO_ERROR); }

    // The next n generated records on the activity topic, keyed and
    // partitioned as posd's produce_activity_file does: END_OF_DAY to every
    // partition, everything else by its key.
    void produce_activity(std::size_t n) {
        workload::item it;
        for (std::size_t i = 0; i < n;) {
            generator->next(it);
            if (it.kind == workload::item_kind::price_update) continue;
            ++i;
            std::vector<std::pair<std::string, std::string>> headers;
            if (!it.content_type.empty()) headers.emplace_back("content-type", it.content_type);
            const bool end_of_day =
                it.kind == workload::item_kind::control &&
                std::holds_alternative<model::control_record>(decoder.decode(
                    it.value, codec::content_type_from_header(it.content_type.empty()
                                                                  ? std::nullopt
                                                                  : std::optional<std::string_view>(it.content_type))));
            if (end_of_day) {
                for (int p = 0; p < partitions; ++p) produce({topics.activity, p, it.key, it.value, headers});
                produced += partitions;
            } else {
                produce({topics.activity, -1, it.key, it.value, headers});
                ++produced;
            }
        }
        flush();
    }

    std::vector<std::int64_t> ends(const std::string& topic) {
        std::vector<std::int64_t> out;
        for (int p = 0; p < partitions; ++p) {
            std::int64_t low = 0, high = 0;
            REQUIRE(producer->query_watermark_offsets(topic, p, &low, &high, 10'000) == RdKafka::ERR_NO_ERROR);
            out.push_back(high);
        }
        return out;
    }

    eos::captured read() {
        eos::read_options o;
        o.kafka = kafka;
        o.timeout = std::chrono::seconds(60);
        return eos::read_topics(o);
    }
};

// posd's Kafka service in-process (as posd runs it on the embedded
// cluster: at-least-once outputs), with its own reference tables read from
// the reference topics, on a thread of its own.
struct posd_instance {
    service::reference_tables tables;
    service::kafka_service_settings settings;
    engine::engine_config config;
    std::unique_ptr<store::rocks_store> store;
    std::unique_ptr<service::kafka_service> service;
    std::atomic<bool> stop{false};
    std::exception_ptr error;
    std::thread thread;

    posd_instance(world& w, const std::filesystem::path& state) : tables(w.kafka, w.reference, kafka_timeout) {
        tables.load();
        settings.kafka = w.kafka;
        settings.consumer_kafka["session.timeout.ms"] = "6000";
        settings.mode = stream::delivery_mode::at_least_once;
        settings.tables = &tables;
        // Long enough that every price of one change lands in one batch.
        settings.revalue_coalesce = std::chrono::milliseconds(1'000);
        config.initial_business_date = w.config.start_business_date;
        store::store_options o;
        o.path = state.string();
        o.changelog_topic = settings.topics.changelog;
        store = store::rocks_store::open(o);
        service = std::make_unique<service::kafka_service>(settings, config, tables.data(), *store);
        thread = std::thread([this] {
            try {
                service->run(stop);
            } catch (...) {
                error = std::current_exception();
            }
        });
    }
    ~posd_instance() { finish(); }
    void finish() {
        stop = true;
        if (thread.joinable()) thread.join();
    }
    bool applied(std::uint64_t records) const { return service->counts().records.records_in >= records; }
};

bool has(const eos::report& r, std::string_view check) {
    return std::any_of(r.violations.begin(), r.violations.end(), [&](const auto& v) { return v.check == check; });
}

// Every violation kept, so that `has` sees each check.
eos::report verify_all(const eos::captured& in, const eos::schedule& plan) {
    eos::verify_options o;
    o.violations_kept = 1'000'000;
    return eos::verify(in, plan, o);
}

std::string describe(const eos::report& r) {
    std::string out = eos::summary_line(r, "test", 0);
    std::size_t shown = 0;
    for (const auto& v : r.violations)
        if (++shown <= 30) out += fmt::format("\n  violation[{}]: {}", v.check, v.detail);
    return out;
}

} // namespace

TEST_CASE("the schedule file parses, and a bad one is refused with its line") {
    const eos::schedule s = eos::parse_schedule("# a run\npartitions 2\nbusiness-date 2024-03-04\n"
                                                "prices-initial 3 4  # loaded at start\n"
                                                "phase 10 20 prices 5 4\nphase 12 25 prices 5 4\n");
    CHECK(s.partitions == 2);
    CHECK(s.business_date == date::parse("2024-03-04"));
    REQUIRE(s.prices_initial.has_value());
    CHECK(*s.prices_initial == std::vector<std::int64_t>{3, 4});
    REQUIRE(s.phases.size() == 2);
    CHECK(s.phases[0].activity_end == std::vector<std::int64_t>{10, 20});
    CHECK(s.phases[0].prices_end == std::vector<std::int64_t>{5, 4});
    CHECK(s.phases[1].activity_end == std::vector<std::int64_t>{12, 25});
    CHECK_THROWS_WITH(eos::parse_schedule("partitions 2\nbusiness-date 2024-03-04\nphase 1 x\n"),
                      Catch::Contains("line 3"));
    CHECK_THROWS_WITH(eos::parse_schedule("partitions 2\n"), Catch::Contains("business-date"));
    CHECK_THROWS_WITH(eos::parse_schedule("business-date 2024-03-04\nbogus 1\n"), Catch::Contains("bogus"));
}

TEST_CASE("one phase: a clean run has no violation, a repeated event, a bogus or a lost dead letter and a changed "
          "field are caught") {
    world w;
    w.produce_activity(3'000);
    {
        posd_instance posd(w, w.dir.path / "state");
        REQUIRE(wait_for([&] { return posd.applied(w.produced) || posd.error; }));
        posd.finish();
        if (posd.error) std::rethrow_exception(posd.error);
        const service::service_counts c = posd.service->counts();
        CHECK(c.records.records_in == w.produced);
        CHECK(c.records.duplicates > 0);
        CHECK(c.records.rejected > 0);
        CHECK(c.records.controls >= partitions); // an END_OF_DAY per partition at least
    }
    const std::string schedule_text = fmt::format("partitions {}\nbusiness-date {}\nprices-initial{}\nphase{} prices{}\n",
                                                  partitions, w.config.start_business_date.to_string(),
                                                  join(w.ends(w.reference.prices)), join(w.ends(w.topics.activity)),
                                                  join(w.ends(w.reference.prices)));
    const eos::schedule plan = eos::parse_schedule(schedule_text);

    // (a) The clean run.
    const eos::captured clean = w.read();
    const eos::report ok = verify_all(clean, plan);
    INFO(describe(ok));
    CHECK(ok.violation_count == 0);
    CHECK(ok.records_in == w.produced);
    CHECK(ok.records_in == ok.applied + ok.duplicates + ok.rejected);
    CHECK(ok.duplicates > 0);
    CHECK(ok.rejected > 0);
    CHECK(clean.position_updated.size() > 1'000);
    CHECK(clean.market_value.size() > 1'000);
    CHECK(clean.margin_updated.size() > 500);
    CHECK(clean.dead_letter.size() == ok.rejected);
    WARN(eos::summary_line(ok, "mock-one-phase", 0));

    // The same without a schedule's phases: one phase to the end.
    eos::schedule whole = plan;
    whole.phases.clear();
    whole.prices_initial.reset();
    CHECK(verify_all(clean, whole).violation_count == 0);

    // Changes to what was read, without Kafka: every check can fail.
    {
        INFO("a field of a last position.updated changed");
        eos::captured bad = clean;
        auto& part = *std::find_if(bad.position_updated.partitions.begin(), bad.position_updated.partitions.end(),
                                   [](const auto& p) { return !p.empty(); });
        std::string& v = *part.back().value;
        const auto at = v.find("\"tdQty\":\"");
        REQUIRE(at != std::string::npos);
        v.insert(at + 9, "1"); // "5" becomes "15"
        const eos::report r = verify_all(bad, plan);
        INFO(describe(r));
        CHECK(r.violation_count == 1);
        CHECK(has(r, "position"));
    }
    {
        INFO("the first of a key's two or more position.updated lost");
        eos::captured bad = clean;
        auto& part = *std::max_element(bad.position_updated.partitions.begin(), bad.position_updated.partitions.end(),
                                       [](const auto& a, const auto& b) { return a.size() < b.size(); });
        std::map<std::string, int> per_key;
        for (const eos::record& r : part) ++per_key[*r.key];
        const auto first = std::find_if(part.begin(), part.end(), [&](const eos::record& r) { return per_key[*r.key] > 1; });
        REQUIRE(first != part.end());
        part.erase(first);
        const eos::report r = verify_all(bad, plan);
        INFO(describe(r));
        CHECK(has(r, "versions"));
        CHECK(has(r, "applied")); // its records are no longer listed
    }
    {
        // README.md "Message formats": a settlement names the trades it
        // settles in settledActivityIds; listing them in activityIds counts
        // them as applied twice.
        std::map<std::string, std::pair<std::int32_t, std::int64_t>> where_applied; // activity id -> partition, offset
        for (std::size_t p = 0; p < clean.activity.partitions.size(); ++p)
            for (const eos::record& r : clean.activity.partitions[p]) {
                std::optional<std::string_view> type;
                for (const auto& [name, value] : r.headers)
                    if (name == "content-type") type = value;
                const auto decoded = w.decoder.decode(r.value.value_or(""), codec::content_type_from_header(type));
                if (const auto* a = std::get_if<model::activity_record>(&decoded))
                    where_applied.try_emplace(a->activity_id, static_cast<std::int32_t>(p), r.offset);
            }
        // The first settlement event and what it settles.
        eos::record* settlement = nullptr;
        auto find_settlement = [](eos::captured& c) -> eos::record* {
            for (auto& part : c.position_updated.partitions)
                for (eos::record& r : part)
                    if (r.value->find(R"("cause":"settlement")") != std::string::npos) return &r;
            return nullptr;
        };
        eos::captured as_before = clean;
        settlement = find_settlement(as_before);
        REQUIRE(settlement != nullptr); // the workload settles trades at its END_OF_DAYs
        std::string& v = *settlement->value;
        const auto ids_at = v.find(R"("settledActivityIds":[)");
        REQUIRE(ids_at != std::string::npos);
        const auto ids_end = v.find(']', ids_at);
        const std::string ids = v.substr(ids_at + 22, ids_end - ids_at - 22); // "a","b"
        const auto eod_at = v.find(R"("endOfDayOffset":)");
        REQUIRE(eod_at != std::string::npos);
        const std::int64_t eod_offset = std::stoll(v.substr(eod_at + 17));
        std::vector<std::string> settled;
        for (std::size_t at = 0; (at = ids.find('"', at)) != std::string::npos;) {
            const auto end = ids.find('"', at + 1);
            settled.push_back(ids.substr(at + 1, end - at - 1));
            at = end + 1;
        }
        REQUIRE_FALSE(settled.empty());
        auto list = [&](auto offset_of) {
            std::string ids_text = "[", offsets_text = "[";
            for (const std::string& id : settled) {
                ids_text += (ids_text.size() > 1 ? ",\"" : "\"") + id + "\"";
                offsets_text += (offsets_text.size() > 1 ? "," : "") + std::to_string(offset_of(id));
            }
            return std::pair{ids_text + "]", offsets_text + "]"};
        };
        auto relist = [](std::string& value, const std::pair<std::string, std::string>& lists) {
            const auto at = value.find(R"("activityIds":[],"offsets":[])");
            REQUIRE(at != std::string::npos);
            value.replace(at, 29, R"("activityIds":)" + lists.first + R"(,"offsets":)" + lists.second);
        };
        {
            INFO("a settlement that lists the settled trades in activityIds, with the END_OF_DAY's offset (as "
                 "posd did before issue 9)");
            relist(v, list([&](const std::string&) { return eod_offset; }));
            const eos::report r = verify_all(as_before, plan);
            INFO(describe(r));
            CHECK(r.violation_count == 1);
            CHECK(has(r, "applied"));
        }
        {
            INFO("a settlement published as an application of the trades it settles");
            eos::captured bad = clean;
            eos::record* e = find_settlement(bad);
            REQUIRE(e != nullptr);
            std::string& value = *e->value;
            relist(value, list([&](const std::string& id) {
                REQUIRE(where_applied.contains(id));
                return where_applied.at(id).second;
            }));
            const auto cause_at = value.find(R"("cause":"settlement","settledActivityIds":)");
            REQUIRE(cause_at != std::string::npos);
            value.replace(cause_at, value.find(']', cause_at) + 1 - cause_at, R"("cause":"activity")");
            const eos::report r = verify_all(bad, plan);
            INFO(describe(r));
            CHECK(has(r, "applied")); // each settled trade applied twice
            CHECK(has(r, "settled")); // and its settlement missing
        }
        {
            INFO("a settlement event that says it is an application");
            eos::captured bad = clean;
            std::string& value = *find_settlement(bad)->value;
            value.replace(value.find(R"("cause":"settlement")"), 20, R"("cause":"activity")");
            const eos::report r = verify_all(bad, plan);
            INFO(describe(r));
            CHECK(has(r, "format"));
        }
    }
    {
        INFO("a dead letter lost");
        eos::captured bad = clean;
        auto& part = *std::find_if(bad.dead_letter.partitions.begin(), bad.dead_letter.partitions.end(),
                                   [](const auto& p) { return !p.empty(); });
        part.pop_back();
        const eos::report r = verify_all(bad, plan);
        INFO(describe(r));
        CHECK(has(r, "dlq"));
        CHECK(has(r, "counts"));
    }
    {
        INFO("a margin.updated and a market-value changed");
        eos::captured bad = clean;
        for (auto* t : {&bad.margin_updated, &bad.market_value}) {
            auto& part = *std::find_if(t->partitions.begin(), t->partitions.end(), [](const auto& p) { return !p.empty(); });
            std::string& v = *part.back().value;
            const auto at = v.find("\"firm\":\"");
            REQUIRE(at != std::string::npos);
            v.replace(at + 8, 4, "ZZZZ");
        }
        const eos::report r = verify_all(bad, plan);
        INFO(describe(r));
        CHECK(r.violation_count == 2);
        CHECK(has(r, "margin"));
        CHECK(has(r, "market-value"));
    }
    {
        INFO("a schedule that stops short of the topic's end");
        eos::schedule shorter = plan;
        for (auto& e : shorter.phases.back().activity_end) e -= 1;
        const eos::report r = verify_all(clean, shorter);
        INFO(describe(r));
        CHECK(has(r, "schedule"));
        CHECK(has(r, "counts"));
    }

    // (b) A copy of a published position.updated appended to its partition.
    {
        std::int32_t tp = 0;
        while (clean.position_updated.partitions[static_cast<std::size_t>(tp)].empty()) ++tp;
        const eos::record& last = clean.position_updated.partitions[static_cast<std::size_t>(tp)].back();
        w.produce({w.topics.position_updated, tp, *last.key, *last.value, {}});
        w.flush();
        const eos::report r = verify_all(w.read(), plan);
        INFO(describe(r));
        CHECK(has(r, "versions"));
        WARN(eos::summary_line(r, "mock-repeated-event", 1));
    }
    // (c) Then a dead letter for a record posd applied.
    {
        std::size_t i = 0;
        const auto& p0 = clean.activity.partitions[0];
        while (i < p0.size() && p0[i].value->find("\"type\":\"control\"") != std::string::npos) ++i;
        REQUIRE(i < p0.size());
        const eos::record& victim = p0[i];
        w.produce({w.topics.dead_letter,
                   -1,
                   victim.key.value_or(""),
                   *victim.value,
                   {{"reason", "MALFORMED"},
                    {"message", "bogus"},
                    {"field", ""},
                    {"source.topic", w.topics.activity},
                    {"source.partition", "0"},
                    {"source.offset", std::to_string(victim.offset)}}});
        w.flush();
        const eos::report r = verify_all(w.read(), plan);
        INFO(describe(r));
        CHECK(has(r, "dlq"));
        CHECK(has(r, "counts"));
        CHECK(has(r, "versions")); // (b) is still there
        WARN(eos::summary_line(r, "mock-bogus-dead-letter", 2));
    }
}

TEST_CASE("two phases with a price change between them: the re-valuation is checked") {
    world w;
    const std::vector<std::int64_t> prices_initial = w.ends(w.reference.prices);
    posd_instance posd(w, w.dir.path / "state");

    // Phase 1.
    w.produce_activity(1'500);
    REQUIRE(wait_for([&] { return posd.applied(w.produced) || posd.error; }));
    REQUIRE(!posd.error);
    const std::vector<std::int64_t> phase1 = w.ends(w.topics.activity);
    REQUIRE(posd.service->counts().revalue_batches == 0);

    // Every priced cusip moves by +3%: each partition re-values them in one batch.
    const workload::reference_set& ref = w.generator->reference();
    for (model::price p : ref.prices) {
        p.prev_price = p.price;
        p.price = *decimal::mul(p.price, decimal::from_scaled(103, 2));
        p.price = p.price.round(4);
        w.produce_reference(w.reference.prices, p);
    }
    w.flush();
    REQUIRE(wait_for([&] { return posd.service->counts().revalue_batches >= partitions || posd.error; }));
    REQUIRE(!posd.error);
    CHECK(posd.service->counts().revalue_batches == partitions);
    CHECK(posd.service->counts().cusips_revalued == partitions * ref.prices.size());
    const std::vector<std::int64_t> prices_after = w.ends(w.reference.prices);

    // Phase 2, valued at the new prices.
    w.produce_activity(1'500);
    REQUIRE(wait_for([&] { return posd.applied(w.produced) || posd.error; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // nothing further is due
    posd.finish();
    if (posd.error) std::rethrow_exception(posd.error);
    CHECK(posd.service->counts().revalue_batches == partitions);
    const std::vector<std::int64_t> phase2 = w.ends(w.topics.activity);

    const eos::captured run = w.read();
    const eos::schedule plan = eos::parse_schedule(
        fmt::format("partitions {}\nbusiness-date {}\nprices-initial{}\nphase{} prices{}\nphase{} prices{}\n", partitions,
                    w.config.start_business_date.to_string(), join(prices_initial), join(phase1), join(prices_after),
                    join(phase2), join(prices_after)));
    const eos::report ok = verify_all(run, plan);
    INFO(describe(ok));
    CHECK(ok.violation_count == 0);
    CHECK(ok.records_in == w.produced);
    WARN(eos::summary_line(ok, "mock-price-phase", 0));

    // A schedule that never applies the price change does not fit this run.
    const eos::schedule unchanged = eos::parse_schedule(
        fmt::format("partitions {}\nbusiness-date {}\nprices-initial{}\nphase{} prices{}\nphase{} prices{}\n", partitions,
                    w.config.start_business_date.to_string(), join(prices_initial), join(phase1), join(prices_initial),
                    join(phase2), join(prices_initial)));
    const eos::report wrong = verify_all(run, unchanged);
    INFO(describe(wrong));
    CHECK(has(wrong, "position"));
    CHECK(has(wrong, "market-value"));
}
