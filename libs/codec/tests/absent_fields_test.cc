// Realistic feeds (issue 9, item 4) and the date range (item 8), field by
// field: for every field of every input record type, in JSON and protobuf,
// "" and null mean exactly what leaving the field out means — a required
// field is then MISSING_FIELD naming it, an optional one takes its default —
// and every date and time outside base/date.h's range is DATE_OUT_OF_RANGE
// naming the field (libs/codec/README.md, "Empty and null fields" and
// "Dates").

#include "codec/json_decode.h"
#include "codec/json_encode.h"
#include "codec/protobuf.h"

#include "posd.pb.h"

#include "test_support.h"

#include <catch2/catch.hpp>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace posd;
namespace pb = google::protobuf;

// A record as (wire name, JSON value literal) pairs, in wire order.
using fields = std::vector<std::pair<std::string, std::string>>;

// Every field of an activity record, each with a valid value.
const fields full_activity = {
    {"type", R"("activity")"},
    {"activityId", R"("A-1")"},
    {"eventTime", R"("2026-03-02T14:30:00.125Z")"},
    {"maxxKeyCode", R"("BUY")"},
    {"firm", R"("ABCD")"},
    {"ledger", R"("01")"},
    {"branch", R"("123")"},
    {"base", R"("45678")"},
    {"subAcctKey", R"("1")"},
    {"acctCategory", R"("RETL")"},
    {"rr", R"("R1")"},
    {"usCitizenship", R"("Y")"},
    {"nyResident", R"("N")"},
    {"paper", R"("M")"},
    {"intracctEligibleType", R"("J")"},
    {"intracctMinAmt", R"("10.5")"},
    {"accountClosedDate", R"("2027-01-04")"},
    {"cusip", R"("037833100")"},
    {"productLine", R"("EQ")"},
    {"quantity", R"("10")"},
    {"amount", R"("-1000.25")"},
    {"price", R"("100.025")"},
    {"currency", R"("EUR")"},
    {"tradeDate", R"("2026-03-02")"},
    {"settleDate", R"("2026-03-04")"},
    {"bondRedeemSw", R"("Y")"},
    {"acctTransferredSw", "true"},
    {"reverseSplitSw", R"("Y")"},
};
const std::set<std::string> activity_required = {"activityId", "maxxKeyCode", "firm", "ledger", "branch", "base"};

const fields full_control = {
    {"type", R"("control")"},
    {"action", R"("END_OF_DAY")"},
    {"businessDate", R"("2026-03-02")"},
};
const std::set<std::string> control_required = {"action", "businessDate"};

std::string json_of(const fields& f) {
    std::string out = "{";
    for (const auto& [name, value] : f) {
        if (out.size() > 1) out += ',';
        out += '"' + name + "\":" + value;
    }
    return out + '}';
}

// `f` with field `name` replaced by `value`, or left out when `value` is
// empty.
fields with(fields f, std::string_view name, std::string_view value) {
    for (auto it = f.begin(); it != f.end(); ++it) {
        if (it->first != name) continue;
        if (value.empty()) f.erase(it);
        else it->second = value;
        return f;
    }
    FAIL("no field " << name);
    return f;
}

// What a decoder made of a record, as comparable text: the reject's reason
// and field, or the accepted record re-encoded (the encoders write every
// field).
std::string outcome(const model::reject& r) {
    return "REJECT " + std::string(model::reason_code(r.reason)) + " " + r.field;
}

std::string outcome(const model::decoded_record& d) {
    if (const auto* r = std::get_if<model::reject>(&d)) return outcome(*r);
    std::string out;
    if (const auto* c = std::get_if<model::control_record>(&d)) codec::encode_control_json(*c, out);
    else codec::encode_activity_json(std::get<model::activity_record>(d), out);
    return out;
}

template <typename T>
std::string outcome(const std::variant<T, model::reject>& d) {
    if (const auto* r = std::get_if<model::reject>(&d)) return outcome(*r);
    std::string out;
    codec::encode_json(std::get<T>(d), out);
    return out;
}

bool is_reject(std::string_view outcome_text) { return outcome_text.starts_with("REJECT "); }

