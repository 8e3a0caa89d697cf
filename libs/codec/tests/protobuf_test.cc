#include "codec/protobuf.h"

#include "base/limits.h"
#include "codec/json_decode.h"

#include "posd.pb.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

using namespace posd;
using codec::decode_activity_protobuf;
using codec::decode_state;
using codec::encode_state;

namespace {

decimal dec(const char* text) {
    auto v = decimal::parse(text);
    REQUIRE(v.has_value());
    return *v;
}

date day(const char* text) {
    auto v = date::parse(text);
    REQUIRE(v.has_value());
    return *v;
}

timestamp ts(const char* text) {
    auto v = timestamp::parse(text);
    REQUIRE(v.has_value());
    return *v;
}

// The largest and smallest decimals: far beyond the 18 integer digits an
// input may carry, which derived state may still reach.
const decimal decimal_max = decimal::from_raw(static_cast<int128_t>(~uint128_t{0} >> 1));
const decimal decimal_min = decimal::from_raw(-decimal_max.raw() - 1);

template <typename T>
T round_trip(const T& value) {
    std::string bytes = encode_state(value);
    T back;
    REQUIRE(decode_state(bytes, back));
    // The out-parameter overload writes the same bytes.
    std::string again = "stale content";
    encode_state(value, again);
    CHECK(again == bytes);
    return back;
}

model::activity_record full_activity() {
    model::activity_record r;
    r.activity_id = "act-0001";
    r.event_time = ts("2024-03-15T14:30:00.123Z");
    r.maxx_key_code = "BUY";
    r.firm = "ABCD";
    r.ledger = "01";
    r.branch = "123";
    r.base = "45678";
    r.sub_acct_key = "1";
    r.acct_category = "RETL";
    r.rr = "R07";
    r.us_citizenship = "Y";
    r.ny_resident = "N";
    r.paper = "MOS";
    r.intracct_eligible_type = "J";
    r.intracct_min_amt = dec("250.5");
    r.account_closed_date = day("2030-12-31");
    r.cusip = "037833100";
    r.product_line = "EQ";
    r.quantity = dec("-12.123456789");
    r.amount = dec("2187.000000001");
    r.price = dec("180.4");
    r.currency = "EUR";
    r.trade_date = day("2024-03-15");
    r.settle_date = day("2024-03-19");
    r.bond_redeem_sw = true;
    r.acct_transferred_sw = false;
    r.reverse_split_sw = true;
    return r;
}

void check_same(const model::activity_record& a, const model::activity_record& b) {
    CHECK(a.activity_id == b.activity_id);
    CHECK(a.event_time == b.event_time);
    CHECK(a.maxx_key_code == b.maxx_key_code);
    CHECK(a.firm == b.firm);
    CHECK(a.ledger == b.ledger);
    CHECK(a.branch == b.branch);
    CHECK(a.base == b.base);
    CHECK(a.sub_acct_key == b.sub_acct_key);
    CHECK(a.acct_category == b.acct_category);
    CHECK(a.rr == b.rr);
    CHECK(a.us_citizenship == b.us_citizenship);
    CHECK(a.ny_resident == b.ny_resident);
    CHECK(a.paper == b.paper);
    CHECK(a.intracct_eligible_type == b.intracct_eligible_type);
    CHECK(a.intracct_min_amt == b.intracct_min_amt);
    CHECK(a.account_closed_date == b.account_closed_date);
    CHECK(a.cusip == b.cusip);
    CHECK(a.product_line == b.product_line);
    CHECK(a.quantity == b.quantity);
    CHECK(a.amount == b.amount);
    CHECK(a.price == b.price);
    CHECK(a.currency == b.currency);
    CHECK(a.trade_date == b.trade_date);
    CHECK(a.settle_date == b.settle_date);
    CHECK(a.bond_redeem_sw == b.bond_redeem_sw);
    CHECK(a.acct_transferred_sw == b.acct_transferred_sw);
    CHECK(a.reverse_split_sw == b.reverse_split_sw);
}

model::reject expect_reject(const model::decoded_record& decoded) {
    REQUIRE(std::holds_alternative<model::reject>(decoded));
    return std::get<model::reject>(decoded);
}

std::string serialized(const v1::InputRecord& message) {
    std::string out;
    REQUIRE(message.SerializeToString(&out));
    return out;
}

std::set<std::string> json_names(const google::protobuf::Descriptor* d) {
    std::set<std::string> names;
    for (int i = 0; i < d->field_count(); ++i) names.insert(d->field(i)->json_name());
    return names;
}

} // namespace

