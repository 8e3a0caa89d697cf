// json_decoder and decoder: JSON syntax and types, exact numbers, nulls,
// duplicates, unknown fields, encodings, sizes, reference data, and the
// content-type dispatch. Field value rules are in activity_fields_test.cc.

#include "codec/decoder.h"
#include "codec/json_decode.h"
#include "codec/json_encode.h"
#include "codec/protobuf.h"

#include "base/limits.h"

#include "test_support.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace {

using posd::codec::content_type;
using posd::codec::json_decoder;

const std::string required_fields =
    R"("activityId":"A-1","maxxKeyCode":"BUY","firm":"ABCD","ledger":"01","branch":"123","base":"45678")";

// A valid record with `extra` (",\"name\":value...") appended to its fields.
std::string record(std::string_view extra = {}) {
    return "{" + required_fields + std::string(extra) + "}";
}

posd::model::activity_record activity(const posd::model::decoded_record& d) {
    if (const auto* rej = std::get_if<posd::model::reject>(&d))
        FAIL("rejected " << posd::model::reason_code(rej->reason) << " field '" << rej->field << "': " << rej->message);
    REQUIRE(std::holds_alternative<posd::model::activity_record>(d));
    return std::get<posd::model::activity_record>(d);
}

template <typename Variant>
posd::model::reject rejected(const Variant& d) {
    REQUIRE(std::holds_alternative<posd::model::reject>(d));
    return std::get<posd::model::reject>(d);
}

template <typename Variant>
void check_reject(const Variant& d, reason expected, std::string_view field) {
    auto rej = rejected(d);
    INFO("message: " << rej.message);
    CHECK(posd::model::reason_code(rej.reason) == posd::model::reason_code(expected));
    CHECK(rej.field == field);
    CHECK_FALSE(rej.message.empty());
}

template <typename T, typename Variant>
T accepted(const Variant& d) {
    if (const auto* rej = std::get_if<posd::model::reject>(&d))
        FAIL("rejected " << posd::model::reason_code(rej->reason) << " field '" << rej->field << "': " << rej->message);
    return std::get<T>(d);
}

decimal dec(std::string_view text) { return *decimal::parse(text); }

} // namespace

TEST_CASE("simdjson runs its haswell kernel, not the scalar fallback") {
    INFO("compiled " << json_decoder::compiled_implementation() << ", active "
                     << json_decoder::active_implementation());
    CHECK(json_decoder::compiled_implementation() == "haswell");
    CHECK(json_decoder::active_implementation() != "fallback");
}

TEST_CASE("a full JSON activity record") {
    json_decoder d;
    const std::string json = R"({
        "type": "activity",
        "activityId": "7f0c2a9e-5b1d-4c3e-9a8f-0d1e2f3a4b5c",
        "eventTime": "2026-03-02T14:30:00.125Z",
        "maxxKeyCode": "BUY",
        "firm": "ABCD", "ledger": "01", "branch": "123", "base": "45672",
        "subAcctKey": "1", "acctCategory": "RETL", "rr": "R01",
        "usCitizenship": "Y", "nyResident": "N", "paper": "MOS",
        "intracctEligibleType": "", "intracctMinAmt": 0,
        "accountClosedDate": null,
        "cusip": "037833100", "productLine": "EQ",
        "quantity": 150, "amount": "-27045.75", "price": 180.305, "currency": "USD",
        "tradeDate": "2026-03-02", "settleDate": "2026-03-03",
        "bondRedeemSw": false, "acctTransferredSw": "N", "reverseSplitSw": true
    })";
    auto rec = activity(d.decode_activity(json));
    CHECK(rec.activity_id == "7f0c2a9e-5b1d-4c3e-9a8f-0d1e2f3a4b5c");
    CHECK(rec.event_time->to_string() == "2026-03-02T14:30:00.125Z");
    CHECK(rec.position().value() == "ABCD|01|123|45672|1|037833100");
    CHECK(rec.acct_category == "RETL");
    CHECK(rec.intracct_eligible_type.empty());
    CHECK(*rec.intracct_min_amt == decimal{});
    CHECK_FALSE(rec.account_closed_date.has_value());
    CHECK(rec.quantity == decimal::from_units(150));
    CHECK(rec.amount == dec("-27045.75"));
    CHECK(*rec.price == dec("180.305"));
    CHECK(rec.settle_date->to_string() == "2026-03-03");
    CHECK_FALSE(rec.bond_redeem_sw);
    CHECK_FALSE(rec.acct_transferred_sw);
    CHECK(rec.reverse_split_sw);
}

