// JSON encoders: exact output of each event, escaping, and round trips of
// input records and reference data through json_decoder. The encoders take
// word-at-a-time and table-driven shortcuts (strings, decimals, dates);
// reference formatters below, written the plain way, check them over every
// string length and position of a special byte, the decimal range and the
// calendar.

#include "codec/json_decode.h"
#include "codec/json_encode.h"

#include "model/keys.h"

#include "test_support.h"

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using posd::date;
using posd::timestamp;
namespace codec = posd::codec;
namespace model = posd::model;

decimal dec(std::string_view text) { return *decimal::parse(text); }
date day(std::string_view text) { return *date::parse(text); }

std::string escaped(std::string_view text) {
    std::string out;
    codec::append_json_string(text, out);
    return out;
}

// Every field of an activity record, for round-trip comparisons.
auto fields(const model::activity_record& r) {
    return std::tie(r.activity_id, r.event_time, r.maxx_key_code, r.firm, r.ledger, r.branch, r.base, r.sub_acct_key,
                    r.acct_category, r.rr, r.us_citizenship, r.ny_resident, r.paper, r.intracct_eligible_type,
                    r.intracct_min_amt, r.account_closed_date, r.cusip, r.product_line, r.quantity, r.amount, r.price,
                    r.currency, r.trade_date, r.settle_date, r.bond_redeem_sw, r.acct_transferred_sw,
                    r.reverse_split_sw);
}

template <typename T, typename Variant>
T accepted(const Variant& d) {
    if (const auto* rej = std::get_if<model::reject>(&d))
        FAIL("rejected " << model::reason_code(rej->reason) << " field '" << rej->field << "': " << rej->message);
    REQUIRE(std::holds_alternative<T>(d));
    return std::get<T>(d);
}

// RFC 8259 escaping, one byte at a time.
std::string reference_escaped(std::string_view text) {
    std::string out = "\"";
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) out += fmt::format("\\u{:04x}", c);
            else out += ch;
        }
    }
    return out + "\"";
}

// A decimal's shortest text, one digit at a time with 128-bit arithmetic.
std::string reference_text(decimal value) {
    const posd::int128_t raw = value.raw();
    // The negative magnitude, so that the minimum is safe.
    posd::int128_t n = raw < 0 ? raw : -raw;
    std::string whole, fraction;
    posd::int128_t fraction_part = -(n % decimal::unit);
    posd::int128_t whole_part = -(n / decimal::unit);
    for (int i = 0; i < decimal::scale; ++i) {
        fraction.insert(fraction.begin(), static_cast<char>('0' + static_cast<int>(fraction_part % 10)));
        fraction_part /= 10;
    }
    while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
    do {
        whole.insert(whole.begin(), static_cast<char>('0' + static_cast<int>(whole_part % 10)));
        whole_part /= 10;
    } while (whole_part != 0);
    return (raw < 0 ? "-" : "") + whole + (fraction.empty() ? "" : "." + fraction);
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ" from the calendar fields of date (years 1900..2999).
std::string reference_time(timestamp t) {
    const date d = t.utc_date();
    const std::int64_t in_day = t.ms - std::int64_t{d.days()} * 86'400'000;
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", d.year(), d.month(), d.day(),
                       in_day / 3'600'000, in_day / 60'000 % 60, in_day / 1000 % 60, in_day % 1000);
}

model::position sample_position() {
    model::position p;
    p.firm_postrmt = "ABCD";
    p.ledger_postrmt = "01";
    p.branch_postrmt = "123";
    p.base_postrmt = "45673";
    p.acct_type_postrmt = "3";
    p.sub_acct_key = "1";
    p.cusip = "037833100";
    p.td_qty = dec("-150.5");
    p.sd_qty = dec("-100");
    p.td_qty_short_side = dec("150.5");
    p.house_req = dec("8125.2");
    p.equity_req = dec("8125.2");
    p.loss = dec("0");
    p.short_exp_date = std::nullopt;
    p.pairoff_td_qty = dec("0.000000001");
    p.cost_basis = dec("-27090");
    p.market_value = dec("-27084");
    p.loan_value = dec("0");
    p.version = 7;
    p.metadata.bond_redeem_sw = false;
    p.metadata.acct_transferred_sw = true;
    p.metadata.reverse_split_sw = false;
    p.metadata.acct_activity_qty = dec("-150.5");
    p.metadata.acct_activity_amt = dec("27090");
    return p;
}

} // namespace