// --- schema -------------------------------------------------------------------------

TEST_CASE("protobuf JSON names are the SPEC's camelCase wire names") {
    CHECK(json_names(v1::ActivityRecord::descriptor()) ==
          std::set<std::string>{"activityId", "eventTime", "maxxKeyCode", "firm", "ledger", "branch",
                                "base", "subAcctKey", "acctCategory", "rr", "usCitizenship",
                                "nyResident", "paper", "intracctEligibleType", "intracctMinAmt",
                                "accountClosedDate", "cusip", "productLine", "quantity", "amount",
                                "price", "currency", "tradeDate", "settleDate", "bondRedeemSw",
                                "acctTransferredSw", "reverseSplitSw"});
    CHECK(json_names(v1::ControlRecord::descriptor()) ==
          std::set<std::string>{"type", "action", "businessDate"});
    CHECK(json_names(v1::BookkeepingRule::descriptor()) ==
          std::set<std::string>{"maxxKeyCode", "shortDesc", "longDesc", "updTdBalSw", "updSdBalSw",
                                "adjSmaSw", "updTdQtySw", "updSdQtySw"});
    CHECK(json_names(v1::ProductDefinition::descriptor()) ==
          std::set<std::string>{"prodline", "descShort", "factor", "defaultPriceForMgn",
                                "fractionsAllowedSw", "marginableFlag", "contributesToEquitySw",
                                "extRuleFlag"});
    CHECK(json_names(v1::MarginRule::descriptor()) ==
          std::set<std::string>{"nyrsMgnRule", "nyrsMgnSeq", "nyrsLevel", "nyrsAction"});
    const auto position = json_names(v1::Position::descriptor());
    for (const char* name : {"firmPostrmt", "ledgerPostrmt", "branchPostrmt", "basePostrmt",
                             "acctTypePostrmt", "tdQty", "sdQty", "tdQtyShortSide", "houseReq",
                             "equityReq", "loss", "shortExpDate", "pairoffAcctType", "pairoffCusip",
                             "pairoffTdQty", "costBasis", "version", "metadata"}) {
        CHECK(position.count(name) == 1);
    }
    CHECK(json_names(v1::PositionMetadata::descriptor()) ==
          std::set<std::string>{"bondRedeemSw", "acctTransferredSw", "reverseSplitSw",
                                "acctActivityQty", "acctActivityAmt"});
    const auto managed = json_names(v1::ManagedPosition::descriptor());
    for (const char* name : {"firmProdpc", "ledgerProdpc", "branchProdpc", "baseProdpc",
                             "subAcctProdpc", "uls", "cusip", "productLine", "price", "prevPrice",
                             "strikePrice", "contractSize", "expOrMaturityDate", "securityFoundSw",
                             "ulsFoundSw"}) {
        CHECK(managed.count(name) == 1);
    }
    const auto balance = json_names(v1::MarginBalance::descriptor());
    for (const char* name : {"tdBal", "sdBal", "sma", "mvTdLong", "mvTdShort", "cashAvail",
                             "loanValue", "reqtHouse", "reqtExch", "equity", "marginCall",
                             "marginCallAmount"}) {
        CHECK(balance.count(name) == 1);
    }
    const auto concentration = json_names(v1::PortfolioConcentration::descriptor());
    for (const char* name : {"tdQtyConc", "marketVal", "cusipConc", "acctCategoryConc"}) {
        CHECK(concentration.count(name) == 1);
    }
    const auto updated = json_names(v1::PositionUpdated::descriptor());
    CHECK(updated.count("activityIds") == 1);
    const auto market = json_names(v1::MarketValue::descriptor());
    for (const char* name : {"productId", "quantity", "price", "rule", "marketValue", "timestamp"}) {
        CHECK(market.count(name) == 1);
    }
}

