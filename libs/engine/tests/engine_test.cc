// Worked examples for the engine's rules (libs/engine/README.md). Margin and
// market-value examples carry their arithmetic in comments beside the checks.

#include "base/cusip.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "engine/valuation.h"

#include <catch2/catch.hpp>

#include <deque>

using namespace posd;
using namespace posd::engine;
using model::reason;

namespace {

decimal d(const char* s) {
    auto v = decimal::parse(s);
    REQUIRE(v.has_value());
    return *v;
}

std::string make_cusip(std::string eight) { return eight + *cusip::check_digit(eight); }

const std::string EQ = make_cusip("12345678");   // equity, price 50.25
const std::string EQ2 = make_cusip("22345678");  // equity, price 10
const std::string BND = make_cusip("32345678");  // bond, percent of par
const std::string OPT = make_cusip("42345678");  // option, contract size 100
const std::string NOPX = make_cusip("52345678"); // equity without a price
const std::string MMF = make_cusip("62345678");  // money-market fund, fixed price
const std::string PNY = make_cusip("72345678");  // penny stock, price 4, not marginable

struct fixture {
    reference_data ref;
    engine_config config;
    memory_state state;
    std::int64_t offset = 0;
    std::deque<std::string> keys, values; // keep record bytes alive (deque: stable addresses)
    timestamp now{1'763'600'000'000};

    fixture() {
        config.initial_business_date = date::parse("2026-11-20"); // a Friday
        auto rule = [&](std::string code, bool tdq, bool sdq, bool tdb, bool sdb, bool sma) {
            model::bookkeeping_rule r;
            r.maxx_key_code = std::move(code);
            r.upd_td_qty_sw = tdq;
            r.upd_sd_qty_sw = sdq;
            r.upd_td_bal_sw = tdb;
            r.upd_sd_bal_sw = sdb;
            r.adj_sma_sw = sma;
            ref.upsert(r);
        };
        rule("BUY", true, true, true, true, false);
        rule("SELL", true, true, true, true, false);
        rule("DEPO", false, false, true, true, true);
        rule("MEMO", false, false, false, false, false);
        rule("RCVS", true, true, false, false, false);
        auto product = [&](std::string line, const char* factor, bool fractions, bool marginable,
                           std::string flag, std::optional<decimal> default_price) {
            model::product_definition p;
            p.prodline = std::move(line);
            p.factor = d(factor);
            p.fractions_allowed_sw = fractions;
            p.marginable_flag = marginable;
            p.ext_rule_flag = std::move(flag);
            p.default_price_for_mgn = default_price;
            ref.upsert(p);
        };
        product("EQ", "1", false, true, "", std::nullopt);
        product("EQD", "1", false, true, "", d("7"));
        product("CB", "0.01", false, true, "", std::nullopt);
        product("OPT", "1", false, true, "", std::nullopt);
        product("MF", "1", true, true, "F", d("1"));
        product("PEN", "1", false, false, "", std::nullopt);
        auto security = [&](const std::string& c, std::string line, std::optional<decimal> cs = std::nullopt,
                            std::string uls = "") {
            model::security s;
            s.cusip = c;
            s.product_line = std::move(line);
            s.contract_size = cs;
            s.uls = std::move(uls);
            ref.upsert(s);
        };
        security(EQ, "EQ");
        security(EQ2, "EQ");
        security(BND, "CB");
        security(OPT, "OPT", d("100"), EQ);
        security(NOPX, "EQD");
        security(MMF, "MF");
        security(PNY, "PEN");
        auto price = [&](const std::string& c, const char* p) { ref.upsert(model::price{c, d(p), std::nullopt, now}); };
        price(EQ, "50.25");
        price(EQ2, "10");
        price(BND, "98.5");
        price(OPT, "3.15");
        price(PNY, "4");
        // House rules: 40% of market value for a cusip at or above half of
        // the account, else 30%.
        ref.upsert(model::margin_rule{"DEFAULT", 1, d("0.5"), d("0.40")});
        ref.upsert(model::margin_rule{"DEFAULT", 2, d("0"), d("0.30")});
    }

    static model::activity_record rec(std::string id, std::string code, std::string base, std::string cusip,
                                      const char* qty, const char* amount) {
        model::activity_record r;
        r.activity_id = std::move(id);
        r.maxx_key_code = std::move(code);
        r.firm = "ABCD";
        r.ledger = "01";
        r.branch = "123";
        r.base = std::move(base);
        r.sub_acct_key = "1";
        r.cusip = std::move(cusip);
        r.quantity = d(qty);
        r.amount = d(amount);
        return r;
    }

    input_record input(model::decoded_record decoded, std::string key) {
        keys.push_back(std::move(key));
        values.push_back("{...}");
        input_record in;
        in.offset = offset++;
        in.key = keys.back();
        in.value = values.back();
        in.decoded = std::move(decoded);
        return in;
    }

    input_record input(const model::activity_record& r) { return input(r, r.account().value()); }

    write_set run(std::vector<input_record> batch) {
        partition_engine e(0, config, ref);
        auto ws = e.apply(state, batch, now);
        state.apply(ws);
        REQUIRE(ws.counts.records_in == ws.counts.applied + ws.counts.duplicates + ws.counts.rejected);
        return ws;
    }

    write_set run_one(const model::activity_record& r) {
        return run({input(r)});
    }

    write_set eod(const char* business_date) {
        return run({input(model::control_record{model::control_action::end_of_day, *date::parse(business_date)},
                          "ABCD|01|123|00000")});
    }

