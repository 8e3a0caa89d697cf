#pragma once
// The contract of a decoded `activity` record, shared by the JSON and
// protobuf fuzz targets: a reject is well formed (contract.h); a record,
// re-encoded as JSON, decodes to a record whose JSON is the same bytes, and
// its protobuf encoding decodes to that record too.

#include "codec/decoder.h"
#include "codec/json_encode.h"
#include "codec/protobuf.h"
#include "contract.h"

#include <string>
#include <type_traits>
#include <variant>

namespace posd::fuzz {

// The record's JSON (the canonical form used to compare records: the model
// types have no operator==).
inline std::string canonical_json(const model::decoded_record& decoded) {
    std::string out;
    if (auto* a = std::get_if<model::activity_record>(&decoded)) codec::encode_activity_json(*a, out);
    if (auto* c = std::get_if<model::control_record>(&decoded)) codec::encode_control_json(*c, out);
    return out;
}

inline void check_same_record(const model::decoded_record& again, const std::string& json, std::string_view via) {
    if (auto* r = std::get_if<model::reject>(&again))
        contract_broken(via, std::string(model::reason_code(r->reason)) + " " + r->field + ": " + r->message);
    check(canonical_json(again) == json, via, json);
}

inline void check_activity_contract(codec::decoder& decoder, const model::decoded_record& decoded) {
    if (auto* r = std::get_if<model::reject>(&decoded)) return check_reject(*r);
    std::string json = canonical_json(decoded);
    check_same_record(decoder.decode(json, codec::content_type::json), json,
                      "the record's JSON does not decode to the same record");
    std::string proto = std::holds_alternative<model::activity_record>(decoded)
                            ? codec::encode_activity_protobuf(std::get<model::activity_record>(decoded))
                            : codec::encode_control_protobuf(std::get<model::control_record>(decoded));
    check_same_record(decoder.decode(proto, codec::content_type::protobuf), json,
                      "the record's protobuf does not decode to the same record");
}

} // namespace posd::fuzz