// --- input records -------------------------------------------------------------------

TEST_CASE("protobuf activity record round-trips through decode_activity_protobuf") {
    const model::activity_record original = full_activity();
    auto decoded = decode_activity_protobuf(codec::encode_activity_protobuf(original));
    REQUIRE(std::holds_alternative<model::activity_record>(decoded));
    check_same(std::get<model::activity_record>(decoded), original);

    SECTION("minimal cash record: optionals stay absent") {
        model::activity_record cash;
        cash.activity_id = "cash-1";
        cash.maxx_key_code = "DEP";
        cash.firm = "WXYZ";
        cash.ledger = "02";
        cash.branch = "9";
        cash.base = "000001";
        cash.amount = dec("-0.000000001");
        auto back = decode_activity_protobuf(codec::encode_activity_protobuf(cash));
        REQUIRE(std::holds_alternative<model::activity_record>(back));
        const auto& r = std::get<model::activity_record>(back);
        check_same(r, cash);
        CHECK_FALSE(r.event_time.has_value());
        CHECK_FALSE(r.price.has_value());
        CHECK_FALSE(r.trade_date.has_value());
        CHECK(r.cusip.empty());
    }
}

TEST_CASE("protobuf control record round-trips through decode_activity_protobuf") {
    const model::control_record original{model::control_action::end_of_day, day("2024-03-15")};
    auto decoded = decode_activity_protobuf(codec::encode_control_protobuf(original));
    REQUIRE(std::holds_alternative<model::control_record>(decoded));
    CHECK(std::get<model::control_record>(decoded).action == model::control_action::end_of_day);
    CHECK(std::get<model::control_record>(decoded).business_date == original.business_date);

    SECTION("the oneof alone makes it a control record") {
        v1::InputRecord message;
        message.mutable_control()->set_action("END_OF_DAY");
        message.mutable_control()->set_business_date("2024-12-31");
        auto d = decode_activity_protobuf(serialized(message));
        REQUIRE(std::holds_alternative<model::control_record>(d));
        CHECK(std::get<model::control_record>(d).business_date == day("2024-12-31"));
    }
    SECTION("an unknown action is rejected like JSON") {
        v1::InputRecord message;
        message.mutable_control()->set_action("START_OF_DAY");
        message.mutable_control()->set_business_date("2024-12-31");
        auto r = expect_reject(decode_activity_protobuf(serialized(message)));
        CHECK(r.reason == model::reason::unknown_record_type);
        CHECK(r.field == "action");
    }
}

