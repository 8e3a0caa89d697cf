#pragma once
// Account margin evaluation (libs/engine/README.md, "Portfolio
// concentration and margin"). The account's sums (mvTdLong, mvTdShort,
// loanValue, reqtExch, reqtHouse) move by the difference each position
// change makes; this evaluates what derives from them — equity, cash
// available and the margin call — in constant time, whatever the number of
// cusips the account holds.

#include "engine/config.h"
#include "engine/reference_data.h"
#include "model/refdata.h"
#include "model/state.h"

#include <optional>
#include <span>

namespace posd::engine {

// (mvLong + mvShort) of one cusip over the account's gross; 0 when gross is 0.
decimal concentration_of(const model::portfolio_concentration& c, decimal gross);

// The base-currency value of a foreign amount: round2(amount x rate), half
// away from zero; nullopt beyond a decimal.
std::optional<decimal> to_base_currency(decimal amount, decimal rate);

// Converts every foreign-currency cash entry of `bal` into its base
// currency at the current FX rate (the entry's last rate when the rate has
// been deleted since) and sets tdBalTotal / sdBalTotal.
void convert_cash(const reference_data& refdata, model::margin_balance& bal);

// Sets equity, cashAvail and the margin call of `bal` from its sums.
void evaluate_margin(const engine_config& config, bool margin_account, model::margin_balance& bal);

} // namespace posd::engine