    const model::position& pos(const std::string& base, const std::string& cusip) {
        return state.positions().at("ABCD|01|123|" + base + "|1|" + cusip);
    }
    const model::margin_balance& bal(const std::string& base) { return state.balances().at("ABCD|01|123|" + base); }
};

template <typename T>
std::vector<T> events_of(const write_set& ws) {
    std::vector<T> out;
    for (auto& e : ws.events)
        if (auto* p = std::get_if<T>(&e)) out.push_back(*p);
    return out;
}

reason only_reject(const write_set& ws) {
    auto dl = events_of<model::dead_letter>(ws);
    REQUIRE(dl.size() == 1);
    CHECK(ws.counts.rejected == 1);
    CHECK(ws.counts.applied == 0);
    return dl[0].reject.reason;
}

} // namespace

TEST_CASE("a buy moves trade-date quantity and balance now and settlement later") {
    fixture f;
    auto r = fixture::rec("a1", "BUY", "12342", EQ, "100", "-5000");
    r.trade_date = date::parse("2026-11-20");
    r.settle_date = date::parse("2026-11-23"); // after the business date: pending
    auto ws = f.run_one(r);
    CHECK(ws.counts.applied == 1);
    const auto& p = f.pos("12342", EQ);
    CHECK(p.td_qty == d("100"));
    CHECK(p.sd_qty == d("0"));
    CHECK(p.version == 1);
    CHECK(p.acct_type_postrmt == "2");
    CHECK(p.cost_basis == d("5000")); // cost = -amount
    CHECK(f.state.pending_count(0) == 1);

    // Market value: 50.25 x 100 x factor 1 x contract size 1 = 5025.
    CHECK(p.market_value == d("5025"));
    // Loan value (margin account, marginable): 5025 x (1 - 50%) = 2512.50.
    CHECK(p.loan_value == d("2512.5"));
    // Exchange requirement, long: 5025 x 25% = 1256.25.
    CHECK(p.equity_req == d("1256.25"));
    // House: the cusip is 100% of the account >= 50% -> rate 40%: 5025 x 40% = 2010.
    CHECK(p.house_req == d("2010"));
    CHECK(p.loss == d("0")); // cost 5000 < value 5025

    const auto& b = f.bal("12342");
    CHECK(b.td_bal == d("-5000"));
    CHECK(b.sd_bal == d("0"));
    // Equity = tdBal + mvTdLong - mvTdShort = -5000 + 5025 - 0 = 25.
    CHECK(b.mv_td_long == d("5025"));
    CHECK(b.equity == d("25"));
    CHECK(b.reqt_exch == d("1256.25"));
    CHECK(b.reqt_house == d("2010"));
    // 25 < 1256.25 (exchange) -> EXCHANGE call of reqtHouse - equity = 1985.
    CHECK(b.margin_call == model::margin_call_state::exchange);
    CHECK(b.margin_call_amount == d("1985"));
    CHECK(b.cash_avail == d("0"));

    auto pu = events_of<model::position_updated>(ws);
    REQUIRE(pu.size() == 1);
    CHECK(pu[0].activity_ids == std::vector<std::string>{"a1"});
    CHECK(pu[0].position.version == 1);
    auto mv = events_of<model::market_value_event>(ws);
    REQUIRE(mv.size() == 1);
    CHECK(mv[0].rule == "STANDARD");
    CHECK(mv[0].price == d("50.25"));
    CHECK(mv[0].market_value == d("5025"));
    CHECK(mv[0].product_id == EQ);
    CHECK(events_of<model::margin_updated>(ws).size() == 1);

    const auto& m = f.state.managed_positions().at("ABCD|01|123|12342|1|" + EQ);
    CHECK(m.security_found_sw);
    CHECK_FALSE(m.uls_found_sw);
    CHECK(m.price == d("50.25"));
    CHECK(m.product_line == "EQ");

    SECTION("END_OF_DAY settles it, rolls the price and moves the business date past the weekend") {
        auto e = f.eod("2026-11-20");
        CHECK(e.counts.applied == 1);
        CHECK(e.counts.controls == 1);
        CHECK(e.meta.business_date == date::parse("2026-11-23"));
        CHECK(f.state.pending_count(0) == 0);
        const auto& p2 = f.pos("12342", EQ);
        CHECK(p2.sd_qty == d("100"));
        CHECK(p2.version == 2);
        CHECK(f.bal("12342").sd_bal == d("-5000"));
        auto pu2 = events_of<model::position_updated>(e);
        REQUIRE(pu2.size() == 1);
        // A settlement, not a second application of a1 (README "Message formats").
        CHECK(pu2[0].cause.kind == model::cause_kind::settlement);
        CHECK(pu2[0].activity_ids.empty());
        CHECK(pu2[0].cause.settled_activity_ids == std::vector<std::string>{"a1"});
        CHECK(events_of<model::market_value_event>(e).size() == 1); // the snapshot
        CHECK(f.state.managed_positions().at("ABCD|01|123|12342|1|" + EQ).prev_price == d("50.25"));

        SECTION("a replayed END_OF_DAY is skipped and counted") {
            auto again = f.eod("2026-11-19");
            CHECK(again.counts.duplicates == 1);
            CHECK(again.events.empty());
            CHECK(again.meta.business_date == date::parse("2026-11-23"));
        }
    }

    SECTION("the same activity id again is a duplicate, not applied twice") {
        auto ws2 = f.run_one(r);
        CHECK(ws2.counts.duplicates == 1);
        CHECK(ws2.events.empty());
        CHECK(f.pos("12342", EQ).td_qty == d("100"));
    }
}

TEST_CASE("settlement on or before the business date applies at once") {
    fixture f;
    auto r = fixture::rec("a1", "BUY", "12341", EQ, "10", "-500");
    r.settle_date = date::parse("2026-11-20");
    f.run_one(r);
    CHECK(f.pos("12341", EQ).sd_qty == d("10"));
    CHECK(f.bal("12341").sd_bal == d("-500"));
    CHECK(f.state.pending_count(0) == 0);
}