// Goes over every field of `full`: with the field left out, set to "" and
// set to null, `decode` must give one and the same outcome, which is
// MISSING_FIELD naming the field when it is required and an accepted record
// otherwise (unless `absent_rejects` names the field: leaving it out is
// itself a reject, e.g. a control record without its type).
template <typename Decode>
void check_empty_is_absent(const fields& full, const std::set<std::string>& required, Decode decode,
                           const std::set<std::string>& absent_rejects = {}) {
    const std::string whole = decode(json_of(full));
    INFO("the full record: " << whole);
    REQUIRE_FALSE(is_reject(whole));
    for (const auto& [name, value] : full) {
        INFO("field " << name);
        const std::string absent = decode(json_of(with(full, name, "")));
        CHECK(decode(json_of(with(full, name, R"("")"))) == absent);
        CHECK(decode(json_of(with(full, name, "null"))) == absent);
        if (required.contains(name)) CHECK(absent == "REJECT MISSING_FIELD " + name);
        else if (!absent_rejects.contains(name)) CHECK_FALSE(is_reject(absent));
    }
}

// --- protobuf: the same records as messages ------------------------------------

// Sets every field of `m` that `f` names (by its JSON name) from the JSON
// literal: strings without their quotes, switches as bools.
void fill(pb::Message& m, const fields& f) {
    const pb::Descriptor* d = m.GetDescriptor();
    const pb::Reflection* r = m.GetReflection();
    for (const auto& [name, value] : f) {
        const pb::FieldDescriptor* field = nullptr;
        for (int i = 0; i < d->field_count() && field == nullptr; ++i)
            if (d->field(i)->json_name() == name) field = d->field(i);
        if (field == nullptr && name == "type") continue; // an ActivityRecord's type is the oneof
        REQUIRE(field != nullptr);
        if (field->type() == pb::FieldDescriptor::TYPE_BOOL) {
            r->SetBool(&m, field, value == "true" || value == R"("Y")");
        } else {
            REQUIRE(field->type() == pb::FieldDescriptor::TYPE_STRING);
            REQUIRE(value.size() >= 2);
            r->SetString(&m, field, value.substr(1, value.size() - 2));
        }
    }
}

std::string decode_protobuf(const v1::InputRecord& m) {
    std::string bytes;
    REQUIRE(m.SerializeToString(&bytes));
    return outcome(codec::decode_activity_protobuf(bytes));
}

// Protobuf has no null: for every string field, the field set to "" must
// decode as the field not set, and as the JSON record without it.
template <typename Message>
void check_protobuf_empty_is_absent(const fields& full, const std::set<std::string>& required,
                                    Message* (v1::InputRecord::*mutable_part)()) {
    codec::json_decoder json;
    v1::InputRecord whole;
    fill(*(whole.*mutable_part)(), full);
    REQUIRE_FALSE(is_reject(decode_protobuf(whole)));
    const pb::Descriptor* d = Message::descriptor();
    for (int i = 0; i < d->field_count(); ++i) {
        const pb::FieldDescriptor* field = d->field(i);
        if (field->type() != pb::FieldDescriptor::TYPE_STRING) continue; // bools cannot be empty
        INFO("field " << field->json_name());
        v1::InputRecord absent = whole;
        (absent.*mutable_part)()->GetReflection()->ClearField((absent.*mutable_part)(), field);
        v1::InputRecord empty = whole;
        (empty.*mutable_part)()->GetReflection()->SetString((empty.*mutable_part)(), field, "");
        const std::string absent_outcome = decode_protobuf(absent);
        CHECK(decode_protobuf(empty) == absent_outcome);
        if (required.contains(field->json_name()))
            CHECK(absent_outcome == "REJECT MISSING_FIELD " + field->json_name());
        // ... and a JSON record without the field decodes the same, unless
        // the field is a control record's type (the protobuf oneof says
        // "control" by itself; JSON needs the type).
        if (field->json_name() != "type" || full != full_control)
            CHECK(absent_outcome == outcome(json.decode_activity(json_of(with(full, field->json_name(), "")))));
    }
}

} // namespace

TEST_CASE("activity records: every field empty or null means absent, in JSON") {
    codec::json_decoder d;
    check_empty_is_absent(full_activity, activity_required,
                          [&](const std::string& json) { return outcome(d.decode_activity(json)); });
}