TEST_CASE("protobuf and JSON records decode to the same activity record") {
    const std::string json = R"({"activityId":"act-0001","eventTime":"2024-03-15T14:30:00.123Z",)"
                             R"("maxxKeyCode":"BUY","firm":"ABCD","ledger":"01","branch":"123",)"
                             R"("base":"45678","subAcctKey":"1","acctCategory":"RETL","rr":"R07",)"
                             R"("usCitizenship":"Y","nyResident":"N","paper":"MOS",)"
                             R"("intracctEligibleType":"J","intracctMinAmt":"250.50",)"
                             R"("accountClosedDate":"2030-12-31","cusip":"037833100",)"
                             R"("productLine":"EQ","quantity":-12.123456789,)"
                             R"("amount":"2187.000000001","price":180.4,"currency":"EUR",)"
                             R"("tradeDate":"2024-03-15","settleDate":"2024-03-19",)"
                             R"("bondRedeemSw":true,"acctTransferredSw":false,"reverseSplitSw":true})";
    v1::InputRecord message;
    v1::ActivityRecord& a = *message.mutable_activity();
    a.set_activity_id("act-0001");
    a.set_event_time("2024-03-15T14:30:00.123Z");
    a.set_maxx_key_code("BUY");
    a.set_firm("ABCD");
    a.set_ledger("01");
    a.set_branch("123");
    a.set_base("45678");
    a.set_sub_acct_key("1");
    a.set_acct_category("RETL");
    a.set_rr("R07");
    a.set_us_citizenship("Y");
    a.set_ny_resident("N");
    a.set_paper("MOS");
    a.set_intracct_eligible_type("J");
    a.set_intracct_min_amt("250.50");
    a.set_account_closed_date("2030-12-31");
    a.set_cusip("037833100");
    a.set_product_line("EQ");
    a.set_quantity("-12.123456789");
    a.set_amount("2187.000000001");
    a.set_price("180.4");
    a.set_currency("EUR");
    a.set_trade_date("2024-03-15");
    a.set_settle_date("2024-03-19");
    a.set_bond_redeem_sw(true);
    a.set_acct_transferred_sw(false);
    a.set_reverse_split_sw(true);

    codec::json_decoder json_decoder;
    auto from_json = json_decoder.decode_activity(json);
    auto from_protobuf = decode_activity_protobuf(serialized(message));
    REQUIRE(std::holds_alternative<model::activity_record>(from_json));
    REQUIRE(std::holds_alternative<model::activity_record>(from_protobuf));
    check_same(std::get<model::activity_record>(from_protobuf), std::get<model::activity_record>(from_json));
    check_same(std::get<model::activity_record>(from_protobuf), full_activity());

    SECTION("and reject the same record with the same reason and field") {
        a.set_cusip("037833101");
        std::string bad_json = json;
        bad_json.replace(bad_json.find("037833100"), 9, "037833101");
        auto j = expect_reject(json_decoder.decode_activity(bad_json));
        auto p = expect_reject(decode_activity_protobuf(serialized(message)));
        CHECK(p.reason == j.reason);
        CHECK(p.field == j.field);
    }
}

TEST_CASE("protobuf input rejects") {
    SECTION("garbage bytes are MALFORMED") {
        // A field tag announcing a length far beyond the bytes that follow.
        auto r = expect_reject(decode_activity_protobuf(std::string("\x0a\xff\x01garbage", 10)));
        CHECK(r.reason == model::reason::malformed);
        auto r2 = expect_reject(decode_activity_protobuf("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"));
        CHECK(r2.reason == model::reason::malformed);
    }
    SECTION("an empty InputRecord is MALFORMED") {
        CHECK(expect_reject(decode_activity_protobuf("")).reason == model::reason::malformed);
        v1::InputRecord only_unknown;
        only_unknown.GetReflection()->MutableUnknownFields(&only_unknown)->AddVarint(99, 1);
        CHECK(expect_reject(decode_activity_protobuf(serialized(only_unknown))).reason ==
              model::reason::malformed);
    }
    SECTION("a bad cusip check digit is BAD_CUSIP_CHECK_DIGIT") {
        model::activity_record r = full_activity();
        r.cusip = "037833101";
        auto rej = expect_reject(decode_activity_protobuf(codec::encode_activity_protobuf(r)));
        CHECK(rej.reason == model::reason::bad_cusip_check_digit);
        CHECK(rej.field == "cusip");
    }
    SECTION("a missing required field is MISSING_FIELD; empty counts as missing") {
        model::activity_record r = full_activity();
        r.maxx_key_code.clear();
        auto rej = expect_reject(decode_activity_protobuf(codec::encode_activity_protobuf(r)));
        CHECK(rej.reason == model::reason::missing_field);
        CHECK(rej.field == "maxxKeyCode");
    }
    SECTION("invalid UTF-8 in a string field is INVALID_ENCODING with its field") {
        // InputRecord{activity: ActivityRecord{firm (field 4): "\xff\xfe"}}, built
        // by hand because protobuf will not serialize invalid UTF-8 cleanly.
        const std::string bytes("\x0a\x04\x22\x02\xff\xfe", 6);
        auto rej = expect_reject(decode_activity_protobuf(bytes));
        CHECK(rej.reason == model::reason::invalid_encoding);
        CHECK(rej.field == "firm");
        // An overlong encoding of '/' in a control record's businessDate.
        const std::string control("\x12\x04\x1a\x02\xc0\xaf", 6);
        auto rej2 = expect_reject(decode_activity_protobuf(control));
        CHECK(rej2.reason == model::reason::invalid_encoding);
        CHECK(rej2.field == "businessDate");
    }
    SECTION("a record beyond limits::record_bytes_max is RECORD_TOO_LARGE") {
        v1::InputRecord message;
        message.mutable_activity()->set_paper(std::string(limits::record_bytes_max, 'x'));
        auto rej = expect_reject(decode_activity_protobuf(serialized(message)));
        CHECK(rej.reason == model::reason::record_too_large);
    }
}