TEST_CASE("a settlement added and released in one batch is never stored as pending") {
    fixture f;
    auto r = fixture::rec("a1", "BUY", "12341", EQ, "10", "-500");
    r.settle_date = date::parse("2026-11-23");
    auto ws = f.run({f.input(r),
                     f.input(model::control_record{model::control_action::end_of_day, *date::parse("2026-11-20")},
                             "ABCD|01|123|00000")});
    CHECK(ws.pending_added.empty());
    CHECK(ws.pending_released.empty());
    CHECK(f.pos("12341", EQ).sd_qty == d("10"));
    CHECK(f.pos("12341", EQ).version == 2); // the buy, then the settlement
    // One application and one settlement (README.md "Message formats").
    auto pu = events_of<model::position_updated>(ws);
    REQUIRE(pu.size() == 2);
    CHECK(pu[0].cause.kind == model::cause_kind::activity);
    CHECK(pu[0].activity_ids == std::vector<std::string>{"a1"});
    CHECK(pu[1].cause.kind == model::cause_kind::settlement);
    CHECK(pu[1].activity_ids.empty());
    CHECK(pu[1].cause.settled_activity_ids == std::vector<std::string>{"a1"});
    CHECK(pu[1].cause.end_of_day_offset == 1);
}

TEST_CASE("market value rules: bond in percent of par, option contract size, default and fixed prices") {
    fixture f;
    // Bond: 98.5 x 10000 x 0.01 = 9850.
    f.run_one(fixture::rec("b1", "BUY", "55552", BND, "10000", "-9850"));
    CHECK(f.pos("55552", BND).market_value == d("9850"));
    // Option: 3.15 x 2 x 1 x 100 = 630.
    f.run_one(fixture::rec("o1", "BUY", "55552", OPT, "2", "-630"));
    CHECK(f.pos("55552", OPT).market_value == d("630"));
    CHECK(f.state.managed_positions().at("ABCD|01|123|55552|1|" + OPT).uls_found_sw);
    // No price: defaultPriceForMgn 7 x 3 = 21, rule DEFAULT_PRICE.
    auto ws = f.run_one(fixture::rec("n1", "BUY", "55552", NOPX, "3", "-21"));
    auto mv = events_of<model::market_value_event>(ws);
    REQUIRE(mv.size() == 1);
    CHECK(mv[0].rule == "DEFAULT_PRICE");
    CHECK(mv[0].market_value == d("21"));
    // Fixed price fund (extRuleFlag F), fractional quantity allowed: 1 x 12.345 = 12.345 -> 12.
    auto ws2 = f.run_one(fixture::rec("m1", "BUY", "55552", MMF, "12.345", "-12.35"));
    auto mv2 = events_of<model::market_value_event>(ws2);
    REQUIRE(mv2.size() == 1);
    CHECK(mv2[0].rule == "FIXED");
    CHECK(mv2[0].market_value == d("12"));
    // Rounding is half away from zero: 50.25 x 1.5 is not allowed (fractions),
    // so check with the fund: price 1 x 0.5 = 0.5 -> 1.
    f.run_one(fixture::rec("m2", "BUY", "55553", MMF, "0.5", "-0.5"));
    CHECK(f.pos("55553", MMF).market_value == d("1"));
}

TEST_CASE("short positions and FINRA 4210 short requirements") {
    fixture f;
    // Short account (type 3): sell 100 of a $10 stock short.
    f.run_one(fixture::rec("s1", "SELL", "77773", EQ2, "-100", "1000"));
    const auto& p = f.pos("77773", EQ2);
    CHECK(p.td_qty == d("-100"));
    CHECK(p.td_qty_short_side == d("100"));
    CHECK(p.market_value == d("-1000"));
    CHECK(p.cost_basis == d("-1000")); // negative proceeds
    // price >= 5: max(100 x 5.00, 1000 x 30%) = max(500, 300) = 500.
    CHECK(p.equity_req == d("500"));
    const auto& b = f.bal("77773");
    CHECK(b.mv_td_short == d("1000"));
    // equity = 1000 + 0 - 1000 = 0
    CHECK(b.equity == d("0"));
    // Penny stock short (price 4 < 5, not marginable): max(50 x 2.50, 200) = 200.
    f.run_one(fixture::rec("s2", "SELL", "77783", PNY, "-50", "200"));
    CHECK(f.pos("77783", PNY).equity_req == d("200"));
}

TEST_CASE("average cost basis: adding, reducing and crossing zero") {
    fixture f;
    f.run_one(fixture::rec("c1", "BUY", "88883", EQ2, "100", "-1000"));
    f.run_one(fixture::rec("c2", "BUY", "88883", EQ2, "100", "-1200"));
    CHECK(f.pos("88883", EQ2).cost_basis == d("2200"));
    f.run_one(fixture::rec("c3", "SELL", "88883", EQ2, "-50", "600"));
    // reduce by 2200 x 50/200 = 550
    CHECK(f.pos("88883", EQ2).cost_basis == d("1650"));
    f.run_one(fixture::rec("c4", "SELL", "88883", EQ2, "-200", "2000"));
    // crossing zero: 150 closes, 50 opens short at -2000 x 50/200 = -500
    CHECK(f.pos("88883", EQ2).td_qty == d("-50"));
    CHECK(f.pos("88883", EQ2).cost_basis == d("-500"));
    // loss = max(0, costBasis - MV) = max(0, -500 - (-500)) = 0
    CHECK(f.pos("88883", EQ2).loss == d("0"));
}

