#pragma once
// JSON encoders for posd's output events (SPEC §8), input records and
// reference data. Every encoder APPENDS one JSON object to `out`, so a
// caller can reuse one string's capacity across records (the hot path does
// no other allocation and no iostreams).
//
// Conventions (libs/codec/README.md, "Output events"): camelCase field
// names; decimals as JSON strings holding their exact shortest text
// ("-12.5", "100") so that no consumer reads them through binary floating
// point; switches as "Y"/"N"; dates "YYYY-MM-DD"; times RFC 3339 UTC with
// milliseconds; absent optional values as null; versions and offsets as JSON
// integers. Strings are escaped per RFC 8259.
//
// Stateless and thread-safe.

#include "model/events.h"
#include "model/records.h"
#include "model/refdata.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace posd::codec {

// --- output events ------------------------------------------------------------
void encode_json(const model::position_updated& event, std::string& out);
void encode_json(const model::market_value_event& event, std::string& out);
void encode_json(const model::margin_updated& event, std::string& out);

// The Kafka message key of an output event: the position key for
// position_updated and market_value_event, the account key for
// margin_updated, the original message key for dead_letter.
std::string event_key(const model::output_event& event);

// Headers of a dead-letter record (its value is the original bytes):
// reason (the code, e.g. "MISSING_FIELD"), message, field, source.topic,
// source.partition, source.offset.
std::vector<std::pair<std::string, std::string>> dead_letter_headers(const model::dead_letter& letter,
                                                                     std::string_view source_topic);

// --- input records (for the workload generator, tools and tests) ---------------
// json_decoder::decode_activity gives back exactly the record encoded.
// Empty optional strings and absent optionals are left out.
void encode_activity_json(const model::activity_record& record, std::string& out);
void encode_control_json(const model::control_record& record, std::string& out);

// --- reference data (round-trip through json_decoder's decode_*) --------------
void encode_json(const model::bookkeeping_rule& rule, std::string& out);
void encode_json(const model::product_definition& product, std::string& out);
void encode_json(const model::security& security, std::string& out);
void encode_json(const model::price& price, std::string& out);
void encode_json(const model::fx_rate& rate, std::string& out);
void encode_json(const model::margin_rule& rule, std::string& out);

// Appends `text` as a JSON string literal, quotes included: '"', '\\' and
// control characters are escaped (\n, \t, ... or \u00XX); other bytes,
// UTF-8 included, are copied as they are.
void append_json_string(std::string_view text, std::string& out);

} // namespace posd::codec