TEST_CASE("control records: every field empty or null means absent, in JSON") {
    codec::json_decoder d;
    // Without its type, a record is an activity record (and then misses its
    // activityId).
    check_empty_is_absent(full_control, control_required,
                          [&](const std::string& json) { return outcome(d.decode_activity(json)); }, {"type"});
    CHECK(outcome(d.decode_activity(json_of(with(full_control, "type", "")))) == "REJECT MISSING_FIELD activityId");
}

TEST_CASE("activity and control records: every string field empty means absent, in protobuf") {
    check_protobuf_empty_is_absent<v1::ActivityRecord>(full_activity, activity_required,
                                                       &v1::InputRecord::mutable_activity);
    check_protobuf_empty_is_absent<v1::ControlRecord>(full_control, control_required,
                                                      &v1::InputRecord::mutable_control);
    // A control message with an empty type is a control record, as one
    // without a type.
    v1::InputRecord m;
    fill(*m.mutable_control(), with(full_control, "type", R"("")"));
    CHECK(decode_protobuf(m) == outcome(model::decoded_record{
                                    model::control_record{model::control_action::end_of_day, *date::parse("2026-03-02")}}));
}

TEST_CASE("reference records: every field empty or null means absent, in JSON") {
    codec::json_decoder d;
    SECTION("bookkeeping rules") {
        check_empty_is_absent(
            {{"maxxKeyCode", R"("BUY")"}, {"shortDesc", R"("Buy")"}, {"longDesc", R"("Buy securities")"},
             {"updTdBalSw", R"("Y")"}, {"updSdBalSw", "true"}, {"adjSmaSw", R"("Y")"}, {"updTdQtySw", R"("Y")"},
             {"updSdQtySw", R"("Y")"}},
            {"maxxKeyCode"}, [&](const std::string& json) { return outcome(d.decode_bookkeeping_rule(json)); });
    }
    SECTION("products") {
        check_empty_is_absent(
            {{"prodline", R"("BOND")"}, {"descShort", R"("Bonds")"}, {"factor", R"("0.01")"},
             {"defaultPriceForMgn", "95.5"}, {"fractionsAllowedSw", R"("Y")"}, {"marginableFlag", R"("N")"},
             {"contributesToEquitySw", "false"}, {"extRuleFlag", R"("B")"}},
            {"prodline"}, [&](const std::string& json) { return outcome(d.decode_product(json)); });
    }
    SECTION("securities") {
        check_empty_is_absent(
            {{"cusip", R"("037833100")"}, {"uls", R"("AAPL")"}, {"productLine", R"("OPT")"},
             {"strikePrice", R"("180")"}, {"contractSize", "100"}, {"expOrMaturityDate", R"("2026-06-19")"}},
            {"cusip"}, [&](const std::string& json) { return outcome(d.decode_security(json)); });
    }
    SECTION("prices") {
        check_empty_is_absent({{"cusip", R"("037833100")"}, {"price", R"("180.25")"}, {"prevPrice", "179.5"},
                               {"asOf", R"("2026-03-02T21:00:00Z")"}},
                              {"cusip", "price"}, [&](const std::string& json) { return outcome(d.decode_price(json)); });
    }
    SECTION("margin rules") {
        check_empty_is_absent({{"nyrsMgnRule", R"("RETL")"}, {"nyrsMgnSeq", "2"}, {"nyrsLevel", R"("0.25")"},
                               {"nyrsAction", "0.5"}},
                              {"nyrsMgnRule", "nyrsMgnSeq", "nyrsLevel", "nyrsAction"},
                              [&](const std::string& json) { return outcome(d.decode_margin_rule(json)); });
    }
}

// --- dates ----------------------------------------------------------------------

