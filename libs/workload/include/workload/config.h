#pragma once
// workload_config: every knob of the workload generator. Plain data. The
// same config (seed included) always yields the same reference data and the
// same stream of items, byte for byte, so a benchmark, a posctl run and an
// exactly-once test can each reproduce a stream from its seed alone.
//
// Shares are integers per mille (1/1000) so that the generated stream does
// not depend on floating point rounding.

#include "base/date.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace posd::workload {

struct workload_config {
    std::uint64_t seed = 1;

    // Accounts. The first `hot_account_count` accounts receive
    // `hot_share_per_mille` of the activity records, uniformly; the rest
    // follow a Zipf-Mandelbrot law (exponent 1, head flattened by
    // `zipf_offset`).
    std::size_t account_count = 100'000;
    std::size_t hot_account_count = 20;
    std::uint32_t hot_share_per_mille = 300;
    std::uint32_t zipf_offset = 10;
    // Firms the accounts are spread over (4 characters each).
    std::vector<std::string> firms = {"ABCD", "MXBK"};
    // Account types by base's last digit, per mille: "1" cash, "2" margin,
    // "3" margin with short agreement (engine defaults).
    std::uint32_t cash_account_per_mille = 500;
    std::uint32_t margin_account_per_mille = 400; // the rest are short accounts

    // Securities: how many cusips (at least 50; some of every product line)
    // and how many of them have no price at all.
    std::size_t cusip_count = 5'000;
    std::uint32_t unpriced_cusip_per_mille = 30;

    // Share of activity items that re-send an earlier applied record (same
    // bytes, same activityId) and of deliberately bad records.
    std::uint32_t duplicate_per_mille = 10;
    std::uint32_t bad_per_mille = 10;
    // Weight of NO_FX_RATE among the bad records' reasons (a record in a
    // currency without a rate: XYZ, AUD, BRL, ZAR; the others weigh 2..100).
    // 0 leaves the random stream exactly as it was before currencies.
    std::uint32_t no_fx_rate_weight = 40;
    // Share of trades split into 2..4 consecutive fills of the same position
    // (a control break group in the engine).
    std::uint32_t multi_fill_per_mille = 150;

    // An END_OF_DAY control item after every `end_of_day_every` items
    // (0 = never), and a price update after every `price_update_every`
    // items (0 = never).
    std::uint64_t end_of_day_every = 250'000;
    std::uint64_t price_update_every = 5'000;

    // The business date the stream starts on (a weekday; configure the
    // engine's initial_business_date to the same date), the UTC time of
    // day of its first record, and how far eventTime moves per item.
    date start_business_date = date::from_days(19'786); // 2024-03-04, a Monday
    std::int64_t day_start_ms = (13 * 60 + 30) * 60 * 1000; // 09:30 New York (EST/EDT aside)
    std::int64_t event_interval_ms = 2;
};

} // namespace posd::workload
