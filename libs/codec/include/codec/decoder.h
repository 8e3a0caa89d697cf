#pragma once
// decoder: the one entry point for records of the `activity` topic. It
// picks the wire encoding from the record's content-type header (SPEC §3:
// JSON by default, protobuf when the header says so) and returns the
// decoded record or its reject.
//
// Lifecycle and threading: one decoder per consumer thread, reused for
// every record; not thread-safe (it owns a json_decoder).

#include "codec/json_decode.h"
#include "model/records.h"

#include <optional>
#include <string_view>

namespace posd::codec {

enum class content_type { json, protobuf, unsupported };

// Maps a content-type header value to an encoding. Absent or empty,
// "application/json" (optionally with "; charset=utf-8") and "json" mean
// JSON; "application/x-protobuf", "application/protobuf" and
// "application/vnd.google.protobuf" (with any parameters) mean protobuf.
// Media types compare case-insensitively. Anything else, a JSON charset
// other than UTF-8 included, is unsupported.
content_type content_type_from_header(std::optional<std::string_view> header);

class decoder {
public:
    // unsupported -> UNSUPPORTED_CONTENT_TYPE; a record larger than
    // limits::record_bytes_max -> RECORD_TOO_LARGE whatever its encoding.
    model::decoded_record decode(std::string_view bytes, content_type type);

    // For JSON reference data on the same thread.
    json_decoder& json() { return json_; }

private:
    json_decoder json_;
};

} // namespace posd::codec
