// Seeded randomized test of libs/engine against the plain oracle in
// oracle.h (see README.md in this directory). Every stream is generated from
// one seed; a failure prints the seed and the record index, and
//   POSD_ORACLE_SEED=<seed> POSD_ORACLE_STREAMS=1 POSD_ORACLE_TRACE=1 engine_oracle_tests "<test name>"
// replays exactly that stream with a trace of every record.

#include "oracle.h"

#include "base/cusip.h"
#include "base/date.h"
#include "base/decimal.h"
#include "base/limits.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "engine/reference_data.h"
#include "model/events.h"
#include "model/reason.h"
#include "model/records.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace posd;

// ============================================================ settings

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    return std::strtoull(v, nullptr, 0);
}

constexpr std::uint64_t default_base_seed = 0x5eed'0000;
std::uint64_t base_seed() { return env_u64("POSD_ORACLE_SEED", default_base_seed); }
std::uint64_t streams(std::uint64_t fallback) { return env_u64("POSD_ORACLE_STREAMS", fallback); }
bool trace() { return env_u64("POSD_ORACLE_TRACE", 0) != 0; }
// Failing streams reported in full per test case (the rest are counted).
int failures_reported_max() { return static_cast<int>(env_u64("POSD_ORACLE_REPORT_MAX", 10)); }

// ============================================================ the stream

struct item {
    // A reference data change (a price, or a security when `security` is
    // set) instead of an input record: upserted, then revalue(cusip) ...
    bool is_price_change = false;
    oracle::input rec;
    model::price price;
    std::optional<model::security> security;
    // ... or an FX rate (upserted, or erased when `fx_erase`), never followed
    // by a re-valuation: accounts take it at their next evaluation.
    std::optional<model::fx_rate> fx;
    bool fx_erase = false;
    bool revalue = true; // ... unless the re-valuation is left to the next change or END_OF_DAY

    const std::string& cusip() const { return security ? security->cusip : price.cusip; }
    void upsert_into(engine::reference_data& ref) const {
        if (fx && fx_erase) ref.erase_fx_rate(fx->currency, fx->base_currency);
        else if (fx) ref.upsert(*fx);
        else if (security) ref.upsert(*security);
        else ref.upsert(price);
    }
};

struct scenario {
    std::uint64_t seed = 0;
    std::int32_t partition = 0;
    engine::engine_config config;
    std::vector<model::bookkeeping_rule> rules;
    std::vector<model::product_definition> products;
    std::vector<model::security> securities;
    std::vector<model::price> prices;
    std::vector<model::margin_rule> margin_rules;
    std::vector<model::fx_rate> fx_rates;
    std::vector<item> items;
    timestamp start;
};

engine::reference_data make_refdata(const scenario& s) {
    engine::reference_data r;
    for (auto& x : s.rules) r.upsert(x);
    for (auto& x : s.products) r.upsert(x);
    for (auto& x : s.securities) r.upsert(x);
    for (auto& x : s.prices) r.upsert(x);
    for (auto& x : s.margin_rules) r.upsert(x);
    for (auto& x : s.fx_rates) r.upsert(x);
    return r;
}

timestamp now_for(const scenario& s, std::int64_t offset) { return timestamp{s.start.ms + offset * 1000}; }

// ============================================================ the generator

class generator {
public:
    // `salt` keeps the streams of the two test cases apart for equal seeds.
    generator(std::uint64_t seed, std::uint64_t salt) : rng_(seed * 0x9e37'79b9'7f4a'7c15ULL ^ salt) { s_.seed = seed; }

    scenario make(int records_min, int records_max);
    // `n` records on one position key (a few rejects in between), for a
    // group longer than limits::group_records_max.
    scenario make_one_position(int n);

private:
    struct account {
        std::string firm, ledger, branch, base, type, category, key;
        std::optional<date> closed;
    };
    struct instrument {
        std::string cusip;
        std::string product;      // product line
        bool in_security_master = true;
        bool fractional = false;  // product allows fractions
        decimal px;               // rough price for amounts
    };

    int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool chance(int percent) { return uniform(0, 99) < percent; }
    template <typename T>
    const T& pick(const std::vector<T>& v) { return v[static_cast<std::size_t>(uniform(0, static_cast<int>(v.size()) - 1))]; }
    decimal dec(std::int64_t lo, std::int64_t hi, int digits) {
        return decimal::from_scaled(std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_), digits);
    }
    std::string new_cusip() {
        static constexpr char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        std::string c;
        for (int i = 0; i < 8; ++i) c += alphabet[uniform(0, 35)];
        c += *cusip::check_digit(c);
        return c;
    }

    void make_reference_data();
    void make_accounts();
    model::activity_record base_record(const account& a, const std::string& sub, const instrument* ins);
    void fill_trade(model::activity_record& r, const instrument* ins, bool buy);
    void push_record(model::activity_record r, std::string key = {});
    void push_run_record();
    void push_bad_record();
    void push_decode_reject();
    void push_duplicate();
    void push_end_of_day();
    void push_price_change();
    void push_fx_change();
    model::fx_rate random_fx_rate(const std::string& currency);
    bool short_type(const std::string& t) const { return s_.config.short_account_types.contains(t); }

    std::mt19937_64 rng_;
    scenario s_;
    std::vector<account> accounts_;
    std::vector<instrument> instruments_;
    std::map<std::string, model::price> prices_;
    std::set<std::string> pc_cusips_; // priced by PREVIOUS_CLOSE
    std::vector<std::string> cash_rules_, buy_rules_, sell_rules_;
    std::map<std::string, decimal> held_; // estimated tdQty per position key
    date business_date_;                  // the generator's estimate
    std::int64_t offset_ = 0;
    int ids_ = 0;
    std::vector<std::size_t> activity_items_; // items that are activity records
    // the current run: records on one position key
    int run_left_ = 0;
    const account* run_account_ = nullptr;
    std::string run_sub_;
    const instrument* run_instrument_ = nullptr;
};

