// The workload generator: determinism, mix proportions, and — the point of
// it — that every item's expected outcome is what codec + engine produce.

#include "workload/generator.h"

#include "codec/decoder.h"
#include "codec/json_decode.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "engine/reference_data.h"

#include <catch2/catch.hpp>

#include <map>
#include <unordered_map>
#include <unordered_set>

using namespace posd;
using namespace posd::workload;

namespace {

workload_config small_config(std::uint64_t seed) {
    workload_config c;
    c.seed = seed;
    c.account_count = 2'000;
    c.hot_account_count = 20;
    c.cusip_count = 400;
    c.end_of_day_every = 7'000;
    c.price_update_every = 500;
    return c;
}

codec::content_type type_of(const item& it) {
    return codec::content_type_from_header(
        it.content_type.empty() ? std::nullopt : std::optional<std::string_view>(it.content_type));
}

// Feeds items to one partition_engine over a memory_state, in batches,
// flushing at every price update, and checks each item's outcome.
struct engine_run {
    engine::reference_data ref;
    engine::engine_config config;
    engine::memory_state state;
    codec::decoder decoder;
    std::unique_ptr<engine::partition_engine> eng;
    engine::batch_counts totals;
    std::map<std::int64_t, model::reason> rejected_at; // offset -> reason
    std::unordered_set<std::string> applied_ids;

    explicit engine_run(const activity_generator& gen) {
        gen.reference().load_into(ref);
        config.initial_business_date = gen.config().start_business_date;
        eng = std::make_unique<engine::partition_engine>(0, config, ref);
    }

    void absorb(const engine::write_set& ws) {
        totals += ws.counts;
        for (const auto& e : ws.events)
            if (auto* dl = std::get_if<model::dead_letter>(&e)) rejected_at[dl->offset] = dl->reject.reason;
        for (const auto& id : ws.applied_ids) applied_ids.insert(id);
        state.apply(ws);
    }

    void run(const std::vector<item>& items, std::size_t batch) {
        std::vector<engine::input_record> in;
        timestamp now{0};
        auto flush = [&] {
            if (in.empty()) return;
            absorb(eng->apply(state, in, now));
            in.clear();
        };
        for (const auto& it : items) {
            now = it.event_time;
            if (it.kind == item_kind::price_update) {
                flush();
                ref.upsert(*it.price);
                absorb(eng->revalue(state, it.price->cusip, now));
                continue;
            }
            in.push_back(engine::input_record{static_cast<std::int64_t>(it.sequence), it.key, it.value,
                                              decoder.decode(it.value, type_of(it))});
            if (in.size() == batch) flush();
        }
        flush();
    }
};

} // namespace

TEST_CASE("same seed gives the same bytes, another seed other bytes", "[workload]") {
    activity_generator a(small_config(7)), b(small_config(7)), c(small_config(8));
    bool differs = false;
    for (int i = 0; i < 20'000; ++i) {
        item x = a.next(), y = b.next(), z = c.next();
        REQUIRE(x.sequence == static_cast<std::uint64_t>(i));
        REQUIRE(x.kind == y.kind);
        REQUIRE(x.key == y.key);
        REQUIRE(x.value == y.value);
        REQUIRE(x.content_type == y.content_type);
        REQUIRE(x.expected == y.expected);
        REQUIRE(x.reason == y.reason);
        differs = differs || x.value != z.value;
    }
    CHECK(differs);
    CHECK(make_reference_data(small_config(7)).securities[5].cusip ==
          make_reference_data(small_config(7)).securities[5].cusip);
}

