// encode_dead_letter: a dead letter keeps the original bytes and
// content-type, and is cut to its bound (with the original size and
// SHA-256) whatever the record was, so that it always fits the topic.

#include "codec/dead_letter.h"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

using namespace posd;
using namespace posd::codec;

namespace {

std::optional<std::string> header_of(const dead_letter_message& m, const std::string& name) {
    for (const auto& [k, v] : m.headers)
        if (k == name) return v;
    return std::nullopt;
}

model::dead_letter letter(std::string key, std::string value) {
    return model::dead_letter{std::move(key), std::move(value),
                              model::reject{model::reason::record_too_large, "", "too large"}, 3, 42};
}

} // namespace

TEST_CASE("dead letter: SHA-256 is the standard digest (FIPS 180-2 test vectors)") {
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("dead letter: a record within the bounds is kept whole, with its content-type and no size headers") {
    const auto m = encode_dead_letter(letter("ABCD|01|123|45678", "{\"a\":1}"), "activity", "application/json");
    CHECK(m.key == "ABCD|01|123|45678");
    CHECK(m.value == "{\"a\":1}");
    CHECK(header_of(m, "reason") == "RECORD_TOO_LARGE");
    CHECK(header_of(m, "source.partition") == "3");
    CHECK(header_of(m, "source.offset") == "42");
    CHECK(header_of(m, "content-type") == "application/json");
    CHECK_FALSE(header_of(m, "original.value.bytes"));
    CHECK_FALSE(header_of(m, "original.key.bytes"));
    // No content-type header on the record: none on the dead letter.
    CHECK_FALSE(header_of(encode_dead_letter(letter("k", "v"), "activity", std::nullopt), "content-type"));
}

TEST_CASE("dead letter: exactly at the bounds nothing is cut, one byte more is cut to a prefix with size and hash") {
    const std::string value_at(dead_letter_value_bytes_max, 'v');
    const std::string key_at(dead_letter_key_bytes_max, 'k');
    const auto whole = encode_dead_letter(letter(key_at, value_at), "activity", std::nullopt);
    CHECK(whole.value == value_at);
    CHECK(whole.key == key_at);
    CHECK(whole.headers.size() == 6);

    const std::string value = value_at + "w";
    const std::string key = key_at + "l";
    const auto cut = encode_dead_letter(letter(key, value), "activity", "application/x-protobuf");
    CHECK(cut.value == value_at);
    CHECK(cut.key == key_at);
    CHECK(header_of(cut, "original.value.bytes") == std::to_string(value.size()));
    CHECK(header_of(cut, "original.value.sha256") == sha256_hex(value));
    CHECK(header_of(cut, "original.key.bytes") == std::to_string(key.size()));
    CHECK(header_of(cut, "original.key.sha256") == sha256_hex(key));
    CHECK(header_of(cut, "content-type") == "application/x-protobuf");
}

TEST_CASE("dead letter: a hostile record of any size gives a message within dead_letter_bytes_max") {
    const std::string huge(3'000'000, 'x');
    model::dead_letter l = letter(huge, huge);
    l.reject.message = huge;
    l.reject.field = huge;
    const auto m = encode_dead_letter(l, huge, huge);
    std::size_t bytes = m.key.size() + m.value.size();
    for (const auto& [k, v] : m.headers) bytes += k.size() + v.size();
    CHECK(bytes <= dead_letter_bytes_max);
    CHECK(m.headers.size() <= dead_letter_headers_max);
    for (const auto& [k, v] : m.headers) CHECK(v.size() <= dead_letter_header_bytes_max);
}
