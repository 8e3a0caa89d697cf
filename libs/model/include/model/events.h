#pragma once
// Output events (SPEC §8). The engine produces them; the codec encodes them
// and the service publishes them, atomically with the state change.

#include "base/date.h"
#include "base/decimal.h"
#include "model/reason.h"
#include "model/state.h"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace posd::model {

struct position_updated {
    model::position position;             // full position after the change
    std::vector<std::string> activity_ids; // records applied in this change
    std::vector<std::int64_t> offsets;     // their input offsets (settlements: the END_OF_DAY's offset)
    timestamp event_time;                  // latest eventTime among them
    timestamp processing_time;
};

struct market_value_event {
    std::string product_id; // the cusip
    std::string firm, ledger, branch, base, sub_acct_key;
    decimal quantity;       // tdQty valued
    decimal price;          // price used
    std::string rule;       // pricing rule name, engine/README.md
    decimal market_value;   // whole currency units
    timestamp ts;
};

struct margin_updated {
    margin_balance balance;
    timestamp processing_time;
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