TEST_CASE("control break: consecutive records of one position are one change") {
    fixture f;
    auto a = fixture::rec("g1", "BUY", "12342", EQ2, "10", "-100");
    auto b = fixture::rec("g2", "BUY", "12342", EQ2, "5", "-50");
    auto bad = fixture::rec("gx", "NOPE", "12342", EQ2, "5", "-50"); // a reject inside does not break the group
    auto c = fixture::rec("g3", "BUY", "12342", EQ2, "1", "-10");
    auto other = fixture::rec("g4", "BUY", "12342", EQ, "1", "-50");
    auto ws = f.run({f.input(a), f.input(b), f.input(bad), f.input(c), f.input(other)});
    CHECK(ws.counts.applied == 4);
    CHECK(ws.counts.rejected == 1);
    auto pu = events_of<model::position_updated>(ws);
    REQUIRE(pu.size() == 2);
    CHECK(pu[0].activity_ids == std::vector<std::string>{"g1", "g2", "g3"});
    CHECK(pu[0].offsets == std::vector<std::int64_t>{0, 1, 3});
    CHECK(pu[0].position.version == 1);
    CHECK(pu[0].position.td_qty == d("16"));
    CHECK(pu[1].activity_ids == std::vector<std::string>{"g4"});
    CHECK(events_of<model::margin_updated>(ws).size() == 2);
    CHECK(f.bal("12342").version == 2);
    // One write per key in the write set.
    CHECK(ws.positions.size() == 2);
}

TEST_CASE("every engine-level reject has its reason and leaves state untouched") {
    fixture f;
    SECTION("key mismatch") {
        auto r = fixture::rec("k1", "BUY", "12342", EQ, "1", "-1");
        CHECK(only_reject(f.run({f.input(r, "ABCD|01|123|99999")})) == reason::key_mismatch);
    }
    SECTION("unknown key code") {
        CHECK(only_reject(f.run_one(fixture::rec("k1", "ZZZZ", "12342", EQ, "1", "-1"))) == reason::unknown_key_code);
    }
    SECTION("account closed on or before the business date") {
        auto r = fixture::rec("k1", "BUY", "12342", EQ, "1", "-1");
        r.account_closed_date = date::parse("2026-11-20");
        CHECK(only_reject(f.run_one(r)) == reason::account_closed);
        r.account_closed_date = date::parse("2026-11-21"); // closes tomorrow: still open
        CHECK(f.run_one(r).counts.applied == 1);
    }
    SECTION("unknown product") {
        auto r = fixture::rec("k1", "BUY", "12342", make_cusip("99999999"), "1", "-1");
        CHECK(only_reject(f.run_one(r)) == reason::unknown_product);
        r.product_line = "EQ"; // the record's own product line is enough
        CHECK(f.run_one(r).counts.applied == 1);
    }
    SECTION("fractional quantity where the product forbids it") {
        CHECK(only_reject(f.run_one(fixture::rec("k1", "BUY", "12342", EQ, "1.5", "-1"))) ==
              reason::fractional_not_allowed);
    }
    SECTION("intra-account transfer below its minimum") {
        auto r = fixture::rec("k1", "DEPO", "12342", "", "0", "99.99");
        r.intracct_eligible_type = "J";
        r.intracct_min_amt = d("100");
        CHECK(only_reject(f.run_one(r)) == reason::below_min_transfer);
        r.amount = d("100");
        CHECK(f.run_one(r).counts.applied == 1);
    }
    SECTION("a sell that would go short in an account type that may not") {
        f.run_one(fixture::rec("k0", "BUY", "12341", EQ, "10", "-500"));
        CHECK(only_reject(f.run_one(fixture::rec("k1", "SELL", "12341", EQ, "-11", "550"))) ==
              reason::insufficient_position);
        CHECK(f.pos("12341", EQ).td_qty == d("10"));
        CHECK(f.run_one(fixture::rec("k2", "SELL", "12341", EQ, "-10", "500")).counts.applied == 1);
    }
    SECTION("a balance that would leave its range") {
        auto r = fixture::rec("k1", "DEPO", "12342", "", "0", "900000000000000");
        for (int i = 0; i < 1200; ++i) {
            r.activity_id = "dep" + std::to_string(i);
            auto ws = f.run_one(r);
            if (ws.counts.rejected) {
                CHECK(only_reject(ws) == reason::number_out_of_range);
                CHECK(f.bal("12342").td_bal <= decimal::from_units(limits::balance_units_max));
                return;
            }
        }
        FAIL("no NUMBER_OUT_OF_RANGE before 1.08e18");
    }
    SECTION("a decode reject passes through with its field") {
        auto ws = f.run({f.input(model::reject{reason::bad_cusip_check_digit, "cusip", "check digit"}, "k")});
        CHECK(only_reject(ws) == reason::bad_cusip_check_digit);
        CHECK(events_of<model::dead_letter>(ws)[0].value == "{...}");
        CHECK(events_of<model::dead_letter>(ws)[0].reject.field == "cusip");
    }
    CHECK(f.state.balances().size() <= 1);
}

TEST_CASE("concentration: a cusip at half or more of the account takes the higher house rate") {
    fixture f;
    // EQ2 (price 10): 600 shares = 6000; EQ (50.25): 80 shares = 4020. Gross 10020.
    f.run_one(fixture::rec("x1", "BUY", "44442", EQ2, "600", "-6000"));
    f.run_one(fixture::rec("x2", "BUY", "44442", EQ, "80", "-4020"));
    const auto& b = f.bal("44442");
    CHECK(b.mv_td_long == d("10020"));
    // House requirements are set at each position's change:
    // x1: conc(EQ2) = 6000/6000 = 1 >= 0.5 -> 40%: max(1500, 2400) = 2400
    // x2: conc(EQ)  = 4020/10020 = 0.401197605 < 0.5 -> 30%: max(1005, 1206) = 1206
    CHECK(b.reqt_exch == d("2505"));   // 6000 x 25% + 4020 x 25% = 1500 + 1005
    CHECK(b.reqt_house == d("3606"));  // 2400 + 1206
    // loan value 3000 + 2010 = 5010; equity = -10020 + 10020 = 0
    CHECK(b.loan_value == d("5010"));
    CHECK(b.equity == d("0"));
    CHECK(b.margin_call == model::margin_call_state::exchange);
    const auto& concs = f.state.concentrations().at("ABCD|01|123|44442");
    CHECK(concs.at(EQ).cusip_conc == d("0.401197605"));
    CHECK(concs.at(EQ).acct_category_conc == "DEFAULT");
    CHECK(concs.at(EQ2).mv_long == d("6000"));
    // A deposit brings equity to 5000: no exchange call (2505), house call 3606 > 5000? no: none.
    auto dep = fixture::rec("x3", "DEPO", "44442", "", "0", "5000");
    f.run_one(dep);
    CHECK(f.bal("44442").equity == d("5000"));
    CHECK(f.bal("44442").margin_call == model::margin_call_state::none);
    // cash available: buying power max(sma 5000, excess 5000 - 5010) = 5000; min(5000, 5000 - 3606) = 1394
    CHECK(f.bal("44442").cash_avail == d("1394"));
}

