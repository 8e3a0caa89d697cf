// build_record: one worked example per validation rule and reason, and the
// order in which the rules apply (libs/codec/README.md, "Validation").

#include "codec/activity_fields.h"

#include "base/limits.h"
#include "model/keys.h"

#include "test_support.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

namespace {

using posd::codec::build_record;
using posd::codec::raw_activity;

raw_activity valid_raw() {
    raw_activity r;
    r.activity_id = "A-1";
    r.maxx_key_code = "BUY";
    r.firm = "ABCD";
    r.ledger = "01";
    r.branch = "123";
    r.base = "45678";
    return r;
}

posd::model::activity_record activity(const posd::model::decoded_record& d) {
    if (const auto* rej = std::get_if<posd::model::reject>(&d))
        FAIL("rejected " << posd::model::reason_code(rej->reason) << " field " << rej->field << ": " << rej->message);
    REQUIRE(std::holds_alternative<posd::model::activity_record>(d));
    return std::get<posd::model::activity_record>(d);
}

posd::model::reject rejected(const raw_activity& raw) {
    auto d = build_record(raw);
    REQUIRE(std::holds_alternative<posd::model::reject>(d));
    return std::get<posd::model::reject>(d);
}

void check_reject(const raw_activity& raw, reason expected, std::string_view field) {
    auto rej = rejected(raw);
    INFO("message: " << rej.message);
    CHECK(posd::model::reason_code(rej.reason) == posd::model::reason_code(expected));
    CHECK(rej.field == field);
    CHECK_FALSE(rej.message.empty());
}

decimal dec(std::string_view text) { return *decimal::parse(text); }

} // namespace

TEST_CASE("a minimal activity record gets the documented defaults") {
    const auto& rec = activity(build_record(valid_raw()));
    CHECK(rec.activity_id == "A-1");
    CHECK(rec.maxx_key_code == "BUY");
    CHECK(rec.account().value() == "ABCD|01|123|45678");
    CHECK(rec.cusip.empty());
    CHECK(rec.quantity == decimal{});
    CHECK(rec.amount == decimal{});
    CHECK_FALSE(rec.price.has_value());
    CHECK(rec.currency.empty()); // the account's base currency
    CHECK_FALSE(rec.event_time.has_value());
    CHECK_FALSE(rec.trade_date.has_value());
    CHECK_FALSE(rec.bond_redeem_sw);
    CHECK_FALSE(rec.acct_transferred_sw);
    CHECK_FALSE(rec.reverse_split_sw);
}