TEST_CASE("numbers as JSON strings and JSON numbers are both exact") {
    json_decoder d;
    CHECK(activity(d.decode_activity(record(R"(,"quantity":"0.1")"))).quantity == decimal::from_scaled(1, 1));
    CHECK(activity(d.decode_activity(record(R"(,"quantity":0.1)"))).quantity == decimal::from_scaled(1, 1));
    CHECK(activity(d.decode_activity(record(R"(,"quantity":1e2)"))).quantity == decimal::from_units(100));
    CHECK(activity(d.decode_activity(record(R"(,"quantity":1E+2 )"))).quantity == decimal::from_units(100));
    CHECK(activity(d.decode_activity(record(R"(,"quantity":"1e2")"))).quantity == decimal::from_units(100));
    CHECK(activity(d.decode_activity(record(R"(,"amount":-0)"))).amount == decimal{});
    CHECK(activity(d.decode_activity(record(R"(,"amount":12345678901234.123456789)"))).amount ==
          dec("12345678901234.123456789"));
    // Never through double: a double would round this to 0.3 and accept it.
    CHECK(rejected(d.decode_activity(record(R"(,"amount":0.30000000000000004)"))).reason == reason::number_out_of_range);
    CHECK(activity(d.decode_activity(record(R"(,"amount":999999999999999.999999999)"))).amount ==
          dec("999999999999999.999999999"));
    CHECK(activity(d.decode_activity(record(R"(,"price":  5e-9 ,"quantity":7)"))).price->raw() == 5);
    CHECK(activity(d.decode_activity(record("\n,\"price\"\t:\r\n 12.50\n\t"))).price == dec("12.5"));
}

TEST_CASE("numbers beyond the limits") {
    json_decoder d;
    check_reject(d.decode_activity(record(R"(,"quantity":1e400)")), reason::number_out_of_range, "quantity");
    check_reject(d.decode_activity(record(R"(,"quantity":-1e400)")), reason::number_out_of_range, "quantity");
    check_reject(d.decode_activity(record(R"(,"amount":123456789012345678901234567890)")),
                 reason::number_out_of_range, "amount");
    check_reject(d.decode_activity(record(R"(,"amount":"123456789012345678901234567890")")),
                 reason::number_out_of_range, "amount");
    check_reject(d.decode_activity(record(R"(,"price":0.0000000001)")), reason::number_out_of_range, "price");
    check_reject(d.decode_activity(record(R"(,"quantity":1e-400)")), reason::number_out_of_range, "quantity");
    check_reject(d.decode_activity(record(R"(,"quantity":1000000000001)")), reason::number_out_of_range, "quantity");
}

TEST_CASE("invalid JSON number literals are MALFORMED, bad number strings BAD_FIELD") {
    json_decoder d;
    for (const char* literal : {"01", "1.", "-", ".5", "+1", "1e", "1e+", "-01", "1.5.2", "0x10", "12abc", "1_000"}) {
        INFO(literal);
        check_reject(d.decode_activity(record(std::string(R"(,"quantity":)") + literal)), reason::malformed,
                     "quantity");
    }
    for (const char* text : {"01x", "1.", " 1", "abc"}) {
        INFO(text);
        check_reject(d.decode_activity(record(std::string(R"(,"quantity":")") + text + "\"")), reason::bad_field,
                     "quantity");
    }
    // Literals in unknown fields are checked too.
    check_reject(d.decode_activity(record(R"(,"extra":01)")), reason::malformed, "extra");
}

TEST_CASE("wrong JSON types are MALFORMED with the field name") {
    json_decoder d;
    struct example {
        const char* extra;
        const char* field;
    };
    for (const auto& e : std::vector<example>{
             {R"(,"cusip":37833100)", "cusip"},
             {R"(,"subAcctKey":1)", "subAcctKey"},
             {R"(,"currency":["USD"])", "currency"},
             {R"(,"tradeDate":{"y":2026})", "tradeDate"},
             {R"(,"acctCategory":true)", "acctCategory"},
             {R"(,"quantity":true)", "quantity"},
             {R"(,"amount":{"value":"1"})", "amount"},
             {R"(,"price":[1])", "price"},
             {R"(,"bondRedeemSw":1)", "bondRedeemSw"},
             {R"(,"reverseSplitSw":["Y"])", "reverseSplitSw"},
             {R"(,"eventTime":false)", "eventTime"},
             {R"(,"type":1)", "type"},
         }) {
        INFO(e.extra);
        check_reject(d.decode_activity(record(e.extra)), reason::malformed, e.field);
    }
    check_reject(d.decode_activity(R"({"activityId":1,"maxxKeyCode":"BUY"})"), reason::malformed, "activityId");
    check_reject(d.decode_activity(R"({"activityId":"A","maxxKeyCode":"BUY","firm":1234})"), reason::malformed, "firm");
}

