#pragma once
// dead_letter: the Kafka message a rejected record becomes on the
// dead-letter topic, bounded so that it always fits the topic.
//
// The value and key are the original bytes, cut to a prefix when they are
// longer than dead_letter_value_bytes_max / dead_letter_key_bytes_max (a
// record that long was rejected RECORD_TOO_LARGE anyway). A cut value or
// key adds headers original.value.bytes / original.value.sha256 (or
// original.key.*): the original size and the SHA-256 (lower-case hex) of
// the whole original bytes. The original content-type header is kept, so
// a dead letter that was not cut can be produced again as it is. Every
// header value is cut to dead_letter_header_bytes_max. Hence the whole
// message stays under dead_letter_bytes_max, whatever the input was.
//
// Stateless and thread-safe.

#include "base/limits.h"
#include "model/events.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace posd::codec {

inline constexpr std::size_t dead_letter_value_bytes_max = limits::record_bytes_max;
inline constexpr std::size_t dead_letter_key_bytes_max = 1024;
inline constexpr std::size_t dead_letter_header_bytes_max = 1024;
inline constexpr std::size_t dead_letter_headers_max = 12;
// Key, value and headers (names included), plus Kafka's per-record framing.
inline constexpr std::size_t dead_letter_bytes_max = 96 * 1024;
static_assert(dead_letter_value_bytes_max + dead_letter_key_bytes_max +
                      dead_letter_headers_max * (dead_letter_header_bytes_max + 64) + 1024 <=
                  dead_letter_bytes_max,
              "a dead letter's parts must fit its bound");

struct dead_letter_message {
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
};

// The dead-letter message of `letter`, read from `source_topic`, whose
// original record carried `content_type` (nullopt: no such header).
dead_letter_message encode_dead_letter(const model::dead_letter& letter, std::string_view source_topic,
                                       std::optional<std::string_view> content_type);

// SHA-256 of `bytes`, 64 lower-case hex digits.
std::string sha256_hex(std::string_view bytes);

} // namespace posd::codec