scenario generator::make(int records_min, int records_max) {
    s_.partition = uniform(0, 7);
    date first = date::from_days(19'700 + uniform(0, 400));
    business_date_ = first;
    s_.start = timestamp{static_cast<std::int64_t>(first.days()) * 86'400'000 + 14 * 3'600'000};
    if (chance(80)) s_.config.initial_business_date = first; // else: the UTC date of the first batch
    s_.config.account_type_index_from_end = chance(25) ? 1 : 0;
    if (chance(30)) s_.config.end_of_day_max_days_ahead = uniform(0, 10);
    make_reference_data();
    make_accounts();

    int n = uniform(records_min, records_max);
    push_run_record(); // a stream starts with a record, never with a price change
    while (static_cast<int>(s_.items.size()) < n) {
        if (run_left_ > 0 && chance(85)) {
            push_run_record();
            continue;
        }
        int r = uniform(0, 99);
        if (r < 4) push_end_of_day();
        else if (r < 7) push_price_change();
        else if (r < 8) push_fx_change();
        else if (r < 13) push_duplicate();
        else if (r < 22) push_bad_record();
        else if (r < 24) push_decode_reject();
        else {
            run_left_ = uniform(1, 8);
            run_account_ = &pick(accounts_);
            run_sub_ = chance(70) ? "" : (chance(50) ? "01" : "MG");
            run_instrument_ = chance(20) ? nullptr : &pick(instruments_);
            push_run_record();
        }
    }
    return std::move(s_);
}

scenario generator::make_one_position(int n) {
    s_.partition = 0;
    business_date_ = date::from_days(19'800);
    s_.start = timestamp{static_cast<std::int64_t>(business_date_.days()) * 86'400'000};
    s_.config.initial_business_date = business_date_;
    make_reference_data();
    make_accounts();
    for (auto& a : accounts_)
        if (short_type(a.type)) {
            a.closed.reset();
            run_account_ = &a;
        }
    run_instrument_ = &instruments_.front();
    run_sub_ = "";
    while (static_cast<int>(s_.items.size()) < n) {
        // Only records that cannot apply elsewhere, so the group is never broken.
        if (chance(2)) push_decode_reject();
        else if (chance(2)) push_duplicate();
        else push_run_record();
    }
    return std::move(s_);
}

void generator::make_reference_data() {
    auto rule = [&](std::string code, bool td_bal, bool sd_bal, bool sma, bool td_qty, bool sd_qty) {
        model::bookkeeping_rule r;
        r.maxx_key_code = code;
        r.short_desc = code;
        r.upd_td_bal_sw = td_bal;
        r.upd_sd_bal_sw = sd_bal;
        r.adj_sma_sw = sma;
        r.upd_td_qty_sw = td_qty;
        r.upd_sd_qty_sw = sd_qty;
        s_.rules.push_back(r);
        if (!td_qty) cash_rules_.push_back(code);
    };
    rule("BUY", true, true, false, true, true);
    rule("SEL", true, true, false, true, true);
    rule("DEP", true, true, true, false, false);
    rule("WDR", true, true, true, false, false);
    rule("MEM", false, false, false, false, false);
    rule("STL", false, true, false, false, true); // settlement only
    rule("SMA", false, false, true, false, false);
    rule("TDO", true, false, false, true, false); // trade date only
    for (int i = 1; i <= 4; ++i)
        rule("R" + std::to_string(i), chance(50), chance(50), chance(30), chance(50), chance(50));
    buy_rules_ = {"BUY", "BUY", "BUY", "BUY", "TDO", "STL", "MEM", "R1", "R2", "R3", "R4"};
    sell_rules_ = {"SEL", "SEL", "SEL", "SEL", "TDO", "STL", "MEM", "R1", "R2", "R3", "R4"};

    auto product = [&](std::string line, decimal factor, std::optional<decimal> default_price, bool fractions,
                       bool marginable, bool contributes, std::string flag) {
        model::product_definition p;
        p.prodline = line;
        p.desc_short = line;
        p.factor = factor;
        p.default_price_for_mgn = default_price;
        p.fractions_allowed_sw = fractions;
        p.marginable_flag = marginable;
        p.contributes_to_equity_sw = contributes;
        p.ext_rule_flag = flag;
        s_.products.push_back(p);
    };
    const decimal one = decimal::from_units(1);
    product("EQ", one, std::nullopt, false, true, true, chance(50) ? "" : "S");
    product("FR", one, std::nullopt, true, true, true, "");
    product("MMF", one, chance(90) ? std::optional(one) : std::nullopt, true, true, true, "F");
    product("BND", decimal::from_scaled(1, 2), chance(50) ? std::optional(decimal::from_units(100)) : std::nullopt,
            false, true, true, "");
    product("OPT", one, std::nullopt, false, false, true, "");
    product("NM", one, std::nullopt, false, false, true, "");
    product("NC", one, std::nullopt, false, true, false, "");
    product("PC", one, chance(50) ? std::optional(decimal::from_scaled(750, 2)) : std::nullopt, false, true, true, "P");
    product("RZ", one, std::nullopt, false, true, true, "Z");
    product("DP", one, decimal::from_units(10), false, true, true, "S");
    product("XX", one, std::nullopt, chance(50), true, true, "Q");

    auto price_of = [&](const std::string& cusip, decimal px, std::optional<decimal> prev) {
        model::price p;
        p.cusip = cusip;
        p.price = px;
        p.prev_price = prev;
        p.as_of = s_.start;
        prices_[cusip] = p;
    };
    auto security = [&](const std::string& cusip, const std::string& line, std::string uls = {},
                        std::optional<decimal> contract_size = std::nullopt) {
        model::security sec;
        sec.cusip = cusip;
        sec.product_line = line;
        sec.uls = uls;
        sec.contract_size = contract_size;
        if (line == "OPT" || line == "BND") {
            sec.exp_or_maturity_date = business_date_.plus_days(uniform(10, 400));
            sec.strike_price = dec(100, 20000, 2);
        }
        s_.securities.push_back(sec);
    };
    auto random_price = [&](std::int64_t lo_cents, std::int64_t hi_cents) {
        return chance(30) ? dec(lo_cents * 100, hi_cents * 100, 4) : dec(lo_cents, hi_cents, 2);
    };

    // Every role, then a random subset of them (at least four).
    enum role { eq1, eq2, fr, mmf, bnd, opt1, opt2, nm, nc, pc, rz, dp, nopx, nosec, xx, cs10, role_count };
    std::vector<int> roles;
    for (int r = 0; r < role_count; ++r)
        if (chance(55)) roles.push_back(r);
    while (roles.size() < 4) roles.push_back(uniform(0, role_count - 1));
    std::string eq1_cusip;
    for (int r : roles) {
        instrument ins;
        ins.cusip = new_cusip();
        decimal px;
        switch (r) {
        case eq1:
            ins.product = "EQ"; px = random_price(100, 30000); security(ins.cusip, "EQ"); price_of(ins.cusip, px, {});
            eq1_cusip = ins.cusip;
            break;
        case eq2:
            ins.product = "EQ"; px = random_price(50, 700); security(ins.cusip, "EQ"); price_of(ins.cusip, px, {});
            break;
        case fr:
            ins.product = "FR"; px = random_price(100, 9000); security(ins.cusip, "FR"); price_of(ins.cusip, px, {});
            break;
        case mmf:
            ins.product = "MMF"; px = one; security(ins.cusip, "MMF");
            if (chance(30)) price_of(ins.cusip, decimal::from_scaled(9998, 4), {});
            break;
        case bnd:
            ins.product = "BND"; px = random_price(9000, 11000); security(ins.cusip, "BND");
            if (chance(70)) price_of(ins.cusip, chance(50) ? dec(90000, 110000, 3) : px, {});
            break;
        case opt1:
            ins.product = "OPT"; px = random_price(5, 3000);
            security(ins.cusip, "OPT", eq1_cusip.empty() ? new_cusip() : eq1_cusip, decimal::from_units(100));
            price_of(ins.cusip, px, {});
            break;
        case opt2:
            ins.product = "OPT"; px = random_price(5, 3000);
            security(ins.cusip, "OPT", new_cusip(), decimal::from_units(100));
            if (chance(50)) price_of(ins.cusip, px, {});
            break;
        case nm:
            ins.product = "NM"; px = random_price(100, 20000); security(ins.cusip, "NM"); price_of(ins.cusip, px, {});
            break;
        case nc:
            ins.product = "NC"; px = random_price(100, 20000); security(ins.cusip, "NC"); price_of(ins.cusip, px, {});
            break;
        case pc:
            ins.product = "PC"; px = random_price(100, 20000); security(ins.cusip, "PC");
            if (chance(85)) price_of(ins.cusip, px, chance(80) ? std::optional(random_price(100, 20000)) : std::nullopt);
            pc_cusips_.insert(ins.cusip);
            break;
        case rz:
            ins.product = "RZ"; px = random_price(100, 20000); security(ins.cusip, "RZ"); price_of(ins.cusip, px, {});
            break;
        case dp:
            ins.product = "DP"; px = decimal::from_units(10); security(ins.cusip, "DP");
            break;
        case nopx:
            ins.product = "EQ"; px = decimal::from_units(20); security(ins.cusip, "EQ");
            break;
        case nosec:
            ins.product = chance(50) ? "EQ" : "FR"; px = random_price(100, 20000); ins.in_security_master = false;
            if (chance(60)) price_of(ins.cusip, px, {});
            break;
        case xx:
            ins.product = "XX"; px = random_price(100, 20000); security(ins.cusip, "XX"); price_of(ins.cusip, px, {});
            break;
        case cs10:
            ins.product = "EQ"; px = random_price(100, 5000);
            security(ins.cusip, "EQ", {}, decimal::from_units(10));
            price_of(ins.cusip, px, {});
            break;
        }
        ins.px = px;
        for (auto& p : s_.products)
            if (p.prodline == ins.product) ins.fractional = p.fractions_allowed_sw;
        instruments_.push_back(ins);
    }
    for (auto& [c, p] : prices_) s_.prices.push_back(p);

    // Margin rule lists: DEFAULT, RETL, OMNI (INST has none and falls back).
    static const std::vector<std::int64_t> levels = {0, 0, 10, 20, 25, 3333, 50, 75, 90, 100}; // /100 or /10000
    static const std::vector<std::int64_t> actions = {25, 30, 35, 40, 50, 75, 100};             // /100
    for (std::string list : {"DEFAULT", "RETL", "OMNI"}) {
        if (chance(10)) continue;
        int k = uniform(1, 4);
        std::set<int> seqs;
        while (static_cast<int>(seqs.size()) < k) seqs.insert(uniform(1, 99));
        for (int seq : seqs) {
            model::margin_rule m;
            m.nyrs_mgn_rule = list;
            m.nyrs_mgn_seq = seq;
            std::int64_t l = pick(levels);
            m.nyrs_level = l == 3333 ? decimal::from_scaled(3333, 4) : decimal::from_scaled(l, 2);
            m.nyrs_action = decimal::from_scaled(pick(actions), 2);
            s_.margin_rules.push_back(m);
        }
    }
    std::shuffle(s_.margin_rules.begin(), s_.margin_rules.end(), rng_);
    // FX rates into the base currency (USD); CHF starts without one.
    for (const char* c : {"EUR", "JPY", "GBP"})
        if (chance(90)) s_.fx_rates.push_back(random_fx_rate(c));
}

// A rate with up to 6 fraction digits, so that conversions round.
model::fx_rate generator::random_fx_rate(const std::string& currency) {
    model::fx_rate fx;
    fx.currency = currency;
    fx.base_currency = "USD";
    fx.rate = currency == "JPY" ? dec(5'000, 9'000, 6) : dec(800'000, 1'600'000, 6);
    fx.as_of = s_.start;
    return fx;
}

// An FX rate arrives, moves or goes.
void generator::push_fx_change() {
    item it;
    it.is_price_change = true;
    it.revalue = false;
    it.fx = random_fx_rate(pick(std::vector<std::string>{"EUR", "JPY", "GBP", "CHF"}));
    it.fx_erase = chance(15);
    s_.items.push_back(std::move(it));
}

void generator::make_accounts() {
    std::vector<std::string> types = {"1", "2", "3"};
    int n = uniform(3, 6);
    while (static_cast<int>(types.size()) < n) types.push_back(pick(std::vector<std::string>{"1", "2", "3", "4"}));
    std::shuffle(types.begin(), types.end(), rng_);
    static const std::vector<std::string> categories = {"RETL", "OMNI", "INST"};
    for (const auto& t : types) {
        account a;
        a.firm = "ABCD";
        a.ledger = "01";
        a.branch = std::to_string(uniform(100, 130));
        a.base = std::to_string(uniform(1000, 9999)) + t;
        if (s_.config.account_type_index_from_end == 1) a.base += std::to_string(uniform(0, 9));
        a.type = t;
        a.category = pick(categories);
        if (chance(20)) a.closed = business_date_.plus_days(uniform(-2, 6));
        a.key = model::make_account_key(a.firm, a.ledger, a.branch, a.base).value();
        accounts_.push_back(a);
    }
}

model::activity_record generator::base_record(const account& a, const std::string& sub, const instrument* ins) {
    model::activity_record r;
    r.activity_id = fmt::format("S{:x}-{}", s_.seed, ids_++);
    r.event_time = timestamp{s_.start.ms + offset_ * 1000 - 500};
    r.firm = a.firm;
    r.ledger = a.ledger;
    r.branch = a.branch;
    r.base = a.base;
    r.sub_acct_key = sub;
    r.acct_category = chance(90) ? a.category : pick(std::vector<std::string>{"RETL", "OMNI", "INST"});
    r.rr = "R01";
    // Absent (the base currency), the base currency by name, or another
    // currency with or without a rate.
    if (chance(30)) r.currency = pick(std::vector<std::string>{"USD", "EUR", "JPY", "GBP", "CHF"});
    if (a.closed && chance(90)) r.account_closed_date = a.closed;
    if (ins) {
        r.cusip = ins->cusip;
        if (!ins->in_security_master || chance(25)) r.product_line = ins->product;
    }
    r.trade_date = business_date_;
    if (chance(75)) r.settle_date = business_date_.plus_days(uniform(-2, 4));
    if (chance(10)) {
        r.intracct_eligible_type = "IT";
        if (chance(70)) r.intracct_min_amt = dec(1000, 50000, 2);
    }
    r.bond_redeem_sw = chance(5);
    r.acct_transferred_sw = chance(5);
    r.reverse_split_sw = chance(5);
    return r;
}

// Quantity, amount and rule of a trade (or, with no instrument, a cash movement).
void generator::fill_trade(model::activity_record& r, const instrument* ins, bool buy) {
    if (!ins) {
        r.maxx_key_code = pick(cash_rules_);
        r.quantity = decimal{};
        r.amount = chance(30) ? dec(100'000, 20'000'000, 2) : dec(1, 2'000'000, 2);
        if (chance(35)) r.amount = -r.amount;
        return;
    }
    std::string pk = r.position().value();
    decimal held = held_[pk];
    auto quantity = [&]() {
        if (ins->fractional && chance(60)) return dec(1, 500'000, 3);
        return decimal::from_units(uniform(1, 500));
    };
    decimal q;
    if (buy) {
        r.maxx_key_code = pick(buy_rules_);
        q = quantity();
        if (held.is_negative() && chance(50)) q = held.abs() + (chance(50) ? decimal{} : quantity()); // cover / cross
    } else {
        r.maxx_key_code = pick(sell_rules_);
        if (held.is_positive() && chance(85)) {
            // Part or all of the holding.
            int pct = chance(30) ? 100 : uniform(10, 100);
            q = *decimal::mul(held, decimal::from_scaled(pct, 2));
            q = ins->fractional ? q.round(3) : q.round(0);
            if (q.is_zero()) q = held;
            if (chance(10)) q = held + quantity(); // more than held: short or INSUFFICIENT_POSITION
        } else {
            q = quantity();
        }
        q = -q;
    }
    r.quantity = q;
    decimal gross = *decimal::mul(q.abs(), ins->px);
    decimal fee = dec(0, 2500, 2);
    decimal amount = chance(20) ? gross.round(4) : gross.round(2);
    r.amount = buy ? -(amount + fee) : amount - fee;
    if (chance(5)) r.amount = -r.amount;
    if (chance(50)) r.price = ins->px;
    const model::bookkeeping_rule* rule = nullptr;
    for (auto& x : s_.rules)
        if (x.maxx_key_code == r.maxx_key_code) rule = &x;
    if (rule && rule->upd_td_qty_sw) held_[pk] = held + q;
}

void generator::push_record(model::activity_record r, std::string key) {
    item it;
    it.rec.offset = offset_++;
    it.rec.key = key.empty() ? r.account().value() : key;
    it.rec.value = fmt::format("{{\"activityId\":\"{}\",\"offset\":{}}}", r.activity_id, it.rec.offset);
    it.rec.decoded = std::move(r);
    activity_items_.push_back(s_.items.size());
    s_.items.push_back(std::move(it));
}

void generator::push_run_record() {
    --run_left_;
    if (!run_account_) {
        run_account_ = &pick(accounts_);
        run_instrument_ = chance(20) ? nullptr : &pick(instruments_);
    }
    model::activity_record r = base_record(*run_account_, run_sub_, run_instrument_);
    fill_trade(r, run_instrument_, chance(60));
    push_record(std::move(r));
}

void generator::push_bad_record() {
    const account& a = pick(accounts_);
    const instrument* ins = &pick(instruments_);
    model::activity_record r = base_record(a, chance(70) ? "" : "01", ins);
    fill_trade(r, ins, chance(60));
    std::string key;
    switch (uniform(0, 6)) {
    case 0: // KEY_MISMATCH, sometimes of an id already applied (the key is checked first)
        key = chance(50) ? pick(accounts_).key + "X" : "WXYZ|01|100|00000";
        if (!activity_items_.empty() && chance(50)) {
            const auto& old = s_.items[pick(activity_items_)].rec.decoded;
            if (auto* prev = std::get_if<model::activity_record>(&old)) r.activity_id = prev->activity_id;
        }
        break;
    case 1: r.maxx_key_code = "ZZ9"; break; // UNKNOWN_KEY_CODE
    case 2: r.account_closed_date = business_date_.plus_days(-uniform(0, 5)); break; // ACCOUNT_CLOSED
    case 3: // UNKNOWN_PRODUCT
        if (chance(50)) {
            r.product_line = "NOPE";
        } else {
            r.cusip = new_cusip(); // valid, but the security master does not know it
            r.product_line.clear();
        }
        break;
    case 4: // FRACTIONAL_NOT_ALLOWED
        r.quantity = decimal::from_scaled(uniform(1, 99999), 2);
        if (r.quantity.is_integer()) r.quantity += decimal::from_scaled(5, 1);
        if (chance(50)) r.quantity = -r.quantity;
        break;
    case 5: // BELOW_MIN_TRANSFER
        r.intracct_eligible_type = "IT";
        r.intracct_min_amt = decimal::from_units(1000);
        r.amount = dec(-99999, 99999, 2);
        break;
    case 6: // INSUFFICIENT_POSITION
        r.maxx_key_code = "SEL";
        r.quantity = -(decimal::max(decimal{}, held_[r.position().value()]) + decimal::from_units(uniform(1, 1000)));
        break;
    }
    push_record(std::move(r), key);
}

void generator::push_decode_reject() {
    static const std::vector<model::reason> reasons = {
        model::reason::malformed,        model::reason::missing_field,         model::reason::bad_field,
        model::reason::number_out_of_range, model::reason::bad_cusip_check_digit, model::reason::field_too_long,
        model::reason::invalid_encoding, model::reason::unknown_record_type,   model::reason::record_too_large,
        model::reason::unsupported_content_type};
    item it;
    it.rec.offset = offset_++;
    it.rec.key = pick(accounts_).key;
    it.rec.value = fmt::format("garbage-{}", it.rec.offset);
    it.rec.decoded = model::reject{pick(reasons), "quantity", "decode failed"};
    s_.items.push_back(std::move(it));
}

void generator::push_duplicate() {
    if (activity_items_.empty()) return push_bad_record();
    const item& old = s_.items[pick(activity_items_)];
    item it;
    it.rec = old.rec;
    it.rec.offset = offset_++;
    s_.items.push_back(std::move(it));
}

void generator::push_end_of_day() {
    date d = business_date_;
    int r = uniform(0, 99);
    if (r < 15) d = business_date_.plus_days(-uniform(1, 5)); // replay
    else if (r < 30) d = business_date_.plus_days(uniform(1, 4));
    else if (r < 34) d = business_date_.plus_days(s_.config.end_of_day_max_days_ahead + uniform(1, 400)); // too far
    else if (r < 36) d = *date::parse("2999-12-31"); // a typo: DATE_OUT_OF_RANGE
    else if (r < 40) d = business_date_.plus_days(s_.config.end_of_day_max_days_ahead); // just within
    const bool accepted = d >= business_date_ && d.days() - business_date_.days() <= s_.config.end_of_day_max_days_ahead;
    if (accepted) business_date_ = d.next_weekday();
    item it;
    it.rec.offset = offset_++;
    it.rec.key = "";
    it.rec.value = fmt::format("{{\"type\":\"control\",\"action\":\"END_OF_DAY\",\"businessDate\":\"{}\"}}",
                               d.to_string());
    it.rec.decoded = model::control_record{model::control_action::end_of_day, d};
    s_.items.push_back(std::move(it));
}

void generator::push_price_change() {
    const instrument& ins = pick(instruments_);
    if (chance(30)) {
        // A security master change: strike, expiry or contract size.
        for (auto& sec : s_.securities) {
            if (sec.cusip != ins.cusip) continue;
            model::security changed = sec;
            int what = uniform(0, 2);
            if (what == 0) changed.strike_price = dec(100, 20000, 2);
            if (what == 1) changed.exp_or_maturity_date = business_date_.plus_days(uniform(-5, 300));
            if (what == 2) changed.contract_size = chance(50) ? std::optional(decimal::from_units(uniform(1, 3) * 50))
                                                              : std::nullopt;
            sec = changed;
            item it;
            it.is_price_change = true;
            it.security = changed;
            it.revalue = chance(50);
            s_.items.push_back(std::move(it));
            return;
        }
    }
    auto it_price = prices_.find(ins.cusip);
    if (it_price == prices_.end() && chance(70)) return push_end_of_day();
    model::price p;
    p.cusip = ins.cusip;
    p.as_of = timestamp{s_.start.ms + offset_ * 1000};
    decimal old = it_price == prices_.end() ? ins.px : it_price->second.price;
    int pct = uniform(70, 140);
    p.price = *decimal::mul(old, decimal::from_scaled(pct, 2));
    p.price = chance(30) ? p.price.round(4) : p.price.round(2);
    if (p.price.is_zero()) p.price = decimal::from_scaled(1, 2);
    if (pc_cusips_.contains(ins.cusip) && chance(80)) p.prev_price = old;
    prices_[ins.cusip] = p;
    item it;
    it.is_price_change = true;
    it.price = p;
    it.revalue = chance(75);
    s_.items.push_back(std::move(it));
}

// ============================================================ describing and comparing

std::string show(const decimal& d) { return d.to_string(); }
std::string show(const std::string& s) { return "\"" + s + "\""; }
std::string show(bool b) { return b ? "true" : "false"; }
std::string show(const std::vector<model::currency_cash>& cash) {
    std::string out = "[";
    for (const auto& c : cash)
        out += fmt::format("{{{} td {} sd {} rate {} tdBase {} sdBase {}}}", c.currency, c.td_bal.to_string(),
                           c.sd_bal.to_string(), c.rate.to_string(), c.td_bal_base.to_string(),
                           c.sd_bal_base.to_string());
    return out + "]";
}
std::string show(std::uint64_t v) { return std::to_string(v); }
std::string show(std::int64_t v) { return std::to_string(v); }
std::string show(const date& d) { return d.to_string(); }
std::string show(timestamp t) { return t.to_string(); }
std::string show(model::margin_call_state s) { return std::string(model::to_string(s)); }
template <typename T>
std::string show(const std::optional<T>& v) { return v ? show(*v) : "none"; }
template <typename T>
std::string show(const std::vector<T>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + show(v[i]);
    return out + "]";
}

#define CMP(field)                                                                                   \
    if (!(e.field == o.field))                                                                       \
        return fmt::format("{} engine={} oracle={}", #field, show(e.field), show(o.field));

struct compare_options {
    bool versions = true;
    bool conc_ratio = true; // cusipConc and acctCategoryConc
};

std::optional<std::string> diff(const model::position& e, const model::position& o, const compare_options& c) {
    CMP(firm_postrmt) CMP(ledger_postrmt) CMP(branch_postrmt) CMP(base_postrmt) CMP(sub_acct_key) CMP(cusip)
    CMP(acct_type_postrmt) CMP(td_qty) CMP(sd_qty) CMP(td_qty_short_side) CMP(cost_basis)
    CMP(metadata.acct_activity_qty) CMP(metadata.acct_activity_amt) CMP(metadata.bond_redeem_sw)
    CMP(metadata.acct_transferred_sw) CMP(metadata.reverse_split_sw)
    CMP(market_value) CMP(contributes_to_equity) CMP(loss) CMP(loan_value) CMP(equity_req) CMP(house_req)
    CMP(short_exp_date) CMP(pairoff_acct_type) CMP(pairoff_cusip) CMP(pairoff_td_qty)
    if (c.versions) { CMP(version) }
    return std::nullopt;
}

std::optional<std::string> diff(const model::managed_position& e, const model::managed_position& o,
                                const compare_options&) {
    CMP(firm_prodpc) CMP(ledger_prodpc) CMP(branch_prodpc) CMP(base_prodpc) CMP(sub_acct_prodpc) CMP(cusip)
    CMP(uls) CMP(product_line) CMP(price) CMP(prev_price) CMP(strike_price) CMP(contract_size)
    CMP(exp_or_maturity_date) CMP(security_found_sw) CMP(uls_found_sw)
    return std::nullopt;
}

std::optional<std::string> diff(const model::margin_balance& e, const model::margin_balance& o,
                                const compare_options& c) {
    CMP(firm) CMP(ledger) CMP(branch) CMP(base) CMP(acct_type) CMP(acct_category)
    CMP(td_bal) CMP(sd_bal) CMP(sma) CMP(mv_td_long) CMP(mv_td_short) CMP(equity) CMP(loan_value)
    CMP(reqt_exch) CMP(reqt_house) CMP(cash_avail) CMP(margin_call) CMP(margin_call_amount)
    CMP(base_currency) CMP(cash) CMP(td_bal_total) CMP(sd_bal_total)
    if (c.versions) { CMP(version) }
    return std::nullopt;
}

std::optional<std::string> diff(const model::portfolio_concentration& e, const model::portfolio_concentration& o,
                                const compare_options& c) {
    CMP(account) CMP(cusip) CMP(td_qty_conc) CMP(market_val) CMP(mv_long) CMP(mv_short) CMP(exch_req)
    CMP(loan_value) CMP(house_req)
    if (c.conc_ratio) { CMP(cusip_conc) CMP(acct_category_conc) }
    return std::nullopt;
}

std::optional<std::string> diff(const model::event_cause& e, const model::event_cause& o) {
    if (e.kind != o.kind)
        return fmt::format("kind engine={} oracle={}", model::to_string(e.kind), model::to_string(o.kind));
    CMP(settled_activity_ids) CMP(business_date) CMP(end_of_day_offset) CMP(revalued_cusip) CMP(price_as_of)
    return std::nullopt;
}

std::optional<std::string> diff(const model::market_value_event& e, const model::market_value_event& o,
                                const compare_options&) {
    CMP(product_id) CMP(firm) CMP(ledger) CMP(branch) CMP(base) CMP(sub_acct_key) CMP(quantity) CMP(price)
    CMP(rule) CMP(market_value) CMP(activity_ids) CMP(offsets)
    if (auto d = diff(e.cause, o.cause)) return "cause " + *d;
    return std::nullopt;
}

#undef CMP

std::string describe(const oracle::input& in) {
    if (auto* r = std::get_if<model::reject>(&in.decoded))
        return fmt::format("offset {} decode reject {}", in.offset, model::reason_code(r->reason));
    if (auto* c = std::get_if<model::control_record>(&in.decoded))
        return fmt::format("offset {} END_OF_DAY {}", in.offset, c->business_date.to_string());
    const auto& a = std::get<model::activity_record>(in.decoded);
    return fmt::format(
        "offset {} activity {} key '{}' position '{}' code {} qty {} amt {} pl '{}' cat '{}' settle {} closed {}"
        "{}",
        in.offset, a.activity_id, in.key, a.position().value(), a.maxx_key_code, a.quantity.to_string(),
        a.amount.to_string(), a.product_line, a.acct_category, show(a.settle_date), show(a.account_closed_date),
        a.intracct_eligible_type.empty()
            ? std::string()
            : fmt::format(" intracct min {}", show(a.intracct_min_amt)));
}

std::string describe(const item& it) {
    if (it.fx)
        return it.fx_erase ? fmt::format("FX rate {}/{} deleted", it.fx->currency, it.fx->base_currency)
                           : fmt::format("FX rate {}/{} -> {}", it.fx->currency, it.fx->base_currency,
                                         it.fx->rate.to_string());
    if (it.is_price_change && it.security)
        return fmt::format("security change {} strike {} expiry {} contract size {}{}", it.security->cusip,
                           show(it.security->strike_price), show(it.security->exp_or_maturity_date),
                           show(it.security->contract_size), it.revalue ? "" : " without revalue");
    if (it.is_price_change)
        return fmt::format("price change {} -> {} (prev {}){}", it.price.cusip, it.price.price.to_string(),
                           show(it.price.prev_price), it.revalue ? "" : " without revalue");
    return describe(it.rec);
}

std::string position_key_of(const model::position& p) { return p.key().value(); }
std::string market_key(const model::market_value_event& m) {
    return model::make_position_key(m.firm, m.ledger, m.branch, m.base, m.sub_acct_key, m.product_id).value();
}

// Splits events by kind, position/margin events in (key, version) order.
struct event_lists {
    std::vector<model::position_updated> positions;
    std::vector<model::market_value_event> market_values;
    std::vector<model::margin_updated> margins;
    std::vector<model::dead_letter> dead_letters;
};

event_lists split(const std::vector<model::output_event>& events) {
    event_lists l;
    for (const auto& e : events) {
        std::visit(
            [&](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, model::position_updated>) l.positions.push_back(x);
                else if constexpr (std::is_same_v<T, model::market_value_event>) l.market_values.push_back(x);
                else if constexpr (std::is_same_v<T, model::margin_updated>) l.margins.push_back(x);
                else l.dead_letters.push_back(x);
            },
            e);
    }
    std::stable_sort(l.positions.begin(), l.positions.end(), [](const auto& a, const auto& b) {
        return std::pair{position_key_of(a.position), a.position.version} <
               std::pair{position_key_of(b.position), b.position.version};
    });
    std::stable_sort(l.market_values.begin(), l.market_values.end(),
                     [](const auto& a, const auto& b) { return market_key(a) < market_key(b); });
    std::stable_sort(l.margins.begin(), l.margins.end(), [](const auto& a, const auto& b) {
        return std::pair{a.balance.account().value(), a.balance.version} <
               std::pair{b.balance.account().value(), b.balance.version};
    });
    return l;
}

std::optional<std::string> diff_events(const std::vector<model::output_event>& engine_events,
                                       const std::vector<model::output_event>& oracle_events,
                                       const compare_options& c) {
    event_lists e = split(engine_events), o = split(oracle_events);
    auto keys = [](const auto& list, auto key_of) {
        std::string out;
        for (const auto& x : list) out += key_of(x) + " ";
        return out;
    };
    if (e.positions.size() != o.positions.size())
        return fmt::format("position.updated count engine={} [{}] oracle={} [{}]", e.positions.size(),
                           keys(e.positions, [](const auto& x) { return position_key_of(x.position) + "#" + std::to_string(x.position.version); }),
                           o.positions.size(),
                           keys(o.positions, [](const auto& x) { return position_key_of(x.position) + "#" + std::to_string(x.position.version); }));
    for (std::size_t i = 0; i < e.positions.size(); ++i) {
        const auto& ep = e.positions[i];
        const auto& op = o.positions[i];
        std::string where = fmt::format("position.updated {}#{}", position_key_of(op.position), op.position.version);
        if (position_key_of(ep.position) != position_key_of(op.position))
            return fmt::format("{}: engine key {}", where, position_key_of(ep.position));
        if (auto d = diff(ep.position, op.position, c)) return where + ": " + *d;
        if (ep.activity_ids != op.activity_ids)
            return fmt::format("{}: activity_ids engine={} oracle={}", where, show(ep.activity_ids), show(op.activity_ids));
        if (ep.offsets != op.offsets)
            return fmt::format("{}: offsets engine={} oracle={}", where, show(ep.offsets), show(op.offsets));
        if (auto d = diff(ep.cause, op.cause)) return where + ": cause " + *d;
        // The oracle knows the event time of a group's records (latest eventTime among them).
        if (op.event_time.ms != 0 && ep.event_time != op.event_time)
            return fmt::format("{}: event_time engine={} oracle={}", where, ep.event_time.to_string(),
                               op.event_time.to_string());
    }
    if (e.market_values.size() != o.market_values.size())
        return fmt::format("market-value count engine={} [{}] oracle={} [{}]", e.market_values.size(),
                           keys(e.market_values, market_key), o.market_values.size(), keys(o.market_values, market_key));
    for (std::size_t i = 0; i < e.market_values.size(); ++i)
        if (auto d = diff(e.market_values[i], o.market_values[i], c))
            return fmt::format("market-value {}: {}", market_key(o.market_values[i]), *d);
    if (e.margins.size() != o.margins.size())
        return fmt::format("margin.updated count engine={} [{}] oracle={} [{}]", e.margins.size(),
                           keys(e.margins, [](const auto& x) { return x.balance.account().value(); }), o.margins.size(),
                           keys(o.margins, [](const auto& x) { return x.balance.account().value(); }));
    for (std::size_t i = 0; i < e.margins.size(); ++i) {
        const auto& em = e.margins[i];
        const auto& om = o.margins[i];
        std::optional<std::string> d = diff(em.balance, om.balance, c);
        if (!d && em.activity_ids != om.activity_ids)
            d = fmt::format("activity_ids engine={} oracle={}", show(em.activity_ids), show(om.activity_ids));
        if (!d && em.offsets != om.offsets)
            d = fmt::format("offsets engine={} oracle={}", show(em.offsets), show(om.offsets));
        if (!d)
            if (auto dc = diff(em.cause, om.cause)) d = "cause " + *dc;
        if (d)
            return fmt::format("margin.updated {}#{}: {}", om.balance.account().value(), om.balance.version, *d);
    }
    if (e.dead_letters.size() != o.dead_letters.size())
        return fmt::format("dead letter count engine={} oracle={}", e.dead_letters.size(), o.dead_letters.size());
    for (std::size_t i = 0; i < e.dead_letters.size(); ++i) {
        const auto& ed = e.dead_letters[i];
        const auto& od = o.dead_letters[i];
        if (ed.offset != od.offset || ed.reject.reason != od.reject.reason || ed.key != od.key ||
            ed.value != od.value || ed.partition != od.partition)
            return fmt::format("dead letter #{}: engine offset {} {} partition {} key '{}' / oracle offset {} {} "
                               "partition {} key '{}'{}",
                               i, ed.offset, model::reason_code(ed.reject.reason), ed.partition, ed.key, od.offset,
                               model::reason_code(od.reject.reason), od.partition, od.key,
                               ed.value != od.value ? " (value bytes differ)" : "");
    }
    return std::nullopt;
}

std::optional<std::string> diff_counts(const engine::batch_counts& e, const oracle::counts& o) {
    if (e.records_in != o.records_in || e.applied != o.applied || e.duplicates != o.duplicates ||
        e.rejected != o.rejected || e.controls != o.controls)
        return fmt::format("counts in/applied/duplicates/rejected/controls engine={}/{}/{}/{}/{} oracle={}/{}/{}/{}/{}",
                           e.records_in, e.applied, e.duplicates, e.rejected, e.controls, o.records_in, o.applied,
                           o.duplicates, o.rejected, o.controls);
    if (e.records_in != e.applied + e.duplicates + e.rejected)
        return fmt::format("engine counts do not add up: in {} != applied {} + duplicates {} + rejected {}",
                           e.records_in, e.applied, e.duplicates, e.rejected);
    return std::nullopt;
}

template <typename EngineMap, typename OracleMap>
std::optional<std::string> diff_maps(const char* what, const EngineMap& e, const OracleMap& o, const compare_options& c) {
    if (e.size() != o.size()) {
        std::string only;
        for (const auto& [k, v] : e)
            if (!o.contains(k)) only += " engine-only '" + k + "'";
        for (const auto& [k, v] : o)
            if (!e.contains(k)) only += " oracle-only '" + k + "'";
        return fmt::format("{} count engine={} oracle={}:{}", what, e.size(), o.size(), only);
    }
    for (const auto& [k, ov] : o) {
        auto it = e.find(k);
        if (it == e.end()) return fmt::format("{} '{}' missing in the engine", what, k);
        if (auto d = diff(it->second, ov, c)) return fmt::format("{} '{}': {}", what, k, *d);
    }
    return std::nullopt;
}

std::optional<std::string> diff_state(engine::memory_state& ms, std::int32_t partition, const oracle::oracle& o,
                                      const compare_options& c) {
    if (auto d = diff_maps("position", ms.positions(), o.positions, c)) return d;
    if (auto d = diff_maps("managed position", ms.managed_positions(), o.managed, c)) return d;
    if (auto d = diff_maps("margin balance", ms.balances(), o.balances, c)) return d;
    // Concentrations of valued (cusip) positions; cash has none to compare.
    std::map<std::string, model::portfolio_concentration> ec, oc;
    for (const auto& [account, by_cusip] : ms.concentrations())
        for (const auto& [cusip, conc] : by_cusip)
            if (!cusip.empty()) ec[account + " " + cusip] = conc;
    for (const auto& [key, conc] : o.concentrations) oc[key.first + " " + key.second] = conc;
    if (auto d = diff_maps("concentration", ec, oc, c)) return d;
    if (ms.pending_count(partition) != o.pending.size())
        return fmt::format("pending settlements engine={} oracle={}", ms.pending_count(partition), o.pending.size());
    if (ms.applied_id_count(partition) != o.applied_ids.size())
        return fmt::format("applied ids engine={} oracle={}", ms.applied_id_count(partition), o.applied_ids.size());
    model::partition_meta meta;
    if (!ms.load_meta(partition, meta)) return std::string("no partition meta in the engine's state");
    if (meta.business_date != o.business_date)
        return fmt::format("business date engine={} oracle={}", show(meta.business_date), show(o.business_date));
    if (meta.next_offset != o.next_offset)
        return fmt::format("next offset engine={} oracle={}", meta.next_offset, o.next_offset);
    return std::nullopt;
}

// ============================================================ running

struct failure_log {
    int failures = 0;
    std::uint64_t streams = 0;
    std::uint64_t records = 0;
    std::map<std::string, std::uint64_t> coverage;
    void add_coverage(const oracle::oracle& o) {
        for (const auto& [k, v] : o.coverage) coverage[k] += v;
    }
    void report(const char* test, std::uint64_t seed, std::size_t index, const std::string& where,
                const std::string& what) {
        ++failures;
        if (failures > failures_reported_max()) return;
        FAIL_CHECK(fmt::format("seed {} (0x{:x}) item {} [{}]\n  {}\n  replay: POSD_ORACLE_SEED={} POSD_ORACLE_STREAMS=1 "
                               "POSD_ORACLE_TRACE=1 engine_oracle_tests \"{}\"",
                               seed, seed, index, where, what, seed, test));
    }
};

void trace_events(const char* who, const std::vector<model::output_event>& events) {
    auto l = split(events);
    for (const auto& p : l.positions)
        fmt::print("    {} position.updated {}#{} td {} sd {} cb {} mv {} house {} exch {} ids {}\n", who,
                   position_key_of(p.position), p.position.version, p.position.td_qty.to_string(),
                   p.position.sd_qty.to_string(), p.position.cost_basis.to_string(),
                   p.position.market_value.to_string(), p.position.house_req.to_string(),
                   p.position.equity_req.to_string(), show(p.activity_ids));
    for (const auto& m : l.market_values)
        fmt::print("    {} market-value {} qty {} price {} {} mv {}\n", who, market_key(m), m.quantity.to_string(),
                   m.price.to_string(), m.rule, m.market_value.to_string());
    for (const auto& m : l.margins)
        fmt::print("    {} margin.updated {}#{} td {} sd {} sma {} eq {} long {} short {} exch {} house {} cash {} "
                   "call {} {}\n",
                   who, m.balance.account().value(), m.balance.version, m.balance.td_bal.to_string(),
                   m.balance.sd_bal.to_string(), m.balance.sma.to_string(), m.balance.equity.to_string(),
                   m.balance.mv_td_long.to_string(), m.balance.mv_td_short.to_string(),
                   m.balance.reqt_exch.to_string(), m.balance.reqt_house.to_string(),
                   m.balance.cash_avail.to_string(), model::to_string(m.balance.margin_call),
                   m.balance.margin_call_amount.to_string());
    for (const auto& d : l.dead_letters)
        fmt::print("    {} dead letter offset {} {}\n", who, d.offset, model::reason_code(d.reject.reason));
}

std::vector<engine::input_record> views(std::span<const oracle::input> batch) {
    std::vector<engine::input_record> out;
    out.reserve(batch.size());
    for (const auto& in : batch) out.push_back(engine::input_record{in.offset, in.key, in.value, in.decoded});
    return out;
}

// Per key, the versions on emitted position.updated and margin.updated
// events must run 1, 2, 3, ... with no gap, and end at the stored version.
struct version_tracker {
    std::map<std::string, std::uint64_t> positions, balances;

    std::optional<std::string> check(const std::vector<model::output_event>& events) {
        for (const auto& e : events) {
            if (auto* p = std::get_if<model::position_updated>(&e)) {
                auto& v = positions[position_key_of(p->position)];
                if (p->position.version != v + 1)
                    return fmt::format("position.updated {} version {} after version {}", position_key_of(p->position),
                                       p->position.version, v);
                v = p->position.version;
            } else if (auto* m = std::get_if<model::margin_updated>(&e)) {
                auto& v = balances[m->balance.account().value()];
                if (m->balance.version != v + 1)
                    return fmt::format("margin.updated {} version {} after version {}", m->balance.account().value(),
                                       m->balance.version, v);
                v = m->balance.version;
            }
        }
        return std::nullopt;
    }

    std::optional<std::string> check_stored(engine::memory_state& ms) {
        for (const auto& [k, p] : ms.positions())
            if (p.version != positions[k])
                return fmt::format("position {} stored version {} but last position.updated version {}", k, p.version,
                                   positions[k]);
        for (const auto& [k, b] : ms.balances())
            if (b.version != balances[k])
                return fmt::format("balance {} stored version {} but last margin.updated version {}", k, b.version,
                                   balances[k]);
        return std::nullopt;
    }
};

// (a) One record per batch; after every record compare the events, the counts
// and the whole state.
void run_lockstep(const char* test, const scenario& s, failure_log& log, const compare_options& c) {
    engine::reference_data ref = make_refdata(s);
    engine::memory_state ms;
    engine::partition_engine eng(s.partition, s.config, ref);
    oracle::oracle orc(s.partition, s.config, ref);
    version_tracker versions;
    bool tracing = trace();
    for (std::size_t i = 0; i < s.items.size(); ++i) {
        const item& it = s.items[i];
        if (tracing) fmt::print("[{}] {}\n", i, describe(it));
        engine::write_set ws;
        oracle::result res;
        if (it.is_price_change) {
            it.upsert_into(ref);
            if (!it.revalue) continue;
            timestamp now = now_for(s, static_cast<std::int64_t>(i));
            ws = eng.revalue(ms, it.cusip(), now);
            res = orc.revalue(it.cusip(), now);
        } else {
            std::span<const oracle::input> batch(&it.rec, 1);
            auto in = views(batch);
            timestamp now = now_for(s, it.rec.offset);
            ws = eng.apply(ms, in, now);
            res = orc.apply(batch, now);
            ++log.records;
        }
        ms.apply(ws);
        if (tracing) {
            trace_events("engine", ws.events);
            trace_events("oracle", res.events);
        }
        std::optional<std::string> d;
        if (!it.is_price_change) d = diff_counts(ws.counts, res.counts);
        if (!d) d = diff_events(ws.events, res.events, c);
        if (!d) d = versions.check(ws.events);
        if (!d) d = diff_state(ms, s.partition, orc, c);
        if (d) {
            log.report(test, s.seed, i, describe(it), *d);
            break;
        }
    }
    log.add_coverage(orc);
}

// (b) Random batch sizes (price changes end a batch). The engine against an
// oracle fed the same batches (everything compared, versions included);
// gapless versions; and at the end against a second oracle fed one record
// at a time (everything but versions: where batches end must not change the
// final state).
void run_batched(const char* test, const scenario& s, failure_log& log, std::size_t batch_max = 50) {
    engine::reference_data ref = make_refdata(s);
    engine::memory_state ms;
    engine::partition_engine eng(s.partition, s.config, ref);
    oracle::oracle same(s.partition, s.config, ref);
    oracle::oracle single(s.partition, s.config, ref);
    std::mt19937_64 rng(s.seed ^ 0xba7c'4e5d'0000'0001ULL);
    version_tracker versions;
    bool tracing = trace();
    auto fail = [&](std::size_t index, const std::string& where, const std::string& what) {
        log.report(test, s.seed, index, where, what);
        log.add_coverage(same);
    };
    std::size_t i = 0;
    while (i < s.items.size()) {
        const item& first = s.items[i];
        std::size_t start = i;
        std::string where;
        engine::write_set ws;
        oracle::result res;
        if (first.is_price_change) {
            where = describe(first);
            if (tracing) fmt::print("[{}] {}\n", i, where);
            ++i;
            first.upsert_into(ref);
            if (!first.revalue) continue;
            timestamp now = now_for(s, static_cast<std::int64_t>(start));
            ws = eng.revalue(ms, first.cusip(), now);
            res = same.revalue(first.cusip(), now);
            single.revalue(first.cusip(), now);
        } else {
            // A batch_max that covers the stream means: everything in one batch.
            std::size_t want = batch_max >= s.items.size()
                                   ? batch_max
                                   : std::uniform_int_distribution<std::size_t>(1, batch_max)(rng);
            std::vector<oracle::input> batch;
            while (i < s.items.size() && !s.items[i].is_price_change && batch.size() < want)
                batch.push_back(s.items[i++].rec);
            where = fmt::format("batch of items {}..{}", start, i - 1);
            if (tracing) {
                fmt::print("[{}..{}] batch\n", start, i - 1);
                for (std::size_t k = start; k < i; ++k) fmt::print("  [{}] {}\n", k, describe(s.items[k]));
            }
            auto in = views(batch);
            timestamp now = now_for(s, batch.front().offset);
            ws = eng.apply(ms, in, now);
            res = same.apply(batch, now);
            for (const auto& rec : batch) single.apply(std::span<const oracle::input>(&rec, 1), now_for(s, rec.offset));
            log.records += batch.size();
        }
        ms.apply(ws);
        if (tracing) {
            trace_events("engine", ws.events);
            trace_events("oracle", res.events);
        }
        std::optional<std::string> d;
        if (!first.is_price_change) d = diff_counts(ws.counts, res.counts);
        if (!d) d = diff_events(ws.events, res.events, compare_options{});
        if (!d) d = versions.check(ws.events);
        if (!d) d = diff_state(ms, s.partition, same, compare_options{});
        if (d) return fail(i - 1, where, "engine vs oracle with the same batches: " + *d);
    }
    log.add_coverage(same);
    if (auto d = diff_state(ms, s.partition, single, compare_options{.versions = false, .conc_ratio = true}))
        return fail(s.items.size() - 1, "end of stream",
                    "engine (random batches) vs oracle (one record per batch), versions ignored: " + *d);
    if (auto d = versions.check_stored(ms)) return fail(s.items.size() - 1, "end of stream", *d);
}

void summary(const char* test, const failure_log& log, std::chrono::steady_clock::time_point t0) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("{}: {} streams, {} records, base seed {} (0x{:x}), {} failing streams, {} ms\n", test, log.streams,
               log.records, base_seed(), base_seed(), log.failures, ms);
    std::string cov;
    for (const auto& [k, v] : log.coverage) cov += fmt::format(" {}={}", k, v);
    fmt::print("  coverage:{}\n", cov);
}

// The branches every full run must reach (a generator that stopped producing
// one of them would make the comparison silently weaker).
void require_coverage(const failure_log& log, std::uint64_t streams_run, bool batched) {
    // A replay of a few seeds proves nothing about coverage, and streams cut
    // short by a failure cover less: the failure is what to look at then.
    if (streams_run < 200 || log.failures > 0) return;
    static const char* required[] = {
        "reject:KEY_MISMATCH", "reject:UNKNOWN_KEY_CODE", "reject:ACCOUNT_CLOSED", "reject:UNKNOWN_PRODUCT",
        "reject:FRACTIONAL_NOT_ALLOWED", "reject:BELOW_MIN_TRANSFER", "reject:INSUFFICIENT_POSITION",
        "reject:MALFORMED", "reject:BAD_CUSIP_CHECK_DIGIT", "duplicate", "eod:replay", "eod:too-far-ahead", "cost:open", "cost:add",
        "cost:reduce", "cost:cross-zero", "pending:added", "pending:released", "settle:dated-now",
        "rule:STANDARD", "rule:PREVIOUS_CLOSE", "rule:FIXED", "rule:NOT_VALUED", "rule:DEFAULT_PRICE",
        "rule:NO_PRICE", "req:long", "req:long-non-marginable", "req:short-5-or-more", "req:short-below-5",
        "req:short-other", "req:short-without-value", "house:surcharge", "call:NONE", "call:HOUSE", "call:EXCHANGE",
        "cash-avail:excess-equity", "security:found", "security:not-found",
        "uls:found", "uls:not-found", "rule-list:default", "currency:foreign-record", "currency:no-rate",
        "currency:rate-gone"};
    std::vector<std::string> names(std::begin(required), std::end(required));
    if (batched) {
        names.push_back("group:several-records");
        names.push_back("eod:security-changed-since-join");
    }
    for (const auto& r : names) {
        auto it = log.coverage.find(r);
        std::uint64_t n = it == log.coverage.end() ? 0 : it->second;
        INFO("coverage of " << r);
        CHECK(n >= 10);
    }
}

} // namespace

TEST_CASE("engine matches the oracle record by record", "[oracle]") {
    const char* test = "engine matches the oracle record by record";
    auto t0 = std::chrono::steady_clock::now();
    failure_log log;
    std::uint64_t base = base_seed();
    std::uint64_t n = streams(2000);
    for (std::uint64_t k = 0; k < n; ++k) {
        scenario s = generator(base + k, 0xa).make(60, 140);
        run_lockstep(test, s, log, compare_options{});
        ++log.streams;
    }
    summary(test, log, t0);
    require_coverage(log, n, false);
    REQUIRE(log.failures == 0);
}

TEST_CASE("engine matches the oracle with random batch sizes", "[oracle]") {
    const char* test = "engine matches the oracle with random batch sizes";
    auto t0 = std::chrono::steady_clock::now();
    failure_log log;
    std::uint64_t base = base_seed();
    std::uint64_t n = streams(1000);
    for (std::uint64_t k = 0; k < n; ++k) {
        scenario s = generator(base + k, 0xb).make(150, 300);
        run_batched(test, s, log);
        ++log.streams;
    }
    summary(test, log, t0);
    require_coverage(log, n, true);
    REQUIRE(log.failures == 0);
}

TEST_CASE("a group longer than group_records_max is split", "[oracle]") {
    const char* test = "a group longer than group_records_max is split";
    auto t0 = std::chrono::steady_clock::now();
    failure_log log;
    std::uint64_t base = base_seed();
    std::uint64_t n = std::min<std::uint64_t>(streams(3), 3);
    for (std::uint64_t k = 0; k < n; ++k) {
        scenario s = generator(base + k, 0xc).make_one_position(static_cast<int>(limits::group_records_max) * 2 + 500);
        run_batched(test, s, log, s.items.size());
        ++log.streams;
    }
    summary(test, log, t0);
    CHECK(log.coverage["group:split-at-max"] >= 2 * n);
    REQUIRE(log.failures == 0);
}
