#pragma once
// Every limit posd enforces on input, in one place. Values beyond these are
// rejected at decode time with a stable reason, so that the engine's exact
// arithmetic (base/decimal.h) has headroom and can never overflow on valid
// state built from valid records.

#include <cstddef>
#include <cstdint>

namespace posd::limits {

// Largest accepted record, in bytes (JSON or protobuf).
inline constexpr std::size_t record_bytes_max = 64 * 1024;
// Longest accepted string field value, in bytes.
inline constexpr std::size_t field_bytes_max = 256;
// Longest identifier (activityId) in bytes.
inline constexpr std::size_t activity_id_bytes_max = 128;
// Digits before and after the decimal point that an input number may carry.
inline constexpr int decimal_integer_digits_max = 18;
inline constexpr int decimal_fraction_digits_max = 9;
// Magnitude caps for inputs, in whole units.
inline constexpr std::int64_t quantity_units_max = 1'000'000'000'000;   // 1e12
inline constexpr std::int64_t amount_units_max = 1'000'000'000'000'000; // 1e15
inline constexpr std::int64_t price_units_max = 100'000'000;            // 1e8
// Magnitude caps for state: a record that would take a position's quantity
// or an account's balance beyond these is rejected NUMBER_OUT_OF_RANGE.
inline constexpr std::int64_t position_quantity_units_max = quantity_units_max;
inline constexpr std::int64_t balance_units_max = 1'000'000'000'000'000'000; // 1e18
// Caps for reference data multipliers, so that the largest valid market value
// (price 1e8 x quantity 1e12 x factor 100 x contract size 1e4 = 1e26 units)
// stays far inside a decimal (~1.7e29 units) and valuation cannot overflow.
inline constexpr std::int64_t factor_units_max = 100;
inline constexpr std::int64_t contract_size_units_max = 10'000;
// Cap for an FX rate (units of the base currency per unit of a currency):
// a balance (1e18) times the rate stays far inside a decimal even summed
// over every possible currency code (26^3 x 1e24 < 1e29).
inline constexpr std::int64_t fx_rate_units_max = 1'000'000;
// Applied activity ids remembered per partition for idempotency.
inline constexpr std::size_t applied_ids_retained_default = 1'000'000;
// Records the engine accepts in one batch.
inline constexpr std::size_t batch_records_max = 100'000;
// Activity ids listed on one position.updated event (a group longer than this
// is split into several changes).
inline constexpr std::size_t group_records_max = 1'000;

static_assert(decimal_fraction_digits_max == 9, "base::decimal has a fixed scale of 9");
static_assert(quantity_units_max <= amount_units_max);
static_assert(group_records_max <= batch_records_max);

} // namespace posd::limits