// --- state ----------------------------------------------------------------------------

TEST_CASE("position state round-trips exactly") {
    model::position p;
    p.firm_postrmt = "ABCD";
    p.ledger_postrmt = "01";
    p.branch_postrmt = "123";
    p.base_postrmt = "45678";
    p.acct_type_postrmt = "2";
    p.sub_acct_key = "1";
    p.cusip = "037833100";
    p.td_qty = dec("-150.123456789");
    p.sd_qty = dec("-100");
    p.td_qty_short_side = dec("150.123456789");
    p.house_req = dec("9876.54321");
    p.equity_req = dec("4500.000000001");
    p.loss = dec("0.5");
    p.short_exp_date = day("2024-06-21");
    p.pairoff_acct_type = "1";
    p.pairoff_cusip = "594918104";
    p.pairoff_td_qty = dec("-3");
    p.cost_basis = dec("-27082.2222");
    p.market_value = decimal_min;
    p.loan_value = decimal_max;
    p.contributes_to_equity = true;
    p.version = 18'446'744'073'709'551'615ULL;
    p.metadata.bond_redeem_sw = true;
    p.metadata.reverse_split_sw = true;
    p.metadata.acct_activity_qty = dec("-150.123456789");
    p.metadata.acct_activity_amt = dec("27082.2222");
    CHECK(round_trip(p) == p);

    SECTION("defaults and an absent optional date") {
        model::position cash;
        cash.firm_postrmt = "ABCD";
        const model::position back = round_trip(cash);
        CHECK(back == cash);
        CHECK_FALSE(back.short_exp_date.has_value());
    }
    SECTION("decode overwrites every field of the target") {
        model::position target = p;
        model::position empty;
        REQUIRE(decode_state(encode_state(empty), target));
        CHECK(target == empty);
    }
}

TEST_CASE("managed position state round-trips exactly") {
    model::managed_position m;
    m.firm_prodpc = "ABCD";
    m.ledger_prodpc = "01";
    m.branch_prodpc = "123";
    m.base_prodpc = "45678";
    m.sub_acct_prodpc = "1";
    m.uls = "037833100";
    m.cusip = "037833100";
    m.product_line = "OPT";
    m.price = dec("3.141592653");
    m.prev_price = dec("0");
    m.strike_price = dec("195");
    m.contract_size = dec("100");
    m.exp_or_maturity_date = day("2025-01-17");
    m.security_found_sw = true;
    m.uls_found_sw = false;
    CHECK(round_trip(m) == m);

    SECTION("absent optionals stay absent, a present zero stays present") {
        model::managed_position bare;
        bare.cusip = "037833100";
        bare.prev_price = dec("0");
        const auto back = round_trip(bare);
        CHECK(back == bare);
        CHECK_FALSE(back.price.has_value());
        REQUIRE(back.prev_price.has_value());
        CHECK(back.prev_price->is_zero());
        CHECK_FALSE(back.exp_or_maturity_date.has_value());
    }
}