TEST_CASE("a full activity record keeps every field") {
    raw_activity r = valid_raw();
    r.type = "activity";
    r.event_time = "2026-03-02T14:30:00.125Z";
    r.sub_acct_key = "1";
    r.acct_category = "RETL";
    r.rr = "R01";
    r.us_citizenship = "Y";
    r.ny_resident = "N";
    r.paper = "MOS";
    r.intracct_eligible_type = "J";
    r.intracct_min_amt = "100.50";
    r.account_closed_date = "2030-01-31";
    r.cusip = "037833100";
    r.product_line = "EQ";
    r.quantity = "-150.25";
    r.amount = "27045.000000001";
    r.price = "180.000";
    r.currency = "EUR";
    r.trade_date = "2026-03-02";
    r.settle_date = "2026-03-03";
    r.bond_redeem_sw = "Y";
    r.acct_transferred_sw = "N";
    r.reverse_split_sw = "Y";
    const auto& rec = activity(build_record(r));
    CHECK(rec.event_time->to_string() == "2026-03-02T14:30:00.125Z");
    CHECK(rec.position().value() == "ABCD|01|123|45678|1|037833100");
    CHECK(rec.acct_category == "RETL");
    CHECK(rec.rr == "R01");
    CHECK(rec.us_citizenship == "Y");
    CHECK(rec.ny_resident == "N");
    CHECK(rec.paper == "MOS");
    CHECK(rec.intracct_eligible_type == "J");
    CHECK(*rec.intracct_min_amt == dec("100.5"));
    CHECK(rec.account_closed_date->to_string() == "2030-01-31");
    CHECK(rec.product_line == "EQ");
    CHECK(rec.quantity == dec("-150.25"));
    CHECK(rec.amount.raw() == 27045'000000001);
    CHECK(*rec.price == decimal::from_units(180));
    CHECK(rec.currency == "EUR");
    CHECK(rec.trade_date->to_string() == "2026-03-02");
    CHECK(rec.settle_date->to_string() == "2026-03-03");
    CHECK(rec.bond_redeem_sw);
    CHECK_FALSE(rec.acct_transferred_sw);
    CHECK(rec.reverse_split_sw);
}

TEST_CASE("record type: absent, empty or activity, control, anything else unknown") {
    raw_activity r = valid_raw();
    r.type = "activity";
    activity(build_record(r));
    r.type = "trade";
    check_reject(r, reason::unknown_record_type, "type");
    r.type = ""; // empty means absent
    activity(build_record(r));
    r.type = "Control";
    check_reject(r, reason::unknown_record_type, "type");
}

TEST_CASE("control records: END_OF_DAY with a strict business date") {
    raw_activity r;
    r.type = "control";
    r.action = "END_OF_DAY";
    r.business_date = "2026-03-02";
    auto d = build_record(r);
    REQUIRE(std::holds_alternative<posd::model::control_record>(d));
    const auto& c = std::get<posd::model::control_record>(d);
    CHECK(c.action == posd::model::control_action::end_of_day);
    CHECK(c.business_date.to_string() == "2026-03-02");

    SECTION("activity fields on a control record are ignored") {
        r.firm = "TOO LONG FIRM";
        r.cusip = "bad";
        CHECK(std::holds_alternative<posd::model::control_record>(build_record(r)));
    }
    SECTION("action missing or empty") {
        r.action.reset();
        check_reject(r, reason::missing_field, "action");
        r.action = "";
        check_reject(r, reason::missing_field, "action");
    }
    SECTION("unknown action") {
        r.action = "START_OF_DAY";
        check_reject(r, reason::unknown_record_type, "action");
        r.action = "end_of_day";
        check_reject(r, reason::unknown_record_type, "action");
    }
    SECTION("businessDate missing") {
        r.business_date.reset();
        check_reject(r, reason::missing_field, "businessDate");
    }
    SECTION("businessDate not a strict date") {
        for (const char* bad : {"2026-02-30", "2026-3-2", "20260302", "2026-03-02T00:00:00Z"}) {
            INFO(bad);
            r.business_date = bad;
            check_reject(r, reason::bad_field, "businessDate");
        }
    }
    SECTION("businessDate outside 1900-01-01..2999-12-31") {
        for (const char* bad : {"1899-12-31", "3000-01-01"}) {
            INFO(bad);
            r.business_date = bad;
            check_reject(r, reason::date_out_of_range, "businessDate");
        }
    }
    SECTION("over-long control fields") {
        std::string long_text(posd::limits::field_bytes_max + 1, 'X');
        r.action = long_text;
        check_reject(r, reason::field_too_long, "action");
        r.action = "END_OF_DAY";
        r.business_date = long_text;
        check_reject(r, reason::field_too_long, "businessDate");
        r.type = std::string(posd::limits::field_bytes_max + 1, 'c');
        check_reject(r, reason::field_too_long, "type");
    }
}

TEST_CASE("required fields, checked in order, empty counts as missing") {
    raw_activity r;
    check_reject(r, reason::missing_field, "activityId");
    r.activity_id = "";
    check_reject(r, reason::missing_field, "activityId");
    r.activity_id = "A";
    check_reject(r, reason::missing_field, "maxxKeyCode");
    r.maxx_key_code = "BUY";
    check_reject(r, reason::missing_field, "firm");
    r.firm = "ABCD";
    check_reject(r, reason::missing_field, "ledger");
    r.ledger = "01";
    check_reject(r, reason::missing_field, "branch");
    r.branch = "123";
    check_reject(r, reason::missing_field, "base");
    r.base = "";
    check_reject(r, reason::missing_field, "base");
    r.base = "45678";
    activity(build_record(r));
}

TEST_CASE("string fields longer than the limits") {
    const std::string at_limit(posd::limits::field_bytes_max, 'x');
    const std::string over(posd::limits::field_bytes_max + 1, 'x');
    struct text_field {
        std::optional<std::string_view> raw_activity::*member;
        const char* wire;
    };
    const std::vector<text_field> fields = {
        {&raw_activity::maxx_key_code, "maxxKeyCode"},
        {&raw_activity::ledger, "ledger"},
        {&raw_activity::branch, "branch"},
        {&raw_activity::base, "base"},
        {&raw_activity::sub_acct_key, "subAcctKey"},
        {&raw_activity::acct_category, "acctCategory"},
        {&raw_activity::rr, "rr"},
        {&raw_activity::us_citizenship, "usCitizenship"},
        {&raw_activity::ny_resident, "nyResident"},
        {&raw_activity::paper, "paper"},
        {&raw_activity::intracct_eligible_type, "intracctEligibleType"},
        {&raw_activity::product_line, "productLine"},
    };
    for (const auto& f : fields) {
        INFO(f.wire);
        raw_activity r = valid_raw();
        r.*f.member = at_limit;
        activity(build_record(r));
        r.*f.member = over;
        check_reject(r, reason::field_too_long, f.wire);
    }
    // Fields with a format: the length is checked before the format.
    const std::vector<text_field> formatted = {
        {&raw_activity::event_time, "eventTime"},
        {&raw_activity::firm, "firm"},
        {&raw_activity::intracct_min_amt, "intracctMinAmt"},
        {&raw_activity::account_closed_date, "accountClosedDate"},
        {&raw_activity::cusip, "cusip"},
        {&raw_activity::quantity, "quantity"},
        {&raw_activity::amount, "amount"},
        {&raw_activity::price, "price"},
        {&raw_activity::currency, "currency"},
        {&raw_activity::trade_date, "tradeDate"},
        {&raw_activity::settle_date, "settleDate"},
        {&raw_activity::bond_redeem_sw, "bondRedeemSw"},
        {&raw_activity::acct_transferred_sw, "acctTransferredSw"},
        {&raw_activity::reverse_split_sw, "reverseSplitSw"},
    };
    for (const auto& f : formatted) {
        INFO(f.wire);
        raw_activity r = valid_raw();
        r.*f.member = over;
        check_reject(r, reason::field_too_long, f.wire);
    }
}

TEST_CASE("activityId has its own, shorter limit") {
    raw_activity r = valid_raw();
    const std::string at_limit(posd::limits::activity_id_bytes_max, 'i');
    r.activity_id = at_limit;
    CHECK(activity(build_record(r)).activity_id == at_limit);
    const std::string over(posd::limits::activity_id_bytes_max + 1, 'i');
    r.activity_id = over;
    check_reject(r, reason::field_too_long, "activityId");
}

TEST_CASE("firm is exactly 4 characters") {
    raw_activity r = valid_raw();
    r.firm = "ABC";
    check_reject(r, reason::bad_field, "firm");
    r.firm = "ABCDE";
    check_reject(r, reason::bad_field, "firm");
}

TEST_CASE("key parts must not contain the key separator") {
    struct key_field {
        std::optional<std::string_view> raw_activity::*member;
        const char* wire;
        const char* value;
    };
    for (const auto& f : std::vector<key_field>{{&raw_activity::firm, "firm", "AB|D"},
                                                {&raw_activity::ledger, "ledger", "0|1"},
                                                {&raw_activity::branch, "branch", "|"},
                                                {&raw_activity::base, "base", "456|78"},
                                                {&raw_activity::sub_acct_key, "subAcctKey", "1|"}}) {
        INFO(f.wire);
        raw_activity r = valid_raw();
        r.*f.member = f.value;
        check_reject(r, reason::bad_field, f.wire);
    }
    raw_activity r = valid_raw();
    r.acct_category = "A|B"; // not a key part: allowed
    activity(build_record(r));
}

TEST_CASE("cusip: empty is cash, else well formed with a matching check digit") {
    raw_activity r = valid_raw();
    r.cusip = "";
    CHECK(activity(build_record(r)).cusip.empty());
    r.cusip = "38259P508";
    CHECK(activity(build_record(r)).cusip == "38259P508");
    for (const char* malformed : {"03783310", "0378331000", "03783a100", "03783310X", " 37833100"}) {
        INFO(malformed);
        r.cusip = malformed;
        check_reject(r, reason::bad_field, "cusip");
    }
    r.cusip = "037833101";
    check_reject(r, reason::bad_cusip_check_digit, "cusip");
}

TEST_CASE("decimals: exact, malformed, too precise, out of range") {
    raw_activity r = valid_raw();
    r.quantity = "0.1";
    CHECK(activity(build_record(r)).quantity == decimal::from_scaled(1, 1));
    r.quantity = "1e2";
    CHECK(activity(build_record(r)).quantity == decimal::from_units(100));
    r.quantity = "-0.000000001";
    CHECK(activity(build_record(r)).quantity.raw() == -1);
    r.quantity = "1.10000000000000";
    CHECK(activity(build_record(r)).quantity == dec("1.1")); // trailing zeros are not precision

    for (const char* bad : {"abc", "1.", ".5", "1,5", "1e", "0x10", "1 ", "NaN", "Infinity"}) {
        INFO(bad);
        r.quantity = bad;
        check_reject(r, reason::bad_field, "quantity");
    }
    r.quantity = ""; // empty means absent: zero
    CHECK(activity(build_record(r)).quantity.is_zero());
    for (const char* range : {"0.0000000001", "1e400", "123456789012345678901234567890", "1e-10"}) {
        INFO(range);
        r.quantity = range;
        check_reject(r, reason::number_out_of_range, "quantity");
    }
}

TEST_CASE("decimal magnitude caps") {
    raw_activity r = valid_raw();
    r.quantity = "1000000000000";
    CHECK(activity(build_record(r)).quantity == decimal::from_units(posd::limits::quantity_units_max));
    r.quantity = "-1000000000000";
    activity(build_record(r));
    r.quantity = "1000000000000.000000001";
    check_reject(r, reason::number_out_of_range, "quantity");
    r.quantity = "-1000000000001";
    check_reject(r, reason::number_out_of_range, "quantity");

    r = valid_raw();
    r.amount = "-1000000000000000";
    activity(build_record(r));
    r.amount = "1000000000000001";
    check_reject(r, reason::number_out_of_range, "amount");

    r = valid_raw();
    r.intracct_min_amt = "1000000000000000";
    activity(build_record(r));
    r.intracct_min_amt = "1000000000000000.5";
    check_reject(r, reason::number_out_of_range, "intracctMinAmt");
    r.intracct_min_amt = "-0.01";
    check_reject(r, reason::bad_field, "intracctMinAmt");
    r.intracct_min_amt = "0";
    activity(build_record(r));

    r = valid_raw();
    r.price = "100000000";
    activity(build_record(r));
    r.price = "100000000.000000001";
    check_reject(r, reason::number_out_of_range, "price");
    r.price = "-1";
    check_reject(r, reason::bad_field, "price");
    r.price = "-1000000000"; // negative wins over the cap
    check_reject(r, reason::bad_field, "price");
    r.price = "0";
    CHECK(activity(build_record(r)).price == decimal{});
}

TEST_CASE("currency: absent means the account's base currency, else three letters A-Z") {
    raw_activity r = valid_raw();
    CHECK(activity(build_record(r)).currency.empty());
    r.currency = "JPY";
    CHECK(activity(build_record(r)).currency == "JPY");
    for (const char* bad : {"usd", "US", "USDT", "U$D", "12 "}) {
        INFO(bad);
        r.currency = bad;
        check_reject(r, reason::bad_field, "currency");
    }
    r.currency = ""; // empty means absent: the account's base currency
    CHECK(activity(build_record(r)).currency.empty());
}

TEST_CASE("dates are strict YYYY-MM-DD and settle on or after trade") {
    struct date_field {
        std::optional<std::string_view> raw_activity::*member;
        const char* wire;
    };
    for (const auto& f : std::vector<date_field>{{&raw_activity::trade_date, "tradeDate"},
                                                 {&raw_activity::settle_date, "settleDate"},
                                                 {&raw_activity::account_closed_date, "accountClosedDate"}}) {
        for (const char* bad : {"2026-02-30", "2026-13-01", "2026-2-03", "03/02/2026", "2026-03-02Z", "3000-02-29"}) {
            INFO(f.wire << " " << bad);
            raw_activity r = valid_raw();
            r.*f.member = bad;
            check_reject(r, reason::bad_field, f.wire);
        }
    }
    raw_activity r = valid_raw();
    r.trade_date = "2024-02-29";
    r.settle_date = "2024-02-29";
    activity(build_record(r));
    r.settle_date = "2024-02-28";
    check_reject(r, reason::bad_field, "settleDate");
    r.trade_date.reset();
    activity(build_record(r)); // a settle date alone is fine
}

TEST_CASE("eventTime: epoch milliseconds or RFC 3339") {
    raw_activity r = valid_raw();
    r.event_time = "1772461800125";
    CHECK(activity(build_record(r)).event_time->ms == 1772461800125);
    r.event_time = "-1000";
    CHECK(activity(build_record(r)).event_time->ms == -1000);
    r.event_time = "0";
    CHECK(activity(build_record(r)).event_time->ms == 0);
    r.event_time = "2026-03-02T14:30:00.125+01:00";
    CHECK(activity(build_record(r)).event_time->to_string() == "2026-03-02T13:30:00.125Z");
    r.event_time = "2026-03-02";
    CHECK(activity(build_record(r)).event_time->to_string() == "2026-03-02T00:00:00.000Z");

    for (const char* range : {"9223372036854775808", "-9223372036854775809", "99999999999999999999"}) {
        INFO(range);
        r.event_time = range;
        check_reject(r, reason::number_out_of_range, "eventTime");
    }
    for (const char* range : {"32503680000000", "-2208988800001", "3000-01-01T00:00:00Z"}) {
        INFO(range);
        r.event_time = range;
        check_reject(r, reason::date_out_of_range, "eventTime");
    }
    r.event_time = "-2208988800000"; // 1900-01-01T00:00:00Z
    activity(build_record(r));
    r.event_time = ""; // empty means absent
    CHECK_FALSE(activity(build_record(r)).event_time.has_value());
    for (const char* bad : {"-", "now", "1.5e3", "2026-03-02T14:30:00", "2026-03-02 14:30", "12:00:00Z",
                            "+1000"}) {
        INFO(bad);
        r.event_time = bad;
        check_reject(r, reason::bad_field, "eventTime");
    }
}

TEST_CASE("switches: Y, N or absent") {
    struct switch_field {
        std::optional<std::string_view> raw_activity::*member;
        bool posd::model::activity_record::*value;
        const char* wire;
    };
    for (const auto& f :
         std::vector<switch_field>{{&raw_activity::bond_redeem_sw, &posd::model::activity_record::bond_redeem_sw, "bondRedeemSw"},
                                   {&raw_activity::acct_transferred_sw, &posd::model::activity_record::acct_transferred_sw,
                                    "acctTransferredSw"},
                                   {&raw_activity::reverse_split_sw, &posd::model::activity_record::reverse_split_sw,
                                    "reverseSplitSw"}}) {
        INFO(f.wire);
        raw_activity r = valid_raw();
        r.*f.member = "Y";
        CHECK(activity(build_record(r)).*f.value);
        r.*f.member = "N";
        CHECK_FALSE(activity(build_record(r)).*f.value);
        for (const char* bad : {"y", "n", "YES", "true", "1"}) {
            INFO(bad);
            r.*f.member = bad;
            check_reject(r, reason::bad_field, f.wire);
        }
        r.*f.member = ""; // empty means absent: N
        CHECK_FALSE(activity(build_record(r)).*f.value);
    }
}

TEST_CASE("validation order: required first, then top-down, first failure wins") {
    raw_activity r = valid_raw();
    r.base.reset();
    r.cusip = "037833101";
    check_reject(r, reason::missing_field, "base"); // required before anything else

    r = valid_raw();
    r.firm = "ABC";
    r.currency = "usd";
    check_reject(r, reason::bad_field, "firm");

    r = valid_raw();
    r.event_time = "garbage";
    r.firm = "ABC";
    check_reject(r, reason::bad_field, "eventTime"); // eventTime comes before firm

    r = valid_raw();
    r.cusip = "037833101";
    r.quantity = "abc";
    check_reject(r, reason::bad_cusip_check_digit, "cusip");

    r = valid_raw();
    r.quantity = "1e400";
    r.price = "-1";
    check_reject(r, reason::number_out_of_range, "quantity");

    r = valid_raw();
    r.paper = std::string(posd::limits::field_bytes_max + 1, 'p');
    r.price = "-1";
    check_reject(r, reason::field_too_long, "paper");

    r = valid_raw();
    r.settle_date = "2026-01-01";
    r.trade_date = "2026-01-02";
    r.bond_redeem_sw = "X";
    check_reject(r, reason::bad_field, "settleDate");
}

TEST_CASE("reject messages never hold the account number") {
    const std::string base = "98765";
    std::vector<raw_activity> bad;
    auto add = [&](auto change) {
        raw_activity r = valid_raw();
        r.base = base;
        change(r);
        bad.push_back(r);
    };
    add([](raw_activity& r) { r.firm = "ABC"; });
    add([](raw_activity& r) { r.firm = "A|CD"; });
    add([](raw_activity& r) { r.ledger = "0|1"; });
    add([](raw_activity& r) { r.branch = "1|3"; });
    add([](raw_activity& r) { r.sub_acct_key = "98765|"; });
    add([](raw_activity& r) { r.cusip = "98765"; });
    add([](raw_activity& r) { r.cusip = "037833101"; });
    add([](raw_activity& r) { r.quantity = "98765x"; });
    add([](raw_activity& r) { r.maxx_key_code.reset(); });
    add([](raw_activity& r) { r.event_time = "98765"; r.event_time = "x98765"; });
    add([](raw_activity& r) { r.currency = "98765"; });
    std::string long_base(posd::limits::field_bytes_max + 1, '9');
    add([&](raw_activity& r) { r.base = long_base; });
    std::string piped = "98765|X";
    add([&](raw_activity& r) { r.base = piped; });
    for (const auto& r : bad) {
        auto rej = rejected(r);
        INFO(rej.message);
        CHECK(rej.message.find(base) == std::string::npos);
        CHECK(rej.message.find("ABCD|01") == std::string::npos);
        CHECK(rej.message.find("999") == std::string::npos);
    }
}

TEST_CASE("decimal fields agree with decimal::parse on random literals") {
    // build_record has a fast path for short plain literals; whatever the
    // text, the outcome must be decimal::parse's plus the quantity cap.
    const std::uint64_t seed = std::random_device{}();
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    const std::string alphabet = "0123456789000999.-+eE ";
    const decimal cap = decimal::from_units(posd::limits::quantity_units_max);
    for (int i = 0; i < 20000; ++i) {
        std::string text;
        const std::size_t length = rng() % 24;
        for (std::size_t j = 0; j < length; ++j) text.push_back(alphabet[rng() % alphabet.size()]);
        if (rng() % 2 == 0) { // mostly plain numbers: digits, maybe a point, maybe a sign
            text.clear();
            if (rng() % 3 == 0) text.push_back('-');
            const std::size_t int_digits = rng() % 21;
            for (std::size_t j = 0; j < int_digits; ++j) text.push_back(static_cast<char>('0' + rng() % 10));
            if (rng() % 2 == 0) {
                text.push_back('.');
                const std::size_t frac_digits = rng() % 13;
                for (std::size_t j = 0; j < frac_digits; ++j) text.push_back(static_cast<char>('0' + rng() % 10));
            }
        }
        INFO("text '" << text << "'");
        raw_activity r = valid_raw();
        r.quantity = text;
        auto d = build_record(r);
        decimal expected;
        switch (decimal::parse(text, expected)) {
        case decimal::parse_error::none:
            if (expected.abs() <= cap) {
                REQUIRE(std::holds_alternative<posd::model::activity_record>(d));
                REQUIRE(std::get<posd::model::activity_record>(d).quantity == expected);
            } else {
                REQUIRE(rejected(r).reason == reason::number_out_of_range);
            }
            break;
        case decimal::parse_error::malformed:
            if (text.empty()) REQUIRE(std::holds_alternative<posd::model::activity_record>(d)); // absent
            else REQUIRE(rejected(r).reason == reason::bad_field);
            break;
        case decimal::parse_error::too_precise:
        case decimal::parse_error::out_of_range: REQUIRE(rejected(r).reason == reason::number_out_of_range); break;
        }
    }
}