TEST_CASE("switches accept true/false or strings, eventTime strings or integers") {
    json_decoder d;
    auto rec = activity(d.decode_activity(record(R"(,"bondRedeemSw":true,"acctTransferredSw":"Y","reverseSplitSw":false)")));
    CHECK(rec.bond_redeem_sw);
    CHECK(rec.acct_transferred_sw);
    CHECK_FALSE(rec.reverse_split_sw);
    check_reject(d.decode_activity(record(R"(,"bondRedeemSw":"true")")), reason::bad_field, "bondRedeemSw");
    check_reject(d.decode_activity(record(R"(,"bondRedeemSw":tru)")), reason::malformed, "bondRedeemSw");
    check_reject(d.decode_activity(record(R"(,"bondRedeemSw":trueish)")), reason::malformed, "bondRedeemSw");

    CHECK(activity(d.decode_activity(record(R"(,"eventTime":1772461800125)"))).event_time->ms == 1772461800125);
    CHECK(activity(d.decode_activity(record(R"(,"eventTime":"1772461800125")"))).event_time->ms == 1772461800125);
    CHECK(activity(d.decode_activity(record(R"(,"eventTime":-5)"))).event_time->ms == -5);
    check_reject(d.decode_activity(record(R"(,"eventTime":1.5)")), reason::bad_field, "eventTime");
    check_reject(d.decode_activity(record(R"(,"eventTime":1e3)")), reason::bad_field, "eventTime");
    check_reject(d.decode_activity(record(R"(,"eventTime":92233720368547758070)")), reason::number_out_of_range,
                 "eventTime");
}

TEST_CASE("JSON null means absent") {
    json_decoder d;
    auto rec = activity(d.decode_activity(record(
        R"(,"type":null,"cusip":null,"quantity":null,"price":null,"currency":null,"bondRedeemSw":null,"eventTime":null,"subAcctKey":null)")));
    CHECK(rec.cusip.empty());
    CHECK(rec.quantity == decimal{});
    CHECK_FALSE(rec.price.has_value());
    CHECK(rec.currency.empty()); // the account's base currency
    CHECK_FALSE(rec.bond_redeem_sw);
    CHECK_FALSE(rec.event_time.has_value());
    check_reject(d.decode_activity(R"({"activityId":null,"maxxKeyCode":"BUY"})"), reason::missing_field, "activityId");
    check_reject(d.decode_activity(R"({"activityId":"A","maxxKeyCode":"B","firm":"ABCD","ledger":"1","branch":"2","base":null})"),
                 reason::missing_field, "base");
    check_reject(d.decode_activity(record(R"(,"cusip":nul)")), reason::malformed, "cusip");
    check_reject(d.decode_activity(record(R"(,"cusip":nullx)")), reason::malformed, "cusip");
}

TEST_CASE("a known field twice is MALFORMED, even when one is null") {
    json_decoder d;
    check_reject(d.decode_activity(record(R"(,"firm":"WXYZ")")), reason::malformed, "firm");
    check_reject(d.decode_activity(record(R"(,"quantity":1,"quantity":1)")), reason::malformed, "quantity");
    check_reject(d.decode_activity(record(R"(,"cusip":null,"cusip":"037833100")")), reason::malformed, "cusip");
    // Escaped names are the same name.
    check_reject(d.decode_activity(record(R"(,"\u0066irm":"WXYZ")")), reason::malformed, "firm");
    // Unknown fields may repeat: they are ignored.
    activity(d.decode_activity(record(R"(,"note":1,"note":2)")));
}

TEST_CASE("unknown fields are ignored but must be valid JSON") {
    json_decoder d;
    auto rec = activity(d.decode_activity(record(
        R"(,"futureField":{"a":[1,2.5,-3e4,"x",true,false,null,{"b":{}}],"c":[]},"another":"x","n":null,"activityID":"other")")));
    CHECK(rec.activity_id == "A-1"); // names are case-sensitive

    check_reject(d.decode_activity(record(R"(,"extra":tru)")), reason::malformed, "extra");
    check_reject(d.decode_activity(record(R"(,"extra":[1 2])")), reason::malformed, "extra");
    check_reject(d.decode_activity(record(R"(,"extra":{"a" 1})")), reason::malformed, "extra");
    check_reject(d.decode_activity(record(R"(,"extra":"\x")")), reason::malformed, "extra");
    check_reject(d.decode_activity(record(R"(,"extra":"\ud800")")), reason::malformed, "extra");
    check_reject(d.decode_activity(record(R"(,"extra":{"k":nul})")), reason::malformed, "extra");
    check_reject(d.decode_activity(record(R"(,"ex tra":tru)")), reason::malformed, "");
}