namespace {

struct date_case {
    std::string value;    // a JSON literal
    std::string expected; // "" = accepted, else the reason code
};

// Every date field takes these: the range's ends are accepted, the days just
// outside and far outside are DATE_OUT_OF_RANGE, and a text that is no date
// at all stays BAD_FIELD.
const std::vector<date_case> date_cases = {
    {R"("1900-01-01")", ""},
    {R"("2999-12-31")", ""},
    {R"("1899-12-31")", "DATE_OUT_OF_RANGE"},
    {R"("3000-01-01")", "DATE_OUT_OF_RANGE"},
    {R"("0001-01-01")", "DATE_OUT_OF_RANGE"},
    {R"("9999-12-31")", "DATE_OUT_OF_RANGE"},
    {R"("3000-02-30")", "BAD_FIELD"},
    {R"("10000-01-01")", "BAD_FIELD"},
    {R"("2026-13-01")", "BAD_FIELD"},
};

const std::vector<date_case> time_cases = {
    {R"("1900-01-01T00:00:00Z")", ""},
    {R"("2999-12-31T23:59:59.999Z")", ""},
    {"-2208988800000", ""},  // 1900-01-01T00:00:00Z
    {"32503679999999", ""},  // 2999-12-31T23:59:59.999Z
    {R"("1899-12-31T23:59:59.999Z")", "DATE_OUT_OF_RANGE"},
    {R"("3000-01-01T00:00:00Z")", "DATE_OUT_OF_RANGE"},
    {R"("2999-12-31T23:30:00-01:00")", "DATE_OUT_OF_RANGE"}, // 3000-01-01T00:30Z
    {R"("1900-01-01T00:30:00+01:00")", "DATE_OUT_OF_RANGE"}, // 1899-12-31T23:30Z
    {R"("9999-12-31")", "DATE_OUT_OF_RANGE"},
    {"32503680000000", "DATE_OUT_OF_RANGE"},
    {"-2208988800001", "DATE_OUT_OF_RANGE"},
    {R"("-2208988800001")", "DATE_OUT_OF_RANGE"},
    {"99999999999999999999", "NUMBER_OUT_OF_RANGE"}, // beyond 64 bits
    {R"("3000-01-01T25:00:00Z")", "BAD_FIELD"},
    {R"("yesterday")", "BAD_FIELD"},
};

std::string expected_outcome(const date_case& c, const std::string& field, const std::string& accepted) {
    return c.expected.empty() ? accepted : "REJECT " + c.expected + " " + field;
}

// The JSON value of a date case as the protobuf string (numbers as their
// digits).
std::string unquoted(const std::string& literal) {
    return literal.starts_with('"') ? literal.substr(1, literal.size() - 2) : literal;
}

} // namespace

TEST_CASE("every date and time of an activity or control record is checked against the range, JSON and protobuf") {
    codec::json_decoder d;
    // settleDate after tradeDate whatever the case, so that the range is
    // what decides.
    const fields activity = with(with(full_activity, "tradeDate", R"("1900-01-01")"), "accountClosedDate", "");
    for (const std::string field : {"tradeDate", "settleDate", "accountClosedDate", "eventTime", "businessDate"}) {
        const bool control = field == "businessDate";
        const bool time = field == "eventTime";
        const fields& base = control ? full_control : activity;
        for (const date_case& c : time ? time_cases : date_cases) {
            if (field == "tradeDate" && c.expected.empty() && c.value != R"("1900-01-01")") continue; // after settleDate
            INFO(field << " = " << c.value);
            const fields f = field == "accountClosedDate" ? base : with(base, field, "");
            fields record = f;
            record.emplace_back(field, c.value);
            const std::string json_outcome = outcome(d.decode_activity(json_of(record)));
            if (c.expected.empty()) CHECK_FALSE(is_reject(json_outcome));
            else CHECK(json_outcome == "REJECT " + c.expected + " " + field);
            // Protobuf: the same field as a string.
            fields as_text = f;
            as_text.emplace_back(field, '"' + unquoted(c.value) + '"');
            v1::InputRecord m;
            if (control) fill(*m.mutable_control(), as_text);
            else fill(*m.mutable_activity(), as_text);
            CHECK(decode_protobuf(m) == json_outcome);
        }
    }
}

TEST_CASE("every date and time of a reference record is checked against the range") {
    codec::json_decoder d;
    for (const date_case& c : date_cases) {
        INFO("expOrMaturityDate = " << c.value);
        const std::string out =
            outcome(d.decode_security(R"({"cusip":"037833100","expOrMaturityDate":)" + c.value + "}"));
        CHECK(out == expected_outcome(c, "expOrMaturityDate", out));
        if (c.expected.empty()) CHECK_FALSE(is_reject(out));
    }
    for (const date_case& c : time_cases) {
        INFO("asOf = " << c.value);
        const std::string out = outcome(d.decode_price(R"({"cusip":"037833100","price":1,"asOf":)" + c.value + "}"));
        CHECK(out == expected_outcome(c, "asOf", out));
        if (c.expected.empty()) CHECK_FALSE(is_reject(out));
    }
}