TEST_CASE("a price change re-values every position in the cusip") {
    fixture f;
    f.run_one(fixture::rec("r1", "BUY", "12342", EQ2, "100", "-1000"));
    f.run_one(fixture::rec("r2", "BUY", "22342", EQ2, "50", "-500"));
    f.ref.upsert(model::price{EQ2, d("12"), d("10"), f.now});
    partition_engine e(0, f.config, f.ref);
    auto ws = e.revalue(f.state, EQ2, f.now);
    f.state.apply(ws);
    CHECK(events_of<model::market_value_event>(ws).size() == 2);
    CHECK(f.pos("12342", EQ2).market_value == d("1200"));
    CHECK(f.pos("12342", EQ2).version == 2);
    CHECK(f.pos("22342", EQ2).market_value == d("600"));
    CHECK(f.bal("12342").mv_td_long == d("1200"));
    CHECK(events_of<model::margin_updated>(ws).size() == 2);
    // Re-valuing again at the same price changes nothing but republishes values.
    auto ws2 = e.revalue(f.state, EQ2, f.now);
    CHECK(events_of<model::position_updated>(ws2).empty());
    CHECK(events_of<model::margin_updated>(ws2).empty());
}

TEST_CASE("several cusips re-valued in one batch see each other's changes and keep the meta") {
    fixture f;
    f.run_one(fixture::rec("r1", "BUY", "12342", EQ, "10", "-100"));
    f.run_one(fixture::rec("r2", "BUY", "12342", EQ2, "100", "-1000"));
    f.run_one(fixture::rec("r3", "BUY", "22342", EQ2, "50", "-500"));
    model::partition_meta before;
    REQUIRE(f.state.load_meta(0, before));
    f.ref.upsert(model::price{EQ, d("20"), d("10"), f.now});
    f.ref.upsert(model::price{EQ2, d("12"), d("10"), f.now});
    partition_engine e(0, f.config, f.ref);
    const std::vector<std::string> cusips{EQ, EQ2};
    auto ws = e.revalue(f.state, cusips, f.now);
    CHECK(ws.counts.records_in == 0);
    CHECK(ws.meta.next_offset == before.next_offset);
    f.state.apply(ws);
    CHECK(events_of<model::market_value_event>(ws).size() == 3);
    CHECK(f.pos("12342", EQ).market_value == d("200"));
    CHECK(f.pos("12342", EQ2).market_value == d("1200"));
    CHECK(f.pos("22342", EQ2).market_value == d("600"));
    // Account 12342 holds both cusips: a balance event after each, the
    // second with both new values (as two records in one batch would).
    const auto balances = events_of<model::margin_updated>(ws);
    REQUIRE(balances.size() == 3);
    CHECK(balances[1].balance.mv_td_long == d("1400"));
    CHECK(f.bal("12342").mv_td_long == d("1400"));
}

TEST_CASE("the largest valid inputs value without overflow") {
    // price 1e8 x quantity 1e12 x factor 100 x contract size 1e4 = 1e26: the
    // caps in base/limits.h keep valuation inside a decimal, so its
    // overflow assertion cannot fire on input the codec accepts.
    engine_config config;
    model::product_definition p;
    p.prodline = "BIG";
    p.factor = decimal::from_units(limits::factor_units_max);
    model::security s;
    s.contract_size = decimal::from_units(limits::contract_size_units_max);
    model::price px{"X", decimal::from_units(limits::price_units_max), std::nullopt, {}};
    for (auto qty : {limits::position_quantity_units_max, -limits::position_quantity_units_max}) {
        auto v = value_position(config, decimal::from_units(qty), p, &s, &px, true);
        REQUIRE(v.has_value());
        CHECK(v->market_value.abs() ==
              decimal::from_raw(decimal::raw_type{100'000'000'000'000} * 1'000'000'000'000 * decimal::unit));
        CHECK(v->equity_req.is_positive());
    }
}

TEST_CASE("records at offsets already applied are skipped as duplicates") {
    fixture f;
    auto r = fixture::rec("o1", "BUY", "12342", EQ2, "1", "-10");
    f.run({f.input(r)});
    f.offset = 0; // a redelivery of offset 0 with a different id
    r.activity_id = "o2";
    auto ws = f.run({f.input(r)});
    CHECK(ws.counts.duplicates == 1);
    CHECK(f.pos("12342", EQ2).td_qty == d("1"));
}

TEST_CASE("applied ids are retained up to the configured bound") {
    memory_state s(3);
    write_set ws;
    ws.applied_ids = {"a", "b", "c", "d"};
    s.apply(ws);
    CHECK(s.applied_id_count(0) == 3);
    CHECK_FALSE(s.is_applied(0, "a"));
    CHECK(s.is_applied(0, "d"));
}

// ---- the cause of every event (README.md "Message formats") ----

