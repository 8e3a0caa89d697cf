// The output vocabulary: routing of activity records, topics and topic
// specs, and the one event→message encoder.

#include "outputs/encode.h"
#include "outputs/routing.h"
#include "outputs/topics.h"

#include "codec/decoder.h"
#include "codec/json_encode.h"
#include "store/partitioner.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

using namespace posd;

namespace {

const std::string activity_json =
    R"({"activityId":"A-1","eventTime":"2024-03-04T13:30:00.000Z","maxxKeyCode":"MEMO","firm":"MXBK",)"
    R"("ledger":"01","branch":"113","base":"32640611","subAcctKey":"1","acctCategory":"RETL","rr":"R103",)"
    R"("usCitizenship":"Y","nyResident":"N","paper":"C","quantity":"0","amount":"57478.98","currency":"USD",)"
    R"("tradeDate":"2024-03-04","settleDate":"2024-03-04","bondRedeemSw":"N","acctTransferredSw":"N",)"
    R"("reverseSplitSw":"N"})";

model::decoded_record decode(const std::string& json) {
    codec::decoder d;
    return d.decode(json, codec::content_type::json);
}

} // namespace

TEST_CASE("partition_check: an activity record is applied only on its key's murmur2 partition") {
    const model::decoded_record d = decode(activity_json);
    const auto* a = std::get_if<model::activity_record>(&d);
    REQUIRE(a);
    const std::string key = a->account().value();
    const std::int32_t partitions = 8;
    const std::int32_t expected = store::kafka_partition_for_key(key, partitions);
    CHECK_FALSE(outputs::partition_check(d, key, expected, partitions));
    for (std::int32_t p = 0; p < partitions; ++p) {
        if (p == expected) continue;
        const auto r = outputs::partition_check(d, key, p, partitions);
        REQUIRE(r);
        CHECK(r->reason == model::reason::wrong_partition);
        CHECK(r->message.find("belongs to partition " + std::to_string(expected) + " of 8") != std::string::npos);
        CHECK(r->message.find("not " + std::to_string(p)) != std::string::npos);
    }
    // A key that is not the account's is the engine's KEY_MISMATCH, not routing's.
    CHECK_FALSE(outputs::partition_check(d, "someone else", (expected + 1) % partitions, partitions));
    // Control records go everywhere; undecodable records keep their reject.
    const model::decoded_record eod = decode(R"({"type":"control","action":"END_OF_DAY","businessDate":"2024-03-04"})");
    REQUIRE(std::holds_alternative<model::control_record>(eod));
    CHECK_FALSE(outputs::partition_check(eod, "", 3, partitions));
    CHECK_FALSE(outputs::partition_check(decode("{"), "", 3, partitions));
}

TEST_CASE("activity_partitions: END_OF_DAY to every partition, an activity to its key's") {
    const auto eod = outputs::activity_partitions(
        decode(R"({"type":"control","action":"END_OF_DAY","businessDate":"2024-03-04"})"), 4);
    CHECK(eod == std::vector<std::int32_t>{0, 1, 2, 3});
    CHECK(outputs::activity_partitions(decode(activity_json), 4) == std::vector<std::int32_t>{-1});
}

TEST_CASE("topic_specs: every topic once, the changelog and the reference topics compacted") {
    outputs::topic_names t;
    t.activity = "in";
    t.changelog = "cl";
    outputs::reference_topics r;
    r.fx_rates = "fx";
    const auto specs = outputs::topic_specs(t, r, 6, 3);
    std::set<std::string> names;
    for (const auto& s : specs) {
        names.insert(s.name);
        CHECK(s.partitions == 6);
        CHECK(s.replication_factor == 3);
        const bool compacted = s.config.contains("cleanup.policy") && s.config.at("cleanup.policy") == "compact";
        const bool should = s.name == "cl" || s.name == "fx" || s.name == r.prices || s.name == r.securities ||
                            s.name == r.products || s.name == r.margin_rules || s.name == r.bookkeeping_rules;
        CHECK(compacted == should);
    }
    CHECK(names.size() == specs.size());
    CHECK(specs.size() == 12);
    CHECK(names.contains("in"));
    CHECK(names.contains(t.position_updated));
    CHECK(names.contains(t.dead_letter));
}

TEST_CASE("encode: each event to its topic, keyed by its entity, and a dead letter keeps the content type") {
    outputs::topic_names t;
    t.margin_updated = "margins";
    t.dead_letter = "dlq";

    model::margin_updated m;
    m.balance.firm = "MXBK";
    m.balance.ledger = "01";
    m.balance.branch = "113";
    m.balance.base = "32640611";
    const model::output_event me = m;
    const stream::kafka_message mm = outputs::encode(me, t);
    CHECK(mm.topic == "margins");
    CHECK(mm.key == codec::event_key(me));
    CHECK(mm.key.starts_with("MXBK|01|113|32640611"));
    std::string json;
    codec::encode_json(m, json);
    CHECK(mm.value == json);
    CHECK(mm.headers.empty());

    model::dead_letter d;
    d.key = "k";
    d.value = "not json";
    d.reject = model::reject{model::reason::malformed, "", "bad"};
    const stream::kafka_message dm = outputs::encode(model::output_event{d}, t, std::string("application/x-protobuf"));
    CHECK(dm.topic == "dlq");
    CHECK(dm.key == "k");
    CHECK(dm.value == "not json");
    const auto has = [&](const std::string& name, const std::string& value) {
        return std::find(dm.headers.begin(), dm.headers.end(), std::pair{name, value}) != dm.headers.end();
    };
    CHECK(has("content-type", "application/x-protobuf"));
    CHECK(has("reason", "MALFORMED"));
}
