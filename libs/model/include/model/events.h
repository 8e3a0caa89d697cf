#pragma once
// Output events (SPEC §8). The engine produces them; the codec encodes them
// and the service publishes them, atomically with the state change.

#include "base/date.h"
#include "base/decimal.h"
#include "model/reason.h"
#include "model/state.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace posd::model {

// Why an output event was emitted (SPEC §8; README.md "Message formats").
// An event is one change with one cause: at END_OF_DAY a change that
// releases settlements is `settlement` (the same END_OF_DAY's re-valuation is
// part of it), any other END_OF_DAY change is `end_of_day`.
enum class cause_kind : std::uint8_t {
    none,        // not an event: a query's view of state (encoded without a cause)
    activity,    // activity records applied: the event's activity_ids and offsets
    settlement,  // pending settlements released by an END_OF_DAY: settled_activity_ids
    revaluation, // a price or security change of one cusip
    end_of_day,  // an END_OF_DAY's re-valuation (prices rolled), nothing settled
};

std::string_view to_string(cause_kind kind);
// The kind of a wire name ("activity", ...); nullopt for any other text.
std::optional<cause_kind> cause_kind_from(std::string_view name);

// The cause and the ids it concerns beyond the activity ids, which every
// event carries itself (activity_ids/offsets: the records applied; empty
// unless the cause is `activity`).
struct event_cause {
    cause_kind kind = cause_kind::none;
    // settlement: the activities whose pending settlement this change applied
    // (applied earlier under cause `activity`; never counted again).
    std::vector<std::string> settled_activity_ids{};
    // settlement, end_of_day: the END_OF_DAY record's businessDate (the day it
    // closed) and its input offset.
    std::optional<date> business_date{};
    std::int64_t end_of_day_offset = -1;
    // revaluation: the cusip whose price or security changed and the as-of
    // of the price in use (none when the cusip has no price).
    std::string revalued_cusip{};
    std::optional<timestamp> price_as_of{};

    friend bool operator==(const event_cause&, const event_cause&) = default;
};

struct position_updated {
    model::position position;             // full position after the change
    std::vector<std::string> activity_ids; // records applied in this change (cause activity only)
    std::vector<std::int64_t> offsets;     // their input offsets
    timestamp event_time;                  // latest eventTime among them
    timestamp processing_time;
    event_cause cause{};
};

struct market_value_event {
    std::string product_id; // the cusip
    std::string firm, ledger, branch, base, sub_acct_key;
    decimal quantity;       // tdQty valued
    decimal price;          // price used
    std::string rule;       // pricing rule name, engine/README.md
    decimal market_value;   // whole currency units
    timestamp ts;
    std::vector<std::string> activity_ids{}; // cause activity: the records applied
    std::vector<std::int64_t> offsets{};     // their input offsets
    event_cause cause{};
};

struct margin_updated {
    margin_balance balance;
    timestamp processing_time;
    std::vector<std::string> activity_ids{}; // cause activity: the records applied
    std::vector<std::int64_t> offsets{};     // their input offsets
    event_cause cause{};
};

struct dead_letter {
    std::string key;   // original message key bytes
    std::string value; // original record bytes
    model::reject reject;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
};

using output_event = std::variant<position_updated, market_value_event, margin_updated, dead_letter>;

} // namespace posd::model