TEST_CASE("nesting is bounded") {
    json_decoder d;
    auto nested = [](std::size_t levels) {
        return R"(,"extra":)" + std::string(levels, '[') + std::string(levels, ']');
    };
    // The record object is level 1, so a field may nest json_depth_max - 1 levels.
    activity(d.decode_activity(record(nested(posd::codec::json_depth_max - 1))));
    check_reject(d.decode_activity(record(nested(posd::codec::json_depth_max))), reason::malformed, "extra");
    check_reject(d.decode_activity(record(nested(20000))), reason::malformed, "extra");
    std::string objects = R"(,"extra":)";
    for (int i = 0; i < 5000; ++i) objects += R"({"a":)";
    objects += "1" + std::string(5000, '}');
    check_reject(d.decode_activity(record(objects)), reason::malformed, "extra");
    // Unbalanced: ends inside the nesting (the depth bound is met first).
    check_reject(d.decode_activity("{" + required_fields + R"(,"extra":)" + std::string(20000, '[') + "}"),
                 reason::malformed, "extra");
    check_reject(d.decode_activity("{" + required_fields + R"(,"extra":)" + std::string(10, '[') + "}"),
                 reason::malformed, "extra");
}

TEST_CASE("the top level is one JSON object") {
    json_decoder d;
    for (const std::string& bad : std::vector<std::string>{"", " ", "\n\t", "[]", "[" + record() + "]", "\"text\"", "42", "null", "true",
                                  record() + "x", record() + "{}", record() + "}", record() + record(), "{",
                                  "}", "{}}", record().substr(0, 40), record().substr(0, record().size() - 1),
                                  "{\"activityId\":\"A", "{\"activityId\"", "{\"activityId\":", "{,}",
                                  R"({"activityId":"A",})", R"({"activityId" "A"})", R"({"activityId":"A" "b":1})",
                                  R"({activityId:"A"})", "{'activityId':'A'}"}) {
        INFO(bad);
        check_reject(d.decode_activity(bad), reason::malformed, "");
    }
    // Whitespace around the object is fine.
    activity(d.decode_activity(" \n" + record() + "\r\n\t "));
    // The empty object lacks activityId.
    check_reject(d.decode_activity("{}"), reason::missing_field, "activityId");
}