TEST_CASE("margin balance state round-trips exactly") {
    model::margin_balance b;
    b.firm = "ABCD";
    b.ledger = "01";
    b.branch = "123";
    b.base = "45678";
    b.acct_type = "2";
    b.acct_category = "RETL";
    b.td_bal = dec("-1234567890123.987654321");
    b.sd_bal = dec("-0.000000001");
    b.sma = dec("500");
    // 21 integer digits: more than an input may carry (decimal::parse refuses it).
    b.mv_td_long = decimal::from_raw(dec("123456789012345678.901").raw() * 1000);
    b.mv_td_short = dec("42.42");
    b.cash_avail = dec("-7");
    b.loan_value = decimal::from_raw(-dec("61728394506172839.4505").raw() * 1000);
    b.reqt_house = dec("30000");
    b.reqt_exch = dec("25000");
    b.equity = dec("-99.999999999");
    b.margin_call_amount = dec("30099.999999999");
    b.version = 42;
    b.base_currency = "USD";
    b.cash.push_back({"EUR", dec("-10.5"), dec("0"), dec("1.1"), dec("-11.55"), dec("0")});
    b.cash.push_back({"JPY", dec("1000000"), dec("-0.000000001"), dec("0.0067"), dec("6700"), dec("0")});
    b.td_bal_total = dec("-1234567883412.537654321");
    b.sd_bal_total = dec("-0.000000001");
    for (auto state : {model::margin_call_state::none, model::margin_call_state::house,
                       model::margin_call_state::exchange}) {
        b.margin_call = state;
        CHECK(round_trip(b) == b);
    }

    SECTION("an unknown margin call state does not decode") {
        v1::MarginBalance m;
        m.set_margin_call(static_cast<v1::MarginBalance::MarginCallState>(7));
        std::string bytes;
        REQUIRE(m.SerializeToString(&bytes));
        model::margin_balance out = b;
        CHECK_FALSE(decode_state(bytes, out));
        CHECK(out == b); // untouched
    }

    SECTION("a balance written before currencies were kept apart reads as base-currency cash only") {
        v1::MarginBalance m;
        m.set_td_bal("100");
        m.set_sd_bal("-5");
        std::string bytes;
        REQUIRE(m.SerializeToString(&bytes));
        model::margin_balance out;
        REQUIRE(decode_state(bytes, out));
        CHECK(out.base_currency.empty()); // the engine takes the configured one
        CHECK(out.cash.empty());
        CHECK(out.td_bal_total == dec("100"));
        CHECK(out.sd_bal_total == dec("-5"));
    }
}

TEST_CASE("portfolio concentration state round-trips exactly") {
    model::portfolio_concentration c;
    c.account = "ABCD|01|123|45678";
    c.cusip = "037833100";
    c.td_qty_conc = dec("-250.000000005");
    c.market_val = dec("-45100");
    c.cusip_conc = dec("0.333333333");
    c.acct_category_conc = "RETL";
    c.mv_long = dec("12");
    c.mv_short = dec("45112");
    c.exch_req = dec("13533.6");
    c.loan_value = dec("-0.1");
    c.house_req = dec("13533.61");
    CHECK(round_trip(c) == c);
    CHECK(round_trip(model::portfolio_concentration{}) == model::portfolio_concentration{});
}

TEST_CASE("pending settlement state round-trips exactly") {
    model::pending_settlement s;
    s.settle_date = day("2024-03-19");
    s.sequence = 9'000'000'000ULL;
    s.position_key = "ABCD|01|123|45678||037833100";
    s.sd_qty = dec("-12.123456789");
    s.sd_bal = dec("2187.000000001");
    s.activity_id = "act-0001";
    CHECK(round_trip(s) == s);
    s.currency = "JPY";
    CHECK(round_trip(s) == s);
}