TEST_CASE("the mix follows the configuration", "[workload]") {
    auto cfg = small_config(11);
    cfg.account_count = 100'000;
    cfg.cusip_count = 5'000;
    cfg.duplicate_per_mille = 20;
    cfg.bad_per_mille = 30;
    cfg.end_of_day_every = 10'000;
    cfg.price_update_every = 1'000;
    activity_generator gen(cfg);
    const std::size_t n = 100'000;
    std::unordered_map<std::string, std::size_t> per_key;
    std::map<std::string, std::size_t> per_code;
    std::size_t bytes = 0, json_activities = 0, hot = 0;
    std::unordered_set<std::string> hot_keys;
    for (std::size_t i = 0; i < cfg.hot_account_count; ++i) hot_keys.insert(gen.account_key(i));
    for (std::size_t i = 0; i < n; ++i) {
        item it = gen.next();
        if (it.kind == item_kind::activity && it.expected == outcome::applied) {
            ++per_key[it.key];
            ++per_code[it.maxx_key_code];
            hot += hot_keys.contains(it.key);
            bytes += it.value.size();
            ++json_activities;
        }
    }
    const auto& k = gen.counts();
    CHECK(k.items == n);
    CHECK(k.controls >= n / cfg.end_of_day_every);
    CHECK(k.price_updates + 1 >= n / cfg.price_update_every);
    CHECK(k.price_updates <= n / cfg.price_update_every);
    // Duplicates and bad records within 25% of their configured share.
    const double activities = static_cast<double>(k.activities);
    CHECK(static_cast<double>(k.duplicates) / activities == Approx(0.020).epsilon(0.25));
    CHECK(static_cast<double>(k.rejected) / activities == Approx(0.030).epsilon(0.25));
    // Hot accounts get about their share, and the tail is long.
    CHECK(static_cast<double>(hot) / static_cast<double>(json_activities) == Approx(0.30).epsilon(0.15));
    CHECK(per_key.size() > 15'000);
    // Records look like a real feed: a few hundred bytes each.
    const double mean = static_cast<double>(bytes) / static_cast<double>(json_activities);
    INFO("mean record bytes " << mean);
    CHECK(mean > 380);
    CHECK(mean < 700);
    // Every kind of record shows up; buys and sells dominate.
    for (const char* code : {"BUY", "SELL", "SSHT", "BCOV", "DEPO", "WDRL", "DIVD", "FEE", "XFRI", "XFRO",
                             "MEMO", "RCVS", "DELS"}) {
        INFO(code);
        CHECK(per_code[code] > 0);
    }
    CHECK(per_code["BUY"] + per_code["SELL"] > json_activities / 2);
    for (std::uint16_t r = 1; r <= model::reason_max; ++r) {
        INFO(model::reason_code(static_cast<model::reason>(r)));
        // Not a property of the record: the partition it is produced to.
        if (static_cast<model::reason>(r) == model::reason::wrong_partition) continue;
        CHECK(k.rejected_by_reason[r] > 0);
    }
}

TEST_CASE("every valid record decodes, every decode-level bad record fails as expected", "[workload]") {
    auto cfg = small_config(3);
    cfg.bad_per_mille = 150;
    activity_generator gen(cfg);
    gen.set_protobuf_per_mille(100);
    codec::decoder dec;
    std::size_t protobuf = 0;
    for (int i = 0; i < 30'000; ++i) {
        const item it = gen.next();
        if (it.kind == item_kind::price_update) {
            auto p = dec.json().decode_price(it.value);
            REQUIRE(std::holds_alternative<model::price>(p));
            CHECK(std::get<model::price>(p).price == it.price->price);
            continue;
        }
        protobuf += it.content_type == content_type_protobuf;
        auto d = dec.decode(it.value, type_of(it));
        INFO("item " << it.sequence << ": " << it.value.substr(0, 600));
        if (it.expected != outcome::rejected) {
            if (it.kind == item_kind::activity) {
                REQUIRE(std::holds_alternative<model::activity_record>(d));
                CHECK(std::get<model::activity_record>(d).account().value() == it.key);
                CHECK(std::get<model::activity_record>(d).activity_id == it.activity_id);
            } else {
                REQUIRE(std::holds_alternative<model::control_record>(d));
                CHECK(std::get<model::control_record>(d).business_date == it.business_date);
            }
        } else if (auto* rej = std::get_if<model::reject>(&d)) {
            INFO(rej->message);
            CHECK(model::reason_code(rej->reason) == model::reason_code(it.reason));
        } else {
            // Decoded: the engine must reject it (checked in the next test).
            using model::reason;
            const bool engine_reason = it.reason == reason::unknown_key_code || it.reason == reason::account_closed ||
                                       it.reason == reason::fractional_not_allowed ||
                                       it.reason == reason::below_min_transfer ||
                                       it.reason == reason::insufficient_position ||
                                       it.reason == reason::key_mismatch || it.reason == reason::unknown_product ||
                                       it.reason == reason::no_fx_rate ||
                                       (it.reason == reason::date_out_of_range && it.kind == item_kind::control);
            CHECK(engine_reason);
        }
    }
    CHECK(protobuf > 0);
}

TEST_CASE("codec + engine give every item its expected outcome, and the oracle's state", "[workload][engine]") {
    auto cfg = small_config(5);
    cfg.bad_per_mille = 60;
    cfg.duplicate_per_mille = 40;
    activity_generator gen(cfg);
    gen.set_protobuf_per_mille(50);
    auto items = gen.take(60'000);
    // The expected state already holds the fills still queued: take them too.
    while (gen.has_queued()) items.push_back(gen.next());
    engine_run run(gen);
    run.run(items, 500);

    const auto& k = gen.counts();
    CHECK(run.totals.records_in == k.activities + k.controls);
    CHECK(run.totals.applied == k.applied);
    CHECK(run.totals.duplicates == k.duplicates);
    CHECK(run.totals.rejected == k.rejected);
    std::uint64_t end_of_days = 0;
    for (const auto& it : items) end_of_days += it.kind == item_kind::control && it.expected == outcome::applied;
    CHECK(end_of_days > 0);
    CHECK(run.totals.controls == end_of_days);

    std::size_t mismatches = 0;
    for (const auto& it : items) {
        if (it.kind == item_kind::price_update) continue;
        auto r = run.rejected_at.find(static_cast<std::int64_t>(it.sequence));
        if (it.expected == outcome::rejected) {
            if (r == run.rejected_at.end() || r->second != it.reason) {
                ++mismatches;
                UNSCOPED_INFO("item " << it.sequence << " expected " << model::reason_code(it.reason) << " got "
                                      << (r == run.rejected_at.end() ? "no reject" : model::reason_code(r->second))
                                      << ": " << it.value.substr(0, 400));
            }
        } else if (r != run.rejected_at.end()) {
            ++mismatches;
            UNSCOPED_INFO("item " << it.sequence << " (" << to_string(it.expected) << ") rejected "
                                  << model::reason_code(r->second) << ": " << it.value.substr(0, 400));
        }
        if (mismatches > 10) break;
    }
    CHECK(mismatches == 0);

    // The oracle: trade-date quantities and balances.
    std::size_t positions = 0, wrong = 0;
    gen.for_each_expected_position([&](std::string_view key, decimal td_qty) {
        ++positions;
        auto it = run.state.positions().find(key);
        const decimal got = it == run.state.positions().end() ? decimal{} : it->second.td_qty;
        if (got != td_qty && wrong++ < 5)
            UNSCOPED_INFO("position " << key << " tdQty " << got.to_string() << " expected " << td_qty.to_string());
    });
    gen.for_each_expected_balance([&](std::string_view key, decimal td_bal) {
        auto it = run.state.balances().find(key);
        const decimal got = it == run.state.balances().end() ? decimal{} : it->second.td_bal;
        if (got != td_bal && wrong++ < 10)
            UNSCOPED_INFO("account " << key << " tdBal " << got.to_string() << " expected " << td_bal.to_string());
    });
    CHECK(positions > 1'000);
    CHECK(wrong == 0);
}