TEST_CASE("invalid UTF-8 anywhere is INVALID_ENCODING") {
    json_decoder d;
    const std::vector<std::string> bad = {
        record(",\"acctCategory\":\"R\xff" "ETL\""),           // a known field
        record(",\"unknown\":\"\xc3\x28\""),                   // an unknown, skipped field
        record(",\"\xe2\x82\":1"),                             // a key
        record(",\"n\":[\"\xed\xa0\x80\"]"),                   // an encoded surrogate
        record(",\"n\":\"\xf4\x90\x80\x80\""),                 // beyond U+10FFFF
        record(",\"n\":\"\xc0\xaf\""),                         // overlong
        "{\"activityId\":\"\xff",                               // also truncated
        "\xef\xbb\xbf\xff" + record(),                          // garbage before the object
        record() + " \x80",                                     // after it
    };
    for (const auto& json : bad) {
        INFO(json);
        check_reject(d.decode_activity(json), reason::invalid_encoding, "");
    }
    // Valid multi-byte UTF-8 passes.
    CHECK(activity(d.decode_activity(record(",\"acctCategory\":\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"")))
              .acct_category == "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST_CASE("strings: escapes are decoded, raw control characters rejected") {
    json_decoder d;
    auto rec = activity(d.decode_activity(record(R"(,"acctCategory":"R\"E\\T\/L\n\t\u00e9\u20ac\ud83d\ude00","\u0073ubAcctKey":"S1")")));
    CHECK(rec.acct_category == "R\"E\\T/L\n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    CHECK(rec.sub_acct_key == "S1");
    check_reject(d.decode_activity(record(",\"acctCategory\":\"a\x01" "b\"")), reason::malformed, "");
    check_reject(d.decode_activity(record(",\"acctCategory\":\"a\nb\"")), reason::malformed, "");
    check_reject(d.decode_activity(record(R"(,"acctCategory":"\q")")), reason::malformed, "acctCategory");
    // An escaped '|' is still a key separator.
    check_reject(d.decode_activity(record(R"(,"subAcctKey":"\u007c")")), reason::bad_field, "subAcctKey");
}

TEST_CASE("record size limit") {
    json_decoder d;
    const std::string head = "{" + required_fields + R"(,"pad":")";
    std::string at_limit = head + std::string(posd::limits::record_bytes_max - head.size() - 2, 'p') + "\"}";
    REQUIRE(at_limit.size() == posd::limits::record_bytes_max);
    activity(d.decode_activity(at_limit));
    std::string over = head + std::string(posd::limits::record_bytes_max - head.size() - 1, 'p') + "\"}";
    check_reject(d.decode_activity(over), reason::record_too_large, "");
    // Too large wins over anything else, invalid UTF-8 included.
    check_reject(d.decode_activity(std::string(200 * 1024, '\xff')), reason::record_too_large, "");
    // Whitespace counts too.
    check_reject(d.decode_activity(record() + std::string(posd::limits::record_bytes_max, ' ')),
                 reason::record_too_large, "");
}

TEST_CASE("string fields beyond the field limit through JSON") {
    json_decoder d;
    std::string long_text(posd::limits::field_bytes_max + 1, 'x');
    check_reject(d.decode_activity(record(R"(,"rr":")" + long_text + "\"")), reason::field_too_long, "rr");
    // The limit applies to the decoded bytes: 6-byte escapes of 1 byte each fit.
    std::string escaped;
    for (std::size_t i = 0; i < posd::limits::field_bytes_max; ++i) escaped += "\\u0041";
    CHECK(activity(d.decode_activity(record(R"(,"rr":")" + escaped + "\""))).rr ==
          std::string(posd::limits::field_bytes_max, 'A'));
}

TEST_CASE("control records through JSON") {
    json_decoder d;
    auto c = d.decode_activity(R"({"type":"control","action":"END_OF_DAY","businessDate":"2026-03-02"})");
    REQUIRE(std::holds_alternative<posd::model::control_record>(c));
    CHECK(std::get<posd::model::control_record>(c).business_date.to_string() == "2026-03-02");
    check_reject(d.decode_activity(R"({"type":"control","action":"END_OF_DAY","businessDate":"2026-02-30"})"),
                 reason::bad_field, "businessDate");
    check_reject(d.decode_activity(R"({"type":"control","action":"PURGE","businessDate":"2026-03-02"})"),
                 reason::unknown_record_type, "action");
    check_reject(d.decode_activity(R"({"type":"control","businessDate":"2026-03-02"})"), reason::missing_field,
                 "action");
    check_reject(d.decode_activity(R"({"type":"heartbeat"})"), reason::unknown_record_type, "type");
    check_reject(d.decode_activity(R"({"type":"control","action":"END_OF_DAY","businessDate":20260302})"),
                 reason::malformed, "businessDate");
}

TEST_CASE("a decoder is reused, decoded records own their data") {
    json_decoder d;
    std::vector<posd::model::activity_record> records;
    for (int i = 0; i < 100; ++i) {
        std::string json = "{" + std::string(R"("activityId":"id-)") + std::to_string(i) +
                           R"(-with-a-long-enough-identifier","maxxKeyCode":"BUY","firm":"ABCD","ledger":"01","branch":"123","base":"4567)" +
                           std::to_string(i % 10) + R"(","quantity":)" + std::to_string(i) + "}";
        records.push_back(activity(d.decode_activity(json)));
        check_reject(d.decode_activity("{"), reason::malformed, ""); // errors leave the decoder usable
    }
    for (int i = 0; i < 100; ++i) {
        CHECK(records[static_cast<std::size_t>(i)].activity_id == "id-" + std::to_string(i) + "-with-a-long-enough-identifier");
        CHECK(records[static_cast<std::size_t>(i)].quantity == decimal::from_units(i));
    }
    json_decoder moved = std::move(d);
    activity(moved.decode_activity(record()));
}

TEST_CASE("bookkeeping rules") {
    json_decoder d;
    auto r = accepted<posd::model::bookkeeping_rule>(d.decode_bookkeeping_rule(
        R"({"maxxKeyCode":"BUY","shortDesc":"Buy","longDesc":"Purchase, regular way","updTdBalSw":"Y","updSdBalSw":true,"adjSmaSw":"N","updTdQtySw":"Y"})"));
    CHECK(r.maxx_key_code == "BUY");
    CHECK(r.short_desc == "Buy");
    CHECK(r.long_desc == "Purchase, regular way");
    CHECK(r.upd_td_bal_sw);
    CHECK(r.upd_sd_bal_sw);
    CHECK_FALSE(r.adj_sma_sw);
    CHECK(r.upd_td_qty_sw);
    CHECK_FALSE(r.upd_sd_qty_sw); // absent
    check_reject(d.decode_bookkeeping_rule(R"({"shortDesc":"Buy"})"), reason::missing_field, "maxxKeyCode");
    check_reject(d.decode_bookkeeping_rule(R"({"maxxKeyCode":""})"), reason::missing_field, "maxxKeyCode");
    check_reject(d.decode_bookkeeping_rule(R"({"maxxKeyCode":"B","adjSmaSw":"X"})"), reason::bad_field, "adjSmaSw");
    check_reject(d.decode_bookkeeping_rule(R"({"maxxKeyCode":"B","adjSmaSw":1})"), reason::malformed, "adjSmaSw");
    check_reject(d.decode_bookkeeping_rule(R"({"maxxKeyCode":"B","maxxKeyCode":"C"})"), reason::malformed,
                 "maxxKeyCode");
    check_reject(d.decode_bookkeeping_rule("[1]"), reason::malformed, "");
}

TEST_CASE("product definitions and their defaults") {
    json_decoder d;
    auto p = accepted<posd::model::product_definition>(d.decode_product(R"({"prodline":"EQ"})"));
    CHECK(p.prodline == "EQ");
    CHECK(p.factor == decimal::from_units(1));
    CHECK_FALSE(p.default_price_for_mgn.has_value());
    CHECK_FALSE(p.fractions_allowed_sw);
    CHECK(p.marginable_flag);
    CHECK(p.contributes_to_equity_sw);
    CHECK(p.ext_rule_flag.empty());

    p = accepted<posd::model::product_definition>(d.decode_product(
        R"({"prodline":"BD","descShort":"Bond","factor":0.01,"defaultPriceForMgn":"100","fractionsAllowedSw":"Y","marginableFlag":false,"contributesToEquitySw":"N","extRuleFlag":"P"})"));
    CHECK(p.factor == decimal::from_scaled(1, 2));
    CHECK(*p.default_price_for_mgn == decimal::from_units(100));
    CHECK(p.fractions_allowed_sw);
    CHECK_FALSE(p.marginable_flag);
    CHECK_FALSE(p.contributes_to_equity_sw);
    CHECK(p.ext_rule_flag == "P");

    check_reject(d.decode_product(R"({"descShort":"x"})"), reason::missing_field, "prodline");
    check_reject(d.decode_product(R"({"prodline":"EQ","factor":0})"), reason::bad_field, "factor");
    check_reject(d.decode_product(R"({"prodline":"EQ","factor":"-1"})"), reason::bad_field, "factor");
    check_reject(d.decode_product(R"({"prodline":"EQ","factor":1e300})"), reason::number_out_of_range, "factor");
    // Multipliers are capped (base/limits.h) so that valuation cannot overflow.
    CHECK(std::holds_alternative<posd::model::product_definition>(d.decode_product(R"({"prodline":"EQ","factor":100})")));
    check_reject(d.decode_product(R"({"prodline":"EQ","factor":100.000000001})"), reason::number_out_of_range, "factor");
    check_reject(d.decode_product(R"({"prodline":"EQ","defaultPriceForMgn":-1})"), reason::bad_field,
                 "defaultPriceForMgn");
    check_reject(d.decode_product(R"({"prodline":"EQ","marginableFlag":"yes"})"), reason::bad_field, "marginableFlag");
}

TEST_CASE("securities") {
    json_decoder d;
    auto s = accepted<posd::model::security>(d.decode_security(
        R"({"cusip":"037833100","uls":"","productLine":"EQ","strikePrice":null,"contractSize":100,"expOrMaturityDate":"2027-01-15"})"));
    CHECK(s.cusip == "037833100");
    CHECK(s.product_line == "EQ");
    CHECK_FALSE(s.strike_price.has_value());
    CHECK(*s.contract_size == decimal::from_units(100));
    CHECK(s.exp_or_maturity_date->to_string() == "2027-01-15");
    check_reject(d.decode_security(R"({"uls":"X"})"), reason::missing_field, "cusip");
    check_reject(d.decode_security(R"({"cusip":"037833101"})"), reason::bad_cusip_check_digit, "cusip");
    check_reject(d.decode_security(R"({"cusip":"AAPL"})"), reason::bad_field, "cusip");
    check_reject(d.decode_security(R"({"cusip":"037833100","contractSize":0})"), reason::bad_field, "contractSize");
    CHECK(std::holds_alternative<posd::model::security>(d.decode_security(R"({"cusip":"037833100","contractSize":10000})")));
    check_reject(d.decode_security(R"({"cusip":"037833100","contractSize":10001})"), reason::number_out_of_range,
                 "contractSize");
    check_reject(d.decode_security(R"({"cusip":"037833100","expOrMaturityDate":"2027-02-29"})"), reason::bad_field,
                 "expOrMaturityDate");
}

TEST_CASE("prices") {
    json_decoder d;
    auto p = accepted<posd::model::price>(
        d.decode_price(R"({"cusip":"037833100","price":"180.25","prevPrice":179.5,"asOf":"2026-03-02T21:00:00Z"})"));
    CHECK(p.price == dec("180.25"));
    CHECK(*p.prev_price == dec("179.5"));
    CHECK(p.as_of.to_string() == "2026-03-02T21:00:00.000Z");
    p = accepted<posd::model::price>(d.decode_price(R"({"cusip":"037833100","price":1,"asOf":1772485200000})"));
    CHECK(p.as_of.ms == 1772485200000);
    CHECK_FALSE(p.prev_price.has_value());
    p = accepted<posd::model::price>(d.decode_price(R"({"cusip":"037833100","price":1})"));
    CHECK(p.as_of.ms == 0); // no as-of time: the epoch
    check_reject(d.decode_price(R"({"cusip":"037833100"})"), reason::missing_field, "price");
    check_reject(d.decode_price(R"({"price":1})"), reason::missing_field, "cusip");
    check_reject(d.decode_price(R"({"cusip":"037833100","price":-1})"), reason::bad_field, "price");
    check_reject(d.decode_price(R"({"cusip":"037833100","price":100000001})"), reason::number_out_of_range, "price");
    check_reject(d.decode_price(R"({"cusip":"037833100","price":1,"asOf":"yesterday"})"), reason::bad_field, "asOf");
}

TEST_CASE("fx rates: exact decimals, currency codes checked, a rate into itself refused") {
    json_decoder d;
    auto r = accepted<posd::model::fx_rate>(
        d.decode_fx_rate(R"({"currency":"JPY","baseCurrency":"USD","rate":"0.0067","asOf":"2026-03-02T21:00:00Z"})"));
    CHECK(r.currency == "JPY");
    CHECK(r.base_currency == "USD");
    CHECK(r.rate == dec("0.0067"));
    CHECK(r.as_of.to_string() == "2026-03-02T21:00:00.000Z");
    // A JSON number is read as its exact decimal text, never through a double.
    r = accepted<posd::model::fx_rate>(d.decode_fx_rate(R"({"currency":"EUR","baseCurrency":"USD","rate":1.100000001})"));
    CHECK(r.rate == dec("1.100000001"));
    CHECK(r.as_of.ms == 0);
    check_reject(d.decode_fx_rate(R"({"baseCurrency":"USD","rate":1})"), reason::missing_field, "currency");
    check_reject(d.decode_fx_rate(R"({"currency":"EUR","rate":1})"), reason::missing_field, "baseCurrency");
    check_reject(d.decode_fx_rate(R"({"currency":"EUR","baseCurrency":"USD"})"), reason::missing_field, "rate");
    check_reject(d.decode_fx_rate(R"({"currency":"eur","baseCurrency":"USD","rate":1})"), reason::bad_field, "currency");
    check_reject(d.decode_fx_rate(R"({"currency":"EUR","baseCurrency":"US","rate":1})"), reason::bad_field,
                 "baseCurrency");
    check_reject(d.decode_fx_rate(R"({"currency":"USD","baseCurrency":"USD","rate":1})"), reason::bad_field,
                 "baseCurrency");
    check_reject(d.decode_fx_rate(R"({"currency":"EUR","baseCurrency":"USD","rate":0})"), reason::bad_field, "rate");
    check_reject(d.decode_fx_rate(R"({"currency":"EUR","baseCurrency":"USD","rate":-1.1})"), reason::bad_field, "rate");
    check_reject(d.decode_fx_rate(R"({"currency":"EUR","baseCurrency":"USD","rate":1000001})"),
                 reason::number_out_of_range, "rate");
    check_reject(d.decode_fx_rate(R"({"currency":"EUR","baseCurrency":"USD","rate":"0.0000000001"})"),
                 reason::number_out_of_range, "rate");
    check_reject(d.decode_fx_rate(R"({"currency":"EUR","baseCurrency":"USD","rate":1,"asOf":"soon"})"),
                 reason::bad_field, "asOf");
    check_reject(d.decode_fx_rate(R"({"currency":"EUR","baseCurrency":"USD","rate":1,"currency":"GBP"})"),
                 reason::malformed, "currency");
}

TEST_CASE("margin rules") {
    json_decoder d;
    auto m = accepted<posd::model::margin_rule>(
        d.decode_margin_rule(R"({"nyrsMgnRule":"RETL","nyrsMgnSeq":2,"nyrsLevel":"0.25","nyrsAction":0.5})"));
    CHECK(m.nyrs_mgn_rule == "RETL");
    CHECK(m.nyrs_mgn_seq == 2);
    CHECK(m.nyrs_level == dec("0.25"));
    CHECK(m.nyrs_action == dec("0.5"));
    CHECK(accepted<posd::model::margin_rule>(
              d.decode_margin_rule(R"({"nyrsMgnRule":"R","nyrsMgnSeq":"-7","nyrsLevel":0,"nyrsAction":1})"))
              .nyrs_mgn_seq == -7);
    check_reject(d.decode_margin_rule(R"({"nyrsMgnSeq":1,"nyrsLevel":0,"nyrsAction":0})"), reason::missing_field,
                 "nyrsMgnRule");
    check_reject(d.decode_margin_rule(R"({"nyrsMgnRule":"R","nyrsLevel":0,"nyrsAction":0})"), reason::missing_field,
                 "nyrsMgnSeq");
    check_reject(d.decode_margin_rule(R"({"nyrsMgnRule":"R","nyrsMgnSeq":1,"nyrsAction":0})"), reason::missing_field,
                 "nyrsLevel");
    check_reject(d.decode_margin_rule(R"({"nyrsMgnRule":"R","nyrsMgnSeq":1.5,"nyrsLevel":0,"nyrsAction":0})"),
                 reason::bad_field, "nyrsMgnSeq");
    check_reject(d.decode_margin_rule(R"({"nyrsMgnRule":"R","nyrsMgnSeq":2147483648,"nyrsLevel":0,"nyrsAction":0})"),
                 reason::number_out_of_range, "nyrsMgnSeq");
    check_reject(d.decode_margin_rule(R"({"nyrsMgnRule":"R","nyrsMgnSeq":1,"nyrsLevel":1.5,"nyrsAction":0})"),
                 reason::number_out_of_range, "nyrsLevel");
    check_reject(d.decode_margin_rule(R"({"nyrsMgnRule":"R","nyrsMgnSeq":1,"nyrsLevel":0,"nyrsAction":-0.1})"),
                 reason::bad_field, "nyrsAction");
}

// --- content type and the decoder ----------------------------------------------

TEST_CASE("content-type header values") {
    using posd::codec::content_type_from_header;
    CHECK(content_type_from_header(std::nullopt) == content_type::json);
    CHECK(content_type_from_header("") == content_type::json);
    CHECK(content_type_from_header("application/json") == content_type::json);
    CHECK(content_type_from_header("application/json; charset=utf-8") == content_type::json);
    CHECK(content_type_from_header("Application/JSON;charset=\"UTF-8\"") == content_type::json);
    CHECK(content_type_from_header("json") == content_type::json);
    CHECK(content_type_from_header("application/json; charset=latin1") == content_type::unsupported);
    CHECK(content_type_from_header("application/x-protobuf") == content_type::protobuf);
    CHECK(content_type_from_header("application/protobuf") == content_type::protobuf);
    CHECK(content_type_from_header("application/vnd.google.protobuf") == content_type::protobuf);
    CHECK(content_type_from_header("application/x-protobuf; messageType=posd.v1.InputRecord") ==
          content_type::protobuf);
    CHECK(content_type_from_header("text/plain") == content_type::unsupported);
    CHECK(content_type_from_header("application/avro") == content_type::unsupported);
    CHECK(content_type_from_header("application/jsonx") == content_type::unsupported);
}

TEST_CASE("decoder dispatches on the content type") {
    posd::codec::decoder dec;
    CHECK(activity(dec.decode(record(), content_type::json)).activity_id == "A-1");
    check_reject(dec.decode(record(), content_type::unsupported), reason::unsupported_content_type, "");
    check_reject(dec.decode(std::string(posd::limits::record_bytes_max + 1, ' '), content_type::protobuf),
                 reason::record_too_large, "");

    auto rec = activity(dec.decode(record(R"(,"cusip":"037833100","quantity":"12.5")"), content_type::json));
    std::string proto = posd::codec::encode_activity_protobuf(rec);
    auto back = activity(dec.decode(proto, content_type::protobuf));
    CHECK(back.activity_id == rec.activity_id);
    CHECK(back.cusip == rec.cusip);
    CHECK(back.quantity == rec.quantity);
    CHECK(std::holds_alternative<posd::model::reject>(dec.decode(record(), content_type::protobuf)));
}

// ---------------------------------------------------------------------------
// JSON whitespace between tokens changes nothing; other control characters
// are malformed.

namespace {

// What a decode gave, as text, so that two results compare whole.
std::string outcome(const posd::model::decoded_record& d) {
    std::string out;
    if (const auto* rej = std::get_if<posd::model::reject>(&d)) {
        out = "reject " + std::string(posd::model::reason_code(rej->reason)) + " '" + rej->field + "' " + rej->message;
    } else if (const auto* c = std::get_if<posd::model::control_record>(&d)) {
        posd::codec::encode_control_json(*c, out);
    } else {
        posd::codec::encode_activity_json(std::get<posd::model::activity_record>(d), out);
    }
    return out;
}

} // namespace

TEST_CASE("whitespace between the tokens of a record") {
    json_decoder d;
    const std::string expected = outcome(d.decode_activity(record(R"(,"quantity":12,"bondRedeemSw":true)")));
    for (const char* space : {" ", "\t", "\n", "\r\n", " \t \n "}) {
        const std::string s = space;
        const std::string json = "{" + s + R"("activityId")" + s + ":" + s + R"("A-1")" + s + "," + s +
                                 R"("maxxKeyCode":"BUY","firm":"ABCD","ledger":"01","branch":"123","base":"45678",)" +
                                 R"("quantity")" + s + ":" + s + "12" + s + "," + s + R"("bondRedeemSw":true)" + s +
                                 "}" + s;
        INFO(json);
        CHECK(outcome(d.decode_activity(json)) == expected);
    }
    // Other control characters are not JSON whitespace.
    check_reject(d.decode_activity(record(R"(,"quantity":12)") + "\v"), reason::malformed, "");
    check_reject(d.decode_activity("{\f" + record().substr(1)), reason::malformed, "");
    check_reject(d.decode_activity(record(",\"quantity\":12\v")), reason::malformed, "quantity");
}
