#include "base/cusip.h"

#include <catch2/catch.hpp>

namespace cusip = posd::cusip;

TEST_CASE("CUSIP check digits of known securities") {
    CHECK(cusip::valid("037833100"));  // Apple
    CHECK(cusip::valid("594918104"));  // Microsoft
    CHECK(cusip::valid("38259P508"));  // Google (class A, 2004)
    CHECK(cusip::valid("912828U24"));  // a US Treasury note
    CHECK(cusip::check_digit("03783310") == '0');
    CHECK_FALSE(cusip::valid("037833101"));
    CHECK_FALSE(cusip::valid("03783310"));   // too short
    CHECK_FALSE(cusip::valid("0378331000")); // too long
    CHECK_FALSE(cusip::valid("03783a100"));  // lower case is not in the alphabet
    CHECK_FALSE(cusip::well_formed("03783310X"));
}