TEST_CASE("each event says its cause: an activity, its settlement at END_OF_DAY, the END_OF_DAY, a re-valuation") {
    fixture f;
    auto r = fixture::rec("t1", "BUY", "12342", EQ, "100", "-5000");
    r.trade_date = date::parse("2026-11-20");
    r.settle_date = date::parse("2026-11-23"); // after the business date 2026-11-20: pending
    auto held = fixture::rec("h1", "BUY", "22342", EQ2, "10", "-100"); // settles at once
    auto applied = f.run({f.input(r), f.input(held)});

    // The trade's application: cause activity with its id and offset, on all three topics.
    auto pu = events_of<model::position_updated>(applied);
    REQUIRE(pu.size() == 2);
    CHECK(pu[0].cause.kind == model::cause_kind::activity);
    CHECK(pu[0].activity_ids == std::vector<std::string>{"t1"});
    CHECK(pu[0].offsets == std::vector<std::int64_t>{0});
    CHECK(pu[0].cause.settled_activity_ids.empty());
    CHECK_FALSE(pu[0].cause.business_date.has_value());
    auto mv = events_of<model::market_value_event>(applied);
    REQUIRE(mv.size() == 2);
    CHECK(mv[0].cause.kind == model::cause_kind::activity);
    CHECK(mv[0].activity_ids == std::vector<std::string>{"t1"});
    CHECK(mv[0].offsets == std::vector<std::int64_t>{0});
    auto mu = events_of<model::margin_updated>(applied);
    REQUIRE(mu.size() == 2);
    CHECK(mu[0].cause.kind == model::cause_kind::activity);
    CHECK(mu[0].activity_ids == std::vector<std::string>{"t1"});
    CHECK(mu[0].offsets == std::vector<std::int64_t>{0});
    CHECK(mu[1].activity_ids == std::vector<std::string>{"h1"});
    CHECK(mu[1].offsets == std::vector<std::int64_t>{1});

    // A price move, so that END_OF_DAY re-values the position that does not settle.
    f.ref.upsert(model::price{EQ2, d("11"), d("10"), f.now});

    // END_OF_DAY 2026-11-20 (offset 2) releases t1's settlement (due 2026-11-23, the next weekday).
    auto eod = f.eod("2026-11-20");
    std::vector<std::string> counted; // what a consumer counting applications counts
    std::size_t settlements = 0, end_of_days = 0;
    for (const auto& e : events_of<model::position_updated>(eod)) {
        counted.insert(counted.end(), e.activity_ids.begin(), e.activity_ids.end());
        CHECK(e.offsets.empty());
        CHECK(e.cause.business_date == date::parse("2026-11-20"));
        CHECK(e.cause.end_of_day_offset == 2);
        if (e.position.cusip == EQ) {
            ++settlements;
            CHECK(e.cause.kind == model::cause_kind::settlement);
            CHECK(e.cause.settled_activity_ids == std::vector<std::string>{"t1"});
            CHECK(e.position.sd_qty == d("100"));
        } else {
            ++end_of_days;
            CHECK(e.cause.kind == model::cause_kind::end_of_day);
            CHECK(e.cause.settled_activity_ids.empty());
            CHECK(e.position.market_value == d("110"));
        }
    }
    CHECK(settlements == 1);
    CHECK(end_of_days == 1);
    CHECK(counted.empty()); // t1 was applied once, by the first batch
    for (const auto& e : events_of<model::market_value_event>(eod)) {
        CHECK(e.activity_ids.empty());
        CHECK(e.cause.business_date == date::parse("2026-11-20"));
        CHECK(e.cause.kind ==
              (e.product_id == EQ ? model::cause_kind::settlement : model::cause_kind::end_of_day));
    }
    auto eod_margins = events_of<model::margin_updated>(eod);
    REQUIRE(eod_margins.size() == 2);
    for (const auto& e : eod_margins) {
        CHECK(e.activity_ids.empty());
        CHECK(e.cause.business_date == date::parse("2026-11-20"));
        CHECK(e.cause.end_of_day_offset == 2);
        if (e.balance.base == "12342") {
            CHECK(e.cause.kind == model::cause_kind::settlement);
            CHECK(e.cause.settled_activity_ids == std::vector<std::string>{"t1"});
            CHECK(e.balance.sd_bal == d("-5000"));
        } else {
            CHECK(e.cause.kind == model::cause_kind::end_of_day);
            CHECK(e.cause.settled_activity_ids.empty());
        }
    }

    // A price change re-valued outside END_OF_DAY: cause revaluation, the cusip and the price's as-of.
    const timestamp as_of{f.now.ms - 60'000};
    f.ref.upsert(model::price{EQ, d("51"), d("50.25"), as_of});
    partition_engine engine(0, f.config, f.ref);
    auto re = engine.revalue(f.state, EQ, f.now);
    f.state.apply(re);
    auto re_pu = events_of<model::position_updated>(re);
    REQUIRE(re_pu.size() == 1);
    auto re_mv = events_of<model::market_value_event>(re);
    REQUIRE(re_mv.size() == 1);
    auto re_mu = events_of<model::margin_updated>(re);
    REQUIRE(re_mu.size() == 1);
    for (const model::event_cause* c : {&re_pu[0].cause, &re_mv[0].cause, &re_mu[0].cause}) {
        CHECK(c->kind == model::cause_kind::revaluation);
        CHECK(c->revalued_cusip == EQ);
        CHECK(c->price_as_of == as_of);
        CHECK_FALSE(c->business_date.has_value());
        CHECK(c->settled_activity_ids.empty());
    }
    CHECK(re_pu[0].activity_ids.empty());
    CHECK(re_mv[0].activity_ids.empty());
    CHECK(re_mu[0].activity_ids.empty());
}

TEST_CASE("a security change without a price re-values with no price as-of") {
    fixture f;
    f.run_one(fixture::rec("n1", "BUY", "55552", NOPX, "3", "-21"));
    model::security s;
    s.cusip = NOPX;
    s.product_line = "EQD";
    s.contract_size = d("10");
    f.ref.upsert(s);
    partition_engine e(0, f.config, f.ref);
    auto ws = e.revalue(f.state, NOPX, f.now);
    auto mv = events_of<model::market_value_event>(ws);
    REQUIRE(mv.size() == 1);
    CHECK(mv[0].cause.kind == model::cause_kind::revaluation);
    CHECK(mv[0].cause.revalued_cusip == NOPX);
    CHECK_FALSE(mv[0].cause.price_as_of.has_value());
}

TEST_CASE("amounts of different currencies are never added together") {
    // The example: USD 100000 + JPY 1000000 + XYZ 5 once became
    // tdBal 1100005. Base currency USD (the default); JPY/USD 0.0067.
    fixture f;
    f.ref.upsert(model::fx_rate{"JPY", "USD", d("0.0067"), f.now});
    auto deposit = [](std::string id, const char* amount, std::string currency) {
        auto r = fixture::rec(std::move(id), "DEPO", "12342", "", "0", amount);
        r.currency = std::move(currency);
        return r;
    };
    auto ws = f.run({f.input(deposit("c1", "100000", "USD")), f.input(deposit("c2", "1000000", "JPY")),
                     f.input(deposit("c3", "5", "XYZ"))});
    CHECK(ws.counts.applied == 2);
    CHECK(ws.counts.rejected == 1);
    auto dl = events_of<model::dead_letter>(ws);
    REQUIRE(dl.size() == 1);
    CHECK(dl[0].reject.reason == reason::no_fx_rate);
    CHECK(dl[0].reject.field == "currency");
    CHECK(dl[0].reject.message == "no FX rate from XYZ into the base currency USD (fx-rates key XYZ/USD)");

    const auto& b = f.bal("12342");
    CHECK(b.base_currency == "USD");
    CHECK(b.td_bal == d("100000")); // the base currency's cash only
    CHECK(b.sd_bal == d("100000"));
    REQUIRE(b.cash.size() == 1);    // XYZ was rejected: no entry
    CHECK(b.cash[0].currency == "JPY");
    CHECK(b.cash[0].td_bal == d("1000000"));
    CHECK(b.cash[0].sd_bal == d("1000000"));
    CHECK(b.cash[0].rate == d("0.0067"));
    // 1000000 JPY x 0.0067 = 6700 USD.
    CHECK(b.cash[0].td_bal_base == d("6700"));
    CHECK(b.td_bal_total == d("106700"));
    CHECK(b.sd_bal_total == d("106700"));
    // Equity = 100000 + 1000000 x 0.0067 + mvTdLong 0 - mvTdShort 0.
    CHECK(b.equity == d("106700"));
    // SMA is a base-currency ledger: 100000 + 6700.
    CHECK(b.sma == d("106700"));
    // Margin account, no positions: min(max(sma, excess), equity - reqtHouse) = 106700.
    CHECK(b.cash_avail == d("106700"));
    // acctActivityAmt of the cash position, in the base currency too.
    CHECK(f.pos("12342", "").metadata.acct_activity_amt == d("106700"));

    SECTION("the rejected currency applies once its rate arrives") {
        f.ref.upsert(model::fx_rate{"XYZ", "USD", d("2.5"), f.now});
        auto ws2 = f.run_one(deposit("c3", "5", "XYZ")); // the same record, replayed from the dead letter
        CHECK(ws2.counts.applied == 1);
        const auto& b2 = f.bal("12342");
        CHECK(b2.td_bal == d("100000"));
        REQUIRE(b2.cash.size() == 2);
        CHECK(b2.cash[0].currency == "JPY");
        CHECK(b2.cash[1].currency == "XYZ");
        CHECK(b2.cash[1].td_bal == d("5"));
        CHECK(b2.cash[1].td_bal_base == d("12.5"));
        CHECK(b2.equity == d("106712.5")); // 100000 + 6700 + 12.5
        auto mu = events_of<model::margin_updated>(ws2);
        REQUIRE(mu.size() == 1);
        CHECK(mu[0].balance.cash == b2.cash);
    }

    SECTION("a rate change re-values the cash at the account's next evaluation; a deleted rate keeps the last") {
        f.ref.upsert(model::fx_rate{"JPY", "USD", d("0.00666666"), f.now});
        f.eod("2026-11-20");
        const auto& b2 = f.bal("12342");
        // 1000000 x 0.00666666 = 6666.66.
        CHECK(b2.cash[0].rate == d("0.00666666"));
        CHECK(b2.cash[0].td_bal_base == d("6666.66"));
        CHECK(b2.equity == d("106666.66"));
        f.ref.erase_fx_rate("JPY", "USD");
        f.eod("2026-11-23");
        CHECK(f.bal("12342").equity == d("106666.66"));
        // ... but a new JPY record is rejected until a rate comes back.
        auto ws3 = f.run_one(deposit("c4", "1", "JPY"));
        CHECK(only_reject(ws3) == reason::no_fx_rate);
    }

    SECTION("conversion rounds to cents, half away from zero") {
        f.ref.upsert(model::fx_rate{"JPY", "USD", d("0.006705"), f.now});
        f.run_one(deposit("c5", "-1", "JPY")); // 999999 JPY x 0.006705 = 6704.993295 -> 6704.99
        CHECK(f.bal("12342").cash[0].td_bal_base == d("6704.99"));
        f.run_one(deposit("c6", "-899999", "JPY")); // 100000 x 0.006705 = 670.5
        CHECK(f.bal("12342").cash[0].td_bal_base == d("670.5"));
        f.run_one(deposit("c7", "-100001", "JPY")); // -1 x 0.006705 = -0.006705 -> -0.01
        CHECK(f.bal("12342").cash[0].td_bal_base == d("-0.01"));
    }
}

TEST_CASE("a record without a currency is in the account's base currency, which is configurable") {
    fixture f;
    f.config.base_currency = "EUR";
    f.ref.upsert(model::fx_rate{"USD", "EUR", d("0.9"), f.now});
    auto none = fixture::rec("c1", "DEPO", "12341", "", "0", "100");
    auto usd = fixture::rec("c2", "DEPO", "12341", "", "0", "100");
    usd.currency = "USD";
    auto eur = fixture::rec("c3", "DEPO", "12341", "", "0", "1");
    eur.currency = "EUR";
    f.run({f.input(none), f.input(usd), f.input(eur)});
    const auto& b = f.bal("12341");
    CHECK(b.base_currency == "EUR");
    CHECK(b.td_bal == d("101"));
    REQUIRE(b.cash.size() == 1);
    CHECK(b.cash[0].currency == "USD");
    CHECK(b.cash[0].td_bal == d("100"));
    // Cash account: cashAvail = min(tdBalTotal, sdBalTotal) = 101 + 90.
    CHECK(b.cash_avail == d("191"));
    CHECK(b.equity == d("191"));
}

TEST_CASE("a foreign-currency purchase: cash in the currency, cost basis in the base currency, pending per currency") {
    fixture f;
    f.ref.upsert(model::fx_rate{"EUR", "USD", d("1.1"), f.now});
    auto buy = fixture::rec("b1", "BUY", "12342", EQ, "100", "-4000");
    buy.currency = "EUR";
    buy.settle_date = date::parse("2026-11-24"); // pending
    f.run_one(buy);
    const auto& p = f.pos("12342", EQ);
    CHECK(p.cost_basis == d("4400")); // 4000 EUR x 1.1
    CHECK(p.market_value == d("5025"));
    CHECK(p.loss == d("0"));
    const auto& b = f.bal("12342");
    CHECK(b.td_bal == d("0"));
    REQUIRE(b.cash.size() == 1);
    CHECK(b.cash[0].td_bal == d("-4000"));
    CHECK(b.cash[0].sd_bal == d("0"));
    // Equity = 0 + (-4000 x 1.1) + 5025 = 625.
    CHECK(b.equity == d("625"));
    f.eod("2026-11-23"); // business date 2026-11-24: the EUR settlement is due
    CHECK(f.bal("12342").cash[0].sd_bal == d("-4000"));
    CHECK(f.bal("12342").sd_bal == d("0"));
}

TEST_CASE("END_OF_DAY far ahead of the business date, or past the last storable date, is DATE_OUT_OF_RANGE") {
    fixture f; // business date 2026-11-20, a Friday
    auto rejected_eod = [&](const char* business_date) {
        INFO("END_OF_DAY " << business_date);
        auto ws = f.eod(business_date);
        CHECK(ws.counts.rejected == 1);
        CHECK(ws.counts.applied == 0);
        CHECK(ws.counts.controls == 0);
        auto dl = events_of<model::dead_letter>(ws);
        REQUIRE(dl.size() == 1);
        CHECK(dl[0].reject.reason == model::reason::date_out_of_range);
        CHECK(dl[0].reject.field == "businessDate");
        CHECK(ws.events.size() == 1); // no settlement, no snapshot
        return ws;
    };
    SECTION("2999-12-31: the business date would become 3000-01-01") {
        auto ws = rejected_eod("2999-12-31");
        CHECK(ws.meta.business_date == date::parse("2026-11-20"));
        CHECK(ws.meta.next_offset == 1); // consumed: the partition goes on
        CHECK(f.eod("2026-11-20").meta.business_date == date::parse("2026-11-23"));
    }
    SECTION("the bound is engine_config::end_of_day_max_days_ahead days, 31 by default") {
        CHECK(engine_config{}.end_of_day_max_days_ahead == 31);
        rejected_eod("2026-12-22"); // 32 days ahead
        auto ws = f.eod("2026-12-21"); // 31 days ahead: a back office closing a month late
        CHECK(ws.counts.applied == 1);
        CHECK(ws.meta.business_date == date::parse("2026-12-22"));
    }
    SECTION("a smaller bound") {
        f.config.end_of_day_max_days_ahead = 3;
        rejected_eod("2026-11-24");
        CHECK(f.eod("2026-11-23").meta.business_date == date::parse("2026-11-24"));
    }
    SECTION("the last weekday of the range cannot be closed: its next weekday is not storable") {
        f.config.initial_business_date = date::parse("2999-12-30");
        f.config.end_of_day_max_days_ahead = 365;
        auto ws = rejected_eod("2999-12-31");
        CHECK(ws.meta.business_date == date::parse("2999-12-30"));
        CHECK(f.eod("2999-12-30").meta.business_date == date::parse("2999-12-31"));
        rejected_eod("2999-12-31");
    }
    SECTION("a replayed END_OF_DAY is still a duplicate, however old") {
        auto ws = f.eod("1900-01-01");
        CHECK(ws.counts.duplicates == 1);
    }
}

TEST_CASE("state holding a business date past the range (written before the rule) goes on without it moving") {
    fixture f;
    write_set legacy;
    legacy.partition = 0;
    legacy.meta.partition = 0;
    legacy.meta.business_date = date::max_value().next_weekday(); // 3000-01-01
    f.state.apply(legacy);
    auto ws = f.run_one(fixture::rec("a1", "DEPO", "12341", "", "0", "100"));
    CHECK(ws.counts.applied == 1);
    auto eod = f.eod("2026-11-20");
    CHECK(eod.counts.duplicates == 1); // a replay of an earlier date
    CHECK(eod.meta.business_date == date::max_value().next_weekday());
}
