#pragma once
// CUSIP validation: nine characters, the ninth a check digit computed by the
// "modulus 10 double add double" rule of the CUSIP Global Services standard.

#include <optional>
#include <string_view>

namespace posd::cusip {

// The check digit for the first eight characters, or nullopt when a
// character is not one of 0-9, A-Z, '*', '@', '#'.
std::optional<char> check_digit(std::string_view first_eight);
bool well_formed(std::string_view cusip); // 9 chars, valid alphabet
bool valid(std::string_view cusip);       // well formed and check digit matches

} // namespace posd::cusip
