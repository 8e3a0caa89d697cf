#include "ops/json_text.h"

#include <catch2/catch.hpp>

using posd::ops::json_string;

TEST_CASE("json_string escapes quotes and backslashes and control characters", "[json]") {
    CHECK(json_string("plain") == "\"plain\"");
    CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(json_string("l1\nl2\t\r") == "\"l1\\nl2\\t\\r\"");
    CHECK(json_string(std::string_view("\x01\x1f\x7f", 3)) == "\"\\u0001\\u001f\\u007f\"");
    CHECK(json_string(std::string_view("a\0b", 3)) == "\"a\\u0000b\"");
}

TEST_CASE("json_string keeps valid UTF-8 and replaces invalid bytes", "[json]") {
    CHECK(json_string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
    CHECK(json_string("\xFF") == "\"\xEF\xBF\xBD\"");
    CHECK(json_string("\xC3") == "\"\xEF\xBF\xBD\"");             // truncated
    CHECK(json_string("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\""); // overlong
    CHECK(json_string("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""); // surrogate
}

TEST_CASE("json_error builds an error object", "[json]") {
    CHECK(posd::ops::json_error("not_found", "no \"x\"") == R"({"error":"not_found","message":"no \"x\""})");
}
