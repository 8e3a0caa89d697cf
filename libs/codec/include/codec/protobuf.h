#pragma once
// protobuf: posd's records in the protobuf binary encoding of
// proto/posd.proto (package posd.v1). Owns the mapping between the model
// types and the generated messages; the generated headers stay private to
// this module's sources.
//
// - Input: decode_activity_protobuf turns one `activity` topic record whose
//   content-type names protobuf into a model record or a reject. It only
//   collects the field texts (codec/activity_fields.h) and calls
//   build_record, so protobuf and JSON accept and reject the same records
//   with the same reasons. encode_activity_protobuf / encode_control_protobuf
//   are the inverse, for tools and tests.
// - State: encode_state / decode_state are the store's value encoding for
//   every state record of SPEC §5. They round-trip exactly: decimals of the
//   whole decimal range, dates, optionals and versions come back equal.
// - Output events: encode_protobuf for the SPEC §8 events; decode_protobuf
//   for readers of those topics (tools, end-to-end tests).
//
// Every function is stateless for its caller and thread-safe. Hot-path
// functions reuse one generated message per thread (thread_local) so that
// steady-state decoding and encoding do not allocate message objects.

#include "model/events.h"
#include "model/records.h"
#include "model/state.h"

#include <string>
#include <string_view>

namespace posd::codec {

// --- input records (topic `activity`) -------------------------------------

// Decodes a posd.v1.InputRecord. Rejects: larger than
// limits::record_bytes_max -> RECORD_TOO_LARGE; not parseable, or neither
// `activity` nor `control` set -> MALFORMED; a string field that is not
// valid UTF-8 -> INVALID_ENCODING with that field's camelCase name. Every
// other rule is build_record's.
model::decoded_record decode_activity_protobuf(std::string_view bytes);

// Encode a record as a posd.v1.InputRecord; decode_activity_protobuf gives
// the record back. Empty optional strings (subAcctKey, cusip, ...) are left
// absent; switches are always written.
std::string encode_activity_protobuf(const model::activity_record& record);
std::string encode_control_protobuf(const model::control_record& record);

// --- state (store values, SPEC §5) ----------------------------------------

// encode_state(value) returns the bytes; encode_state(value, out) replaces
// `out`'s content and reuses its capacity. decode_state returns false when
// the bytes do not parse or a field holds an invalid decimal, date or enum
// value; `out` is left unchanged then.
std::string encode_state(const model::position& value);
std::string encode_state(const model::managed_position& value);
std::string encode_state(const model::margin_balance& value);
std::string encode_state(const model::portfolio_concentration& value);
std::string encode_state(const model::pending_settlement& value);
std::string encode_state(const model::partition_meta& value);

void encode_state(const model::position& value, std::string& out);
void encode_state(const model::managed_position& value, std::string& out);
void encode_state(const model::margin_balance& value, std::string& out);
void encode_state(const model::portfolio_concentration& value, std::string& out);
void encode_state(const model::pending_settlement& value, std::string& out);
void encode_state(const model::partition_meta& value, std::string& out);

[[nodiscard]] bool decode_state(std::string_view bytes, model::position& out);
[[nodiscard]] bool decode_state(std::string_view bytes, model::managed_position& out);
[[nodiscard]] bool decode_state(std::string_view bytes, model::margin_balance& out);
[[nodiscard]] bool decode_state(std::string_view bytes, model::portfolio_concentration& out);
[[nodiscard]] bool decode_state(std::string_view bytes, model::pending_settlement& out);
[[nodiscard]] bool decode_state(std::string_view bytes, model::partition_meta& out);

// --- output events (SPEC §8) ------------------------------------------------

// posd.v1.PositionUpdated, MarketValue, MarginUpdated, DeadLetter.
std::string encode_protobuf(const model::position_updated& event);
std::string encode_protobuf(const model::market_value_event& event);
std::string encode_protobuf(const model::margin_updated& event);
std::string encode_protobuf(const model::dead_letter& event);

// The inverse, for readers of the output topics. False when the bytes do not
// parse or a field is invalid (a dead letter's unknown reason code included);
// `out` is left unchanged then.
[[nodiscard]] bool decode_protobuf(std::string_view bytes, model::position_updated& out);
[[nodiscard]] bool decode_protobuf(std::string_view bytes, model::market_value_event& out);
[[nodiscard]] bool decode_protobuf(std::string_view bytes, model::margin_updated& out);
[[nodiscard]] bool decode_protobuf(std::string_view bytes, model::dead_letter& out);

} // namespace posd::codec