TEST_CASE("partition meta state round-trips exactly") {
    model::partition_meta m;
    m.partition = 37;
    m.next_offset = 9'223'372'036'854'775'807LL;
    m.business_date = day("2024-03-15");
    m.next_pending_sequence = 12;
    m.revalued_through = {0, 17, 9'000'000'000LL};
    CHECK(round_trip(m) == m);
    CHECK(round_trip(m).revalued_through.size() == 3);

    model::partition_meta fresh;
    const auto back = round_trip(fresh);
    CHECK(back == fresh);
    CHECK_FALSE(back.business_date.has_value());
    CHECK(back.next_pending_sequence == 1);

    model::partition_meta zero;
    zero.next_pending_sequence = 0;
    CHECK(round_trip(zero) == zero);
    // A business date outside base/date.h's range, as posd stored it before
    // issue 9 (END_OF_DAY 2999-12-31), reads back as written.
    model::partition_meta far;
    far.business_date = date::from_days(date::days_max + 1);
    REQUIRE(far.business_date->to_string() == "3000-01-01");
    CHECK(round_trip(far) == far);
}

TEST_CASE("decode_state refuses bad bytes and bad field texts") {
    model::position p;
    p.cusip = "037833100";
    const model::position before = p;
    CHECK_FALSE(decode_state("\x0a\xff\x01", p));
    for (const char* bad : {"1.", ".5", "1e3", "+1", "--1", "0.0000000001", "1 ", "abc",
                            "170141183460469231731687303715.884105728"}) {
        v1::Position m;
        m.set_td_qty(bad);
        std::string bytes;
        REQUIRE(m.SerializeToString(&bytes));
        INFO(bad);
        CHECK_FALSE(decode_state(bytes, p));
    }
    v1::Position bad_date;
    bad_date.set_short_exp_date("2024-02-30");
    std::string bytes;
    REQUIRE(bad_date.SerializeToString(&bytes));
    CHECK_FALSE(decode_state(bytes, p));
    CHECK(p == before);
}

// --- events -------------------------------------------------------------------------------

TEST_CASE("output events carry their cause in protobuf as in JSON") {
    model::position_updated pu;
    pu.position.firm_postrmt = "ABCD";
    pu.cause = {.kind = model::cause_kind::settlement,
                .settled_activity_ids = {"t-1", "t-2"},
                .business_date = *date::parse("2026-11-20"),
                .end_of_day_offset = 77};
    const std::string bytes = codec::encode_protobuf(pu);
    v1::PositionUpdated m;
    REQUIRE(m.ParseFromString(bytes));
    CHECK(m.cause().kind() == v1::EventCause::SETTLEMENT);
    CHECK(m.cause().settled_activity_ids_size() == 2);
    CHECK(m.cause().business_date() == "2026-11-20");
    CHECK(m.cause().end_of_day_offset() == 77);
    CHECK(m.activity_ids_size() == 0);
    model::position_updated pu_back;
    REQUIRE(codec::decode_protobuf(bytes, pu_back));
    CHECK(pu_back.cause == pu.cause);

    model::market_value_event mv;
    mv.product_id = "037833100";
    mv.activity_ids = {"a-1"};
    mv.offsets = {41};
    mv.cause = {.kind = model::cause_kind::activity};
    v1::MarketValue mv_message;
    REQUIRE(mv_message.ParseFromString(codec::encode_protobuf(mv)));
    CHECK(mv_message.cause().kind() == v1::EventCause::ACTIVITY);
    CHECK(mv_message.activity_ids(0) == "a-1");
    CHECK(mv_message.offsets(0) == 41);
    model::market_value_event mv_back;
    REQUIRE(codec::decode_protobuf(codec::encode_protobuf(mv), mv_back));
    CHECK(mv_back.cause == mv.cause);
    CHECK(mv_back.activity_ids == mv.activity_ids);
    CHECK(mv_back.offsets == mv.offsets);

    model::margin_updated mu;
    mu.balance.firm = "ABCD";
    mu.cause = {.kind = model::cause_kind::revaluation,
                .revalued_cusip = "037833100",
                .price_as_of = timestamp{1'710'513'000'000}};
    v1::MarginUpdated mu_message;
    REQUIRE(mu_message.ParseFromString(codec::encode_protobuf(mu)));
    CHECK(mu_message.cause().kind() == v1::EventCause::REVALUATION);
    CHECK(mu_message.cause().revalued_cusip() == "037833100");
    CHECK(mu_message.cause().price_as_of() == 1'710'513'000'000);
    model::margin_updated mu_back;
    REQUIRE(codec::decode_protobuf(codec::encode_protobuf(mu), mu_back));
    CHECK(mu_back.cause == mu.cause);
    mu.cause = {.kind = model::cause_kind::end_of_day, .business_date = *date::parse("2026-11-20"),
                .end_of_day_offset = 0};
    REQUIRE(codec::decode_protobuf(codec::encode_protobuf(mu), mu_back));
    CHECK(mu_back.cause == mu.cause);
    mu.cause = {};
    REQUIRE(codec::decode_protobuf(codec::encode_protobuf(mu), mu_back));
    CHECK(mu_back.cause == mu.cause);
}

TEST_CASE("output events encode to the SPEC's messages and decode back") {
    model::position_updated pu;
    pu.position.firm_postrmt = "ABCD";
    pu.position.cusip = "037833100";
    pu.position.td_qty = dec("100.5");
    pu.position.version = 7;
    pu.activity_ids = {"a-1", "a-2"};
    pu.offsets = {41, -1};
    pu.event_time = ts("2024-03-15T14:30:00.123Z");
    pu.processing_time = timestamp{1'710'513'000'456};
    const std::string bytes = codec::encode_protobuf(pu);
    v1::PositionUpdated m;
    REQUIRE(m.ParseFromString(bytes));
    CHECK(m.position().td_qty() == "100.5");
    CHECK(m.position().version() == 7);
    CHECK(m.activity_ids_size() == 2);
    CHECK(m.offsets(1) == -1);
    CHECK(m.event_time() == pu.event_time.ms);
    model::position_updated pu_back;
    REQUIRE(codec::decode_protobuf(bytes, pu_back));
    CHECK(pu_back.position == pu.position);
    CHECK(pu_back.activity_ids == pu.activity_ids);
    CHECK(pu_back.offsets == pu.offsets);
    CHECK(pu_back.event_time == pu.event_time);
    CHECK(pu_back.processing_time == pu.processing_time);

    model::market_value_event mv{"037833100", "ABCD", "01", "123", "45678", "1",
                                 dec("-150"), dec("180.4"), "EQUITY", dec("-27060"),
                                 timestamp{1'710'513'000'000}};
    model::market_value_event mv_back;
    REQUIRE(codec::decode_protobuf(codec::encode_protobuf(mv), mv_back));
    CHECK(mv_back.product_id == mv.product_id);
    CHECK(mv_back.sub_acct_key == mv.sub_acct_key);
    CHECK(mv_back.quantity == mv.quantity);
    CHECK(mv_back.price == mv.price);
    CHECK(mv_back.rule == mv.rule);
    CHECK(mv_back.market_value == mv.market_value);
    CHECK(mv_back.ts == mv.ts);

    model::margin_updated mu;
    mu.balance.firm = "ABCD";
    mu.balance.equity = dec("-5");
    mu.balance.margin_call = model::margin_call_state::exchange;
    mu.balance.margin_call_amount = dec("30005");
    mu.processing_time = timestamp{5};
    v1::MarginUpdated mu_message;
    REQUIRE(mu_message.ParseFromString(codec::encode_protobuf(mu)));
    CHECK(mu_message.balance().margin_call() == v1::MarginBalance::EXCHANGE);
    model::margin_updated mu_back;
    REQUIRE(codec::decode_protobuf(codec::encode_protobuf(mu), mu_back));
    CHECK(mu_back.balance == mu.balance);
    CHECK(mu_back.processing_time == mu.processing_time);

    model::dead_letter dl{"ABCD|01|123|45678", std::string("\x00\xff raw", 6),
                          model::reject{model::reason::bad_cusip_check_digit, "cusip", "check digit"},
                          3, 1234};
    v1::DeadLetter dl_message;
    REQUIRE(dl_message.ParseFromString(codec::encode_protobuf(dl)));
    CHECK(dl_message.reason() == "BAD_CUSIP_CHECK_DIGIT");
    model::dead_letter dl_back;
    REQUIRE(codec::decode_protobuf(codec::encode_protobuf(dl), dl_back));
    CHECK(dl_back.key == dl.key);
    CHECK(dl_back.value == dl.value);
    CHECK(dl_back.reject.reason == dl.reject.reason);
    CHECK(dl_back.reject.field == dl.reject.field);
    CHECK(dl_back.reject.message == dl.reject.message);
    CHECK(dl_back.partition == 3);
    CHECK(dl_back.offset == 1234);
}
