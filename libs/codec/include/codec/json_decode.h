#pragma once
// json_decoder: turns JSON bytes (SPEC §3, §4) into model records, with
// simdjson's on-demand parser. It owns the parser and a padded input buffer
// of limits::record_bytes_max + padding, both allocated once at
// construction: Kafka payloads
// are not padded, so each record is copied into that buffer before parsing,
// and steady-state decoding allocates nothing beyond the strings the
// returned model record owns.
//
// Lifecycle and threading: one json_decoder per thread (it is not
// thread-safe); construct it once and reuse it for every record. The
// returned records own their data and outlive the next call.
//
// Each decode walks the object's fields once, collects their texts (see
// codec/activity_fields.h) and validates them; the rules, their order and
// the reason codes are in libs/codec/README.md. Unknown fields are ignored
// for forward compatibility, but must still be valid JSON nested at most
// json_depth_max levels deep.

#include "model/records.h"
#include "model/refdata.h"

#include <cstddef>
#include <memory>
#include <string_view>
#include <variant>

namespace posd::codec {

// Deepest nesting accepted inside a record (the record object is level 1).
// Deeper documents are rejected MALFORMED, so that validating an unknown
// field can never exhaust the stack.
inline constexpr std::size_t json_depth_max = 32;

class json_decoder {
public:
    json_decoder();
    ~json_decoder();
    // Movable (a moved-from decoder may only be destroyed or assigned to).
    json_decoder(json_decoder&&) noexcept;
    json_decoder& operator=(json_decoder&&) noexcept;
    json_decoder(const json_decoder&) = delete;
    json_decoder& operator=(const json_decoder&) = delete;

    // An activity or control record (topic `activity`).
    model::decoded_record decode_activity(std::string_view bytes);

    // Reference data (SPEC §4), one record per call.
    std::variant<model::bookkeeping_rule, model::reject> decode_bookkeeping_rule(std::string_view bytes);
    std::variant<model::product_definition, model::reject> decode_product(std::string_view bytes);
    std::variant<model::security, model::reject> decode_security(std::string_view bytes);
    std::variant<model::price, model::reject> decode_price(std::string_view bytes);
    std::variant<model::margin_rule, model::reject> decode_margin_rule(std::string_view bytes);
    std::variant<model::fx_rate, model::reject> decode_fx_rate(std::string_view bytes);

    // The simdjson kernel the on-demand parser was compiled for ("haswell"
    // with posd's -march=haswell; "fallback" would be the slow scalar one),
    // and the one simdjson's runtime dispatch chose for this CPU.
    static std::string_view compiled_implementation();
    static std::string_view active_implementation();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace posd::codec