TEST_CASE("strings are escaped per RFC 8259") {
    CHECK(escaped("") == R"("")");
    CHECK(escaped("plain ABC 123") == R"("plain ABC 123")");
    CHECK(escaped("say \"hi\"") == R"("say \"hi\"")");
    CHECK(escaped("back\\slash") == R"("back\\slash")");
    CHECK(escaped("a/b") == R"("a/b")");
    CHECK(escaped("\b\f\n\r\t") == R"("\b\f\n\r\t")");
    CHECK(escaped(std::string_view("\x00\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
    CHECK(escaped("\x7f") == "\"\x7f\"");
    CHECK(escaped("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") == "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    std::string out = "prefix:";
    codec::append_json_string("x", out);
    CHECK(out == R"(prefix:"x")");
}

TEST_CASE("strings: a byte that needs escaping at every position of every short length") {
    // Lengths around the 1-3, 4-7 and 8-byte word paths, the special byte
    // at each position, next to bytes that need no escape (space, '#',
    // DEL, UTF-8 bytes).
    const char specials[] = {'"',  '\\', '\0', '\x01', '\n',   '\x1f', ' ',   '!',
                             '#',  '[',  ']',  '\x7f', '\x80', '\xc3', '\xff'};
    for (std::size_t length = 0; length <= 40; ++length) {
        const std::string plain(length, 'a');
        CHECK(escaped(plain) == reference_escaped(plain));
        for (std::size_t at = 0; at < length; ++at) {
            for (char special : specials) {
                std::string text = plain;
                text[at] = special;
                INFO("length " << length << " at " << at << " byte " << static_cast<int>(special));
                CHECK(escaped(text) == reference_escaped(text));
            }
        }
    }
    // Random bytes, escapes mixed in anywhere.
    std::mt19937_64 rng(20261121);
    for (int i = 0; i < 20'000; ++i) {
        std::string text(rng() % 48, '\0');
        for (char& c : text) c = rng() % 4 == 0 ? static_cast<char>(rng() % 0x30) : static_cast<char>(rng());
        CHECK(escaped(text) == reference_escaped(text));
    }
}

TEST_CASE("decimals: the text of a plain formatter over the whole range") {
    using posd::int128_t;
    using posd::uint128_t;
    const int128_t max = static_cast<int128_t>(~uint128_t{0} >> 1);
    std::vector<int128_t> raws = {0, 1, -1, decimal::unit, -decimal::unit, max, -max, -max - 1,
                                  INT64_MAX, INT64_MIN, int128_t{INT64_MAX} + 1, int128_t{INT64_MIN} - 1,
                                  int128_t{UINT64_MAX}, -int128_t{UINT64_MAX}, int128_t{UINT64_MAX} + 1,
                                  // the largest whole part that fits 64 bits, and the first beyond
                                  int128_t{UINT64_MAX} * decimal::unit + 999'999'999,
                                  (int128_t{UINT64_MAX} + 1) * decimal::unit};
    int128_t power = 1;
    for (int i = 0; i <= 38; ++i) {
        for (int128_t v : {power, power - 1, power + 1, power / 10 * 5, power + power / 2}) { // not power * 5: 10^38 * 5 overflows
            raws.push_back(v);
            raws.push_back(-v);
        }
        if (i < 38) power *= 10;
    }
    // Fractions of every length, money-like ones included: .5, .05, .25, .50.
    for (std::int64_t fraction : {500'000'000LL, 50'000'000LL, 250'000'000LL, 10'000'000LL, 990'000'000LL, 1LL, 10LL,
                                  100'000'001LL, 123'456'789LL, 120'000'000LL, 999'999'999LL})
        for (std::int64_t whole :
             {0LL, 1LL, 7LL, 99LL, 100LL, 27'045LL, 99'999'999LL, 100'000'000LL, 18'446'744'073LL}) {
            raws.push_back(int128_t{whole} * decimal::unit + fraction);
            raws.push_back(-(int128_t{whole} * decimal::unit + fraction));
        }
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200'000; ++i) {
        // Magnitudes of every bit length, then rounded to 0..9 fraction digits.
        uint128_t bits = (uint128_t{rng()} << 64 | rng()) >> (1 + rng() % 127);
        int128_t v = static_cast<int128_t>(bits);
        int128_t step = 1;
        for (int digits = static_cast<int>(rng() % 12); digits > 0 && digits <= 9; --digits) step *= 10;
        v = v / step * step;
        raws.push_back(rng() % 2 == 0 ? v : -v);
    }
    for (int128_t raw : raws) {
        const decimal value = decimal::from_raw(raw);
        const std::string expected = reference_text(value);
        INFO(expected);
        REQUIRE(value.to_string() == expected);
        std::string appended = "x";
        value.append_to(appended);
        REQUIRE(appended == "x" + expected);
        // write_to stays within text_bytes_max chars.
        char buffer[decimal::text_bytes_max + 8];
        std::fill(std::begin(buffer), std::end(buffer), '#');
        char* end = value.write_to(buffer);
        REQUIRE(std::string(buffer, end) == expected);
        REQUIRE(std::string(buffer + decimal::text_bytes_max, 8) == "########");
    }

    // In an event, as a JSON string.
    model::market_value_event e;
    e.quantity = decimal::from_raw(-max - 1);
    e.price = decimal::from_raw(max);
    e.market_value = decimal::from_raw(-1);
    std::string out;
    codec::encode_json(e, out);
    CHECK(out.find(R"("quantity":"-170141183460469231731687303715.884105728","price":)"
                   R"("170141183460469231731687303715.884105727",)") != std::string::npos);
    CHECK(out.find(R"("marketValue":"-0.000000001")") != std::string::npos);
}

TEST_CASE("dates and times: the calendar's fields, day by day and at the edges") {
    // Every day of 1900..2999 (the dates posd accepts), at a varying time.
    const date first = *date::from_ymd(1900, 1, 1);
    const date last = *date::from_ymd(2999, 12, 31);
    std::int64_t in_day = 0;
    for (date d = first; d <= last; d = d.plus_days(1)) {
        const timestamp t{std::int64_t{d.days()} * 86'400'000 + in_day};
        REQUIRE(d.to_string() == fmt::format("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()));
        REQUIRE(t.to_string() == reference_time(t));
        in_day = (in_day + 7'654'321) % 86'400'000;
    }
    CHECK(timestamp{0}.to_string() == "1970-01-01T00:00:00.000Z");
    CHECK(timestamp{-1}.to_string() == "1969-12-31T23:59:59.999Z");
    CHECK(timestamp{86'399'999}.to_string() == "1970-01-01T23:59:59.999Z");
    CHECK(timestamp{951'782'400'000}.to_string() == "2000-02-29T00:00:00.000Z");
    CHECK(timestamp::parse("1900-01-01T00:00:00Z")->to_string() == "1900-01-01T00:00:00.000Z");
    CHECK(timestamp::parse("2999-12-31T23:59:59.999Z")->to_string() == "2999-12-31T23:59:59.999Z");
    CHECK(date::from_ymd(1900, 2, 28)->plus_days(1).to_string() == "1900-03-01"); // not a leap year
    CHECK(date::from_ymd(2024, 2, 28)->plus_days(1).to_string() == "2024-02-29");
    // Far from the dates posd uses: the last four digits of the year, as ever.
    CHECK(date::from_days(-719'468).to_string() == "0000-03-01");
    CHECK(date::from_days(2'932'896).to_string() == "9999-12-31");
    CHECK(date::from_days(2'932'897).to_string() == "0000-01-01"); // 10000-01-01
    // Around the range of the multiply-and-shift calendar and far beyond:
    // the same text as year(), month() and day() give.
    for (std::int32_t days : {-12'699'423, -12'699'422, 1'061'042'401, 1'061'042'402, -100'000'000, 2'000'000'000}) {
        const date d = date::from_days(days);
        CHECK(d.to_string() ==
              fmt::format("{:04}-{:02}-{:02}", static_cast<unsigned>(d.year()) % 10'000, d.month(), d.day()));
    }
    std::string out = "x";
    timestamp{1772461800125}.append_to(out);
    date::from_days(0).append_to(out);
    CHECK(out == "x2026-03-02T14:30:00.125Z1970-01-01");
}

TEST_CASE("events bigger than the first guess, and after other bytes") {
    model::position_updated e;
    e.position = sample_position();
    e.position.firm_postrmt = std::string(3000, '"'); // 6000 bytes escaped
    std::string ids_json, offsets_json;
    for (int i = 0; i < 300; ++i) {
        e.activity_ids.push_back(fmt::format("id-{}-\\-{}", i, std::string(static_cast<std::size_t>(i % 40), 'z')));
        e.offsets.push_back(i % 2 == 0 ? INT64_MIN + i : INT64_MAX - i);
        ids_json += (i == 0 ? "" : ",") + reference_escaped(e.activity_ids.back());
        offsets_json += (i == 0 ? "" : ",") + std::to_string(e.offsets.back());
    }
    const std::string prefix(5000, 'p');
    std::string out = prefix;
    codec::encode_json(e, out);
    REQUIRE(out.compare(0, prefix.size(), prefix) == 0);
    const std::string object = out.substr(prefix.size());
    const std::string firm = reference_escaped(e.position.firm_postrmt);
    CHECK(object.starts_with(R"({"positionKey":)" + firm.substr(0, firm.size() - 1) + "|01|123|"));
    CHECK(object.find(R"("firmPostrmt":)" + firm + ",") != std::string::npos);
    CHECK(object.find(R"("activityIds":[)" + ids_json + R"(],"offsets":[)" + offsets_json + "],") != std::string::npos);
    CHECK(object.ends_with(R"("processingTime":"1970-01-01T00:00:00.000Z"})"));
    // Valid JSON: an object of unknown fields to the decoder.
    codec::json_decoder d;
    auto r = d.decode_bookkeeping_rule(object);
    REQUIRE(std::holds_alternative<model::reject>(r));
    CHECK(std::get<model::reject>(r).reason == model::reason::missing_field);

    // Encoding appends: two events in one string are the two texts.
    std::string one, two, both;
    model::margin_updated m;
    m.balance.firm = "ABCD";
    codec::encode_json(e, one);
    codec::encode_json(m, two);
    codec::encode_json(e, both);
    codec::encode_json(m, both);
    CHECK(both == one + two);
}

TEST_CASE("position.updated: every Position and PositionMetadata field") {
    model::position_updated e;
    e.position = sample_position();
    e.activity_ids = {"A-1", "A-\"2\""};
    e.offsets = {41, -1, 9'000'000'000};
    e.event_time = timestamp{1772461800125};
    e.processing_time = timestamp{1772461800130};
    std::string out = "[";
    codec::encode_json(e, out);
    CHECK(out ==
          "["
          R"({"positionKey":"ABCD|01|123|45673|1|037833100","firmPostrmt":"ABCD","ledgerPostrmt":"01",)"
          R"("branchPostrmt":"123","basePostrmt":"45673","acctTypePostrmt":"3","subAcctKey":"1",)"
          R"("cusip":"037833100","tdQty":"-150.5","sdQty":"-100","tdQtyShortSide":"150.5",)"
          R"("houseReq":"8125.2","equityReq":"8125.2","loss":"0","shortExpDate":null,"pairoffAcctType":"",)"
          R"("pairoffCusip":"","pairoffTdQty":"0.000000001","costBasis":"-27090","marketValue":"-27084",)"
          R"("loanValue":"0","bondRedeemSw":"N","acctTransferredSw":"Y","reverseSplitSw":"N",)"
          R"("acctActivityQty":"-150.5","acctActivityAmt":"27090","version":7,"activityIds":["A-1","A-\"2\""],)"
          R"("offsets":[41,-1,9000000000],"eventTime":"2026-03-02T14:30:00.125Z",)"
          R"("processingTime":"2026-03-02T14:30:00.130Z"})");

    e.position.short_exp_date = day("2027-01-15");
    e.activity_ids.clear();
    e.offsets.clear();
    out.clear();
    codec::encode_json(e, out);
    CHECK(out.find(R"("shortExpDate":"2027-01-15")") != std::string::npos);
    CHECK(out.find(R"("activityIds":[],"offsets":[])") != std::string::npos);
    CHECK(codec::event_key(model::output_event{e}) == "ABCD|01|123|45673|1|037833100");
}

TEST_CASE("market-value event") {
    model::market_value_event e;
    e.product_id = "037833100";
    e.firm = "ABCD";
    e.ledger = "01";
    e.branch = "123";
    e.base = "45672";
    e.sub_acct_key = "";
    e.quantity = dec("150");
    e.price = dec("180.305");
    e.rule = "STANDARD";
    e.market_value = dec("27046");
    e.ts = timestamp{1772485200000};
    std::string out;
    codec::encode_json(e, out);
    CHECK(out == R"({"positionKey":"ABCD|01|123|45672||037833100","productId":"037833100","firm":"ABCD",)"
                 R"("ledger":"01","branch":"123","base":"45672","subAcctKey":"","quantity":"150",)"
                 R"("price":"180.305","rule":"STANDARD","marketValue":"27046",)"
                 R"("timestamp":"2026-03-02T21:00:00.000Z"})");
    CHECK(codec::event_key(model::output_event{e}) == "ABCD|01|123|45672||037833100");
}

TEST_CASE("margin.updated event") {
    model::margin_updated e;
    auto& b = e.balance;
    b.firm = "ABCD";
    b.ledger = "01";
    b.branch = "123";
    b.base = "45672";
    b.acct_type = "2";
    b.acct_category = "RETL";
    b.base_currency = "USD";
    b.td_bal = dec("-27045.75");
    b.sd_bal = dec("0");
    b.td_bal_total = dec("-27045.75");
    b.sd_bal_total = dec("0");
    b.sma = dec("1250.5");
    b.mv_td_long = dec("27046");
    b.mv_td_short = dec("0");
    b.cash_avail = dec("0");
    b.loan_value = dec("13523");
    b.reqt_house = dec("6761.5");
    b.reqt_exch = dec("6761.5");
    b.equity = dec("0.25");
    b.margin_call = model::margin_call_state::exchange;
    b.margin_call_amount = dec("6761.25");
    b.version = 3;
    e.processing_time = timestamp{0};
    std::string out;
    codec::encode_json(e, out);
    CHECK(out == R"({"accountKey":"ABCD|01|123|45672","firm":"ABCD","ledger":"01","branch":"123","base":"45672",)"
                 R"("acctType":"2","acctCategory":"RETL","baseCurrency":"USD","tdBal":"-27045.75","sdBal":"0",)"
                 R"("cash":[],"tdBalTotal":"-27045.75","sdBalTotal":"0","sma":"1250.5",)"
                 R"("mvTdLong":"27046","mvTdShort":"0","cashAvail":"0","loanValue":"13523","reqtHouse":"6761.5",)"
                 R"("reqtExch":"6761.5","equity":"0.25","marginCall":"EXCHANGE","marginCallAmount":"6761.25",)"
                 R"("version":3,"processingTime":"1970-01-01T00:00:00.000Z"})");

    SECTION("cash in other currencies: per currency, with its base-currency value") {
        b.cash.push_back({"EUR", dec("-10.5"), dec("0"), dec("1.1"), dec("-11.55"), dec("0")});
        b.cash.push_back({"JPY", dec("1000000"), dec("1000000"), dec("0.0067"), dec("6700"), dec("6700")});
        b.td_bal_total = dec("-20357.3");
        b.sd_bal_total = dec("6700");
        out.clear();
        codec::encode_json(e, out);
        CHECK(out.find(R"("tdBal":"-27045.75","sdBal":"0","cash":[)"
                       R"({"currency":"EUR","tdBal":"-10.5","sdBal":"0","rate":"1.1","tdBalBase":"-11.55","sdBalBase":"0"},)"
                       R"({"currency":"JPY","tdBal":"1000000","sdBal":"1000000","rate":"0.0067","tdBalBase":"6700",)"
                       R"("sdBalBase":"6700"}],"tdBalTotal":"-20357.3","sdBalTotal":"6700","sma":"1250.5",)") !=
              std::string::npos);
    }
    CHECK(codec::event_key(model::output_event{e}) == "ABCD|01|123|45672");
    b.margin_call = model::margin_call_state::none;
    out.clear();
    codec::encode_json(e, out);
    CHECK(out.find(R"("marginCall":"NONE")") != std::string::npos);
    b.margin_call = model::margin_call_state::house;
    out.clear();
    codec::encode_json(e, out);
    CHECK(out.find(R"("marginCall":"HOUSE")") != std::string::npos);
}

TEST_CASE("every event says its cause and the ids it concerns (README \"Message formats\")") {
    model::position_updated pu;
    pu.position = sample_position();
    model::market_value_event mv;
    mv.product_id = "037833100";
    mv.firm = "ABCD";
    model::margin_updated mu;
    mu.balance.firm = "ABCD";
    // The cause's fields follow the event's own, at the end of the object.
    auto tail = [](const auto& event) {
        std::string out;
        codec::encode_json(event, out);
        const auto at = out.find(R"(,"cause":)");
        return at == std::string::npos ? std::string("no cause in ") + out : out.substr(at);
    };

    SECTION("activity: the records applied, on all three topics") {
        const model::event_cause c{.kind = model::cause_kind::activity};
        pu.activity_ids = {"A-1", "A-2"};
        pu.offsets = {41, 42};
        pu.cause = c;
        mv.activity_ids = pu.activity_ids;
        mv.offsets = pu.offsets;
        mv.cause = c;
        mu.activity_ids = pu.activity_ids;
        mu.offsets = pu.offsets;
        mu.cause = c;
        CHECK(tail(pu) == R"(,"cause":"activity"})");
        std::string out;
        codec::encode_json(pu, out);
        CHECK(out.find(R"("activityIds":["A-1","A-2"],"offsets":[41,42],)") != std::string::npos);
        CHECK(tail(mv) == R"(,"cause":"activity","activityIds":["A-1","A-2"],"offsets":[41,42]})");
        CHECK(tail(mu) == R"(,"cause":"activity","activityIds":["A-1","A-2"],"offsets":[41,42]})");
    }
    SECTION("settlement: settledActivityIds, never activityIds, and the END_OF_DAY") {
        const model::event_cause c{.kind = model::cause_kind::settlement,
                                   .settled_activity_ids = {"T-1", "T-\"2\""},
                                   .business_date = day("2026-11-20"),
                                   .end_of_day_offset = 77};
        pu.cause = mv.cause = mu.cause = c;
        CHECK(tail(pu) ==
              R"(,"cause":"settlement","settledActivityIds":["T-1","T-\"2\""],"businessDate":"2026-11-20",)"
              R"("endOfDayOffset":77})");
        std::string out;
        codec::encode_json(pu, out);
        CHECK(out.find(R"("activityIds":[],"offsets":[],)") != std::string::npos);
        CHECK(tail(mv) ==
              R"(,"cause":"settlement","activityIds":[],"offsets":[],"settledActivityIds":["T-1","T-\"2\""],)"
              R"("businessDate":"2026-11-20","endOfDayOffset":77})");
        CHECK(tail(mu) == tail(mv));
    }
    SECTION("end_of_day: the END_OF_DAY's business date and offset") {
        const model::event_cause c{.kind = model::cause_kind::end_of_day,
                                   .business_date = day("2026-11-20"),
                                   .end_of_day_offset = 77};
        pu.cause = mv.cause = mu.cause = c;
        CHECK(tail(pu) == R"(,"cause":"end_of_day","businessDate":"2026-11-20","endOfDayOffset":77})");
        CHECK(tail(mu) ==
              R"(,"cause":"end_of_day","activityIds":[],"offsets":[],"businessDate":"2026-11-20","endOfDayOffset":77})");
    }
    SECTION("revaluation: the cusip and the price's as-of, null without a price") {
        model::event_cause c{.kind = model::cause_kind::revaluation,
                             .revalued_cusip = "037833100",
                             .price_as_of = timestamp{1772461800125}};
        pu.cause = mv.cause = mu.cause = c;
        CHECK(tail(pu) ==
              R"(,"cause":"revaluation","revaluedCusip":"037833100","priceAsOf":"2026-03-02T14:30:00.125Z"})");
        CHECK(tail(mv) == R"(,"cause":"revaluation","activityIds":[],"offsets":[],"revaluedCusip":"037833100",)"
                          R"("priceAsOf":"2026-03-02T14:30:00.125Z"})");
        c.price_as_of.reset();
        mu.cause = c;
        CHECK(tail(mu) ==
              R"(,"cause":"revaluation","activityIds":[],"offsets":[],"revaluedCusip":"037833100","priceAsOf":null})");
    }
    SECTION("no cause (a query's view of state): no cause fields") {
        std::string out;
        codec::encode_json(mu, out);
        CHECK(out.find("cause") == std::string::npos);
        CHECK(out.find("activityIds") == std::string::npos);
        CHECK(out.ends_with(R"("processingTime":"1970-01-01T00:00:00.000Z"})"));
        out.clear();
        codec::encode_json(pu, out);
        CHECK(out.find("cause") == std::string::npos);
        CHECK(out.ends_with(R"("processingTime":"1970-01-01T00:00:00.000Z"})"));
    }
}

TEST_CASE("event JSON escapes key parts and text") {
    model::market_value_event e;
    e.product_id = "037833100";
    e.firm = "A\"CD";
    e.ledger = "0\\1";
    e.branch = "1\n3";
    e.base = "4";
    e.rule = "R\t";
    std::string out;
    codec::encode_json(e, out);
    CHECK(out.find(R"("positionKey":"A\"CD|0\\1|1\n3|4||037833100")") != std::string::npos);
    CHECK(out.find(R"("rule":"R\t")") != std::string::npos);
    // The encoded event is valid JSON: an unknown-field-only object to the decoder.
    codec::json_decoder d;
    auto r = d.decode_bookkeeping_rule(out);
    REQUIRE(std::holds_alternative<model::reject>(r));
    CHECK(std::get<model::reject>(r).reason == model::reason::missing_field); // parsed fine, no maxxKeyCode
}

TEST_CASE("dead letters: original key and the headers") {
    model::dead_letter dl;
    dl.key = "ABCD|01|123|45678";
    dl.value = "{\"broken\":";
    dl.reject = model::reject{model::reason::bad_cusip_check_digit, "cusip", "cusip check digit does not match"};
    dl.partition = 5;
    dl.offset = 123456789012;
    CHECK(codec::event_key(model::output_event{dl}) == "ABCD|01|123|45678");
    auto headers = codec::dead_letter_headers(dl, "activity");
    using header = std::pair<std::string, std::string>;
    CHECK(headers == std::vector<header>{{"reason", "BAD_CUSIP_CHECK_DIGIT"},
                                         {"message", "cusip check digit does not match"},
                                         {"field", "cusip"},
                                         {"source.topic", "activity"},
                                         {"source.partition", "5"},
                                         {"source.offset", "123456789012"}});
}

TEST_CASE("activity records round-trip through the decoder exactly") {
    codec::json_decoder d;
    model::activity_record r;
    r.activity_id = "7f0c2a9e-\"quoted\"-\\-\xc3\xa9";
    r.maxx_key_code = "BUY";
    r.firm = "ABCD";
    r.ledger = "01";
    r.branch = "123";
    r.base = "45672";

    SECTION("minimal") {
        std::string json;
        codec::encode_activity_json(r, json);
        CHECK(json == R"({"activityId":"7f0c2a9e-\"quoted\"-\\-)"
                      "\xc3\xa9"
                      R"(","maxxKeyCode":"BUY","firm":"ABCD","ledger":"01","branch":"123","base":"45672",)"
                      R"("quantity":"0","amount":"0","bondRedeemSw":"N","acctTransferredSw":"N",)"
                      R"("reverseSplitSw":"N"})");
        auto back = accepted<model::activity_record>(d.decode_activity(json));
        CHECK(fields(back) == fields(r));
    }
    SECTION("every field set") {
        r.event_time = timestamp{1772461800125};
        r.sub_acct_key = "S1";
        r.acct_category = "R\tETL";
        r.rr = "R01";
        r.us_citizenship = "Y";
        r.ny_resident = "N";
        r.paper = "M\nOS";
        r.intracct_eligible_type = "J";
        r.intracct_min_amt = dec("0.000000001");
        r.account_closed_date = day("2999-12-31");
        r.cusip = "38259P508";
        r.product_line = "EQ";
        r.quantity = dec("-999999999999.999999999");
        r.amount = dec("1000000000000000");
        r.price = dec("100000000");
        r.currency = "JPY";
        r.trade_date = day("1900-01-01");
        r.settle_date = day("1900-01-03");
        r.bond_redeem_sw = true;
        r.acct_transferred_sw = false;
        r.reverse_split_sw = true;
        std::string json;
        codec::encode_activity_json(r, json);
        auto back = accepted<model::activity_record>(d.decode_activity(json));
        CHECK(fields(back) == fields(r));
    }
    SECTION("control characters in text") {
        std::string all;
        for (int c = 1; c < 0x20; ++c) all.push_back(static_cast<char>(c));
        r.paper = all;
        std::string json;
        codec::encode_activity_json(r, json);
        CHECK(accepted<model::activity_record>(d.decode_activity(json)).paper == all);
    }
}

TEST_CASE("control records round-trip") {
    codec::json_decoder d;
    model::control_record c{model::control_action::end_of_day, day("2026-03-02")};
    std::string json;
    codec::encode_control_json(c, json);
    CHECK(json == R"({"type":"control","action":"END_OF_DAY","businessDate":"2026-03-02"})");
    auto back = accepted<model::control_record>(d.decode_activity(json));
    CHECK(back.action == c.action);
    CHECK(back.business_date == c.business_date);
}

TEST_CASE("reference data round-trips") {
    codec::json_decoder d;
    std::string json;

    model::bookkeeping_rule rule{"SELL", "Sell", "Sale, \"regular\" way", true, false, true, false, true};
    codec::encode_json(rule, json);
    CHECK(json == R"({"maxxKeyCode":"SELL","shortDesc":"Sell","longDesc":"Sale, \"regular\" way","updTdBalSw":"Y",)"
                  R"("updSdBalSw":"N","adjSmaSw":"Y","updTdQtySw":"N","updSdQtySw":"Y"})");
    auto rule_back = accepted<model::bookkeeping_rule>(d.decode_bookkeeping_rule(json));
    CHECK(std::tie(rule_back.maxx_key_code, rule_back.short_desc, rule_back.long_desc, rule_back.upd_td_bal_sw,
                   rule_back.upd_sd_bal_sw, rule_back.adj_sma_sw, rule_back.upd_td_qty_sw, rule_back.upd_sd_qty_sw) ==
          std::tie(rule.maxx_key_code, rule.short_desc, rule.long_desc, rule.upd_td_bal_sw, rule.upd_sd_bal_sw,
                   rule.adj_sma_sw, rule.upd_td_qty_sw, rule.upd_sd_qty_sw));

    for (bool optional_set : {false, true}) {
        model::product_definition p;
        p.prodline = "BD";
        p.desc_short = "Corporate bond";
        p.factor = dec("0.01");
        if (optional_set) p.default_price_for_mgn = dec("99.875");
        p.fractions_allowed_sw = optional_set;
        p.marginable_flag = !optional_set;
        p.contributes_to_equity_sw = optional_set;
        p.ext_rule_flag = optional_set ? "P" : "";
        json.clear();
        codec::encode_json(p, json);
        auto back = accepted<model::product_definition>(d.decode_product(json));
        CHECK(std::tie(back.prodline, back.desc_short, back.factor, back.default_price_for_mgn,
                       back.fractions_allowed_sw, back.marginable_flag, back.contributes_to_equity_sw,
                       back.ext_rule_flag) == std::tie(p.prodline, p.desc_short, p.factor, p.default_price_for_mgn,
                                                       p.fractions_allowed_sw, p.marginable_flag,
                                                       p.contributes_to_equity_sw, p.ext_rule_flag));

        model::security s;
        s.cusip = "037833100";
        s.uls = optional_set ? "594918104" : "";
        s.product_line = "OPT";
        if (optional_set) {
            s.strike_price = dec("185.5");
            s.contract_size = dec("100");
            s.exp_or_maturity_date = day("2027-01-15");
        }
        json.clear();
        codec::encode_json(s, json);
        auto sback = accepted<model::security>(d.decode_security(json));
        CHECK(std::tie(sback.cusip, sback.uls, sback.product_line, sback.strike_price, sback.contract_size,
                       sback.exp_or_maturity_date) ==
              std::tie(s.cusip, s.uls, s.product_line, s.strike_price, s.contract_size, s.exp_or_maturity_date));

        model::price pr;
        pr.cusip = "037833100";
        pr.price = dec("180.305");
        if (optional_set) pr.prev_price = dec("179");
        pr.as_of = timestamp{optional_set ? 1772485200123 : 0};
        json.clear();
        codec::encode_json(pr, json);
        auto pback = accepted<model::price>(d.decode_price(json));
        CHECK(std::tie(pback.cusip, pback.price, pback.prev_price, pback.as_of) ==
              std::tie(pr.cusip, pr.price, pr.prev_price, pr.as_of));
    }
    json.clear();
    codec::encode_json(model::price{"037833100", dec("1"), std::nullopt, timestamp{0}}, json);
    CHECK(json == R"({"cusip":"037833100","price":"1","prevPrice":null,"asOf":"1970-01-01T00:00:00.000Z"})");

    model::fx_rate fx{"JPY", "USD", dec("0.006712345"), timestamp{1772485200123}};
    json.clear();
    codec::encode_json(fx, json);
    CHECK(json == R"({"currency":"JPY","baseCurrency":"USD","rate":"0.006712345","asOf":"2026-03-02T21:00:00.123Z"})");
    auto fxback = accepted<model::fx_rate>(d.decode_fx_rate(json));
    CHECK(std::tie(fxback.currency, fxback.base_currency, fxback.rate, fxback.as_of) ==
          std::tie(fx.currency, fx.base_currency, fx.rate, fx.as_of));

    model::margin_rule m{"RETL", -3, dec("0.25"), dec("0.5")};
    json.clear();
    codec::encode_json(m, json);
    CHECK(json == R"({"nyrsMgnRule":"RETL","nyrsMgnSeq":-3,"nyrsLevel":"0.25","nyrsAction":"0.5"})");
    auto mback = accepted<model::margin_rule>(d.decode_margin_rule(json));
    CHECK(std::tie(mback.nyrs_mgn_rule, mback.nyrs_mgn_seq, mback.nyrs_level, mback.nyrs_action) ==
          std::tie(m.nyrs_mgn_rule, m.nyrs_mgn_seq, m.nyrs_level, m.nyrs_action));
}

TEST_CASE("encoders append") {
    std::string out = "x";
    codec::encode_control_json(model::control_record{model::control_action::end_of_day, day("2026-03-02")}, out);
    codec::encode_control_json(model::control_record{model::control_action::end_of_day, day("2026-03-03")}, out);
    CHECK(out == R"(x{"type":"control","action":"END_OF_DAY","businessDate":"2026-03-02"})"
                 R"({"type":"control","action":"END_OF_DAY","businessDate":"2026-03-03"})");
}
