#include "model/keys.h"
#include "model/reason.h"
#include "model/records.h"

#include <catch2/catch.hpp>

using namespace posd::model;

TEST_CASE("keys join their parts with '|'") {
    activity_record r;
    r.firm = "ABCD"; r.ledger = "01"; r.branch = "123"; r.base = "45678";
    r.sub_acct_key = "1"; r.cusip = "037833100";
    CHECK(r.account().value() == "ABCD|01|123|45678");
    CHECK(r.position().value() == "ABCD|01|123|45678|1|037833100");
    CHECK(account_of(r.position()) == r.account());
    r.cusip.clear();
    CHECK(r.position().value() == "ABCD|01|123|45678|1|");
}

TEST_CASE("account numbers are masked but for their last two characters") {
    CHECK(mask_account("ABCD|01|123|45678") == "ABCD|01|123|***78");
    CHECK(mask_account("ABCD|01|123|45678|1|037833100") == "ABCD|01|123|***78|1|037833100");
    CHECK(mask_account("45678") == "***78");
    CHECK(mask_account("7") == "7");
}

TEST_CASE("reason codes are stable and round-trip") {
    CHECK(static_cast<int>(reason::malformed) == 1);
    CHECK(static_cast<int>(reason::key_mismatch) == 11);
    CHECK(reason_code(reason::bad_cusip_check_digit) == "BAD_CUSIP_CHECK_DIGIT");
    for (int i = 1; i <= reason_max; ++i) {
        auto r = static_cast<reason>(i);
        CHECK(reason_from_code(reason_code(r)) == r);
    }
    CHECK_FALSE(reason_from_code("NOPE").has_value());
}
