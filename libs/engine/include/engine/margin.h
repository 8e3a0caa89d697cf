#pragma once
// Account margin evaluation (libs/engine/README.md, "Portfolio
// concentration and margin"). The account's sums (mvTdLong, mvTdShort,
// loanValue, reqtExch, reqtHouse) move by the difference each position
// change makes; this evaluates what derives from them — equity, cash
// available and the margin call — in constant time, whatever the number of
// cusips the account holds.

#include "engine/config.h"
#include "model/refdata.h"
#include "model/state.h"

#include <span>

namespace posd::engine {

// (mvLong + mvShort) of one cusip over the account's gross; 0 when gross is 0.
decimal concentration_of(const model::portfolio_concentration& c, decimal gross);

// Sets equity, cashAvail and the margin call of `bal` from its sums.
void evaluate_margin(const engine_config& config, bool margin_account, model::margin_balance& bal);

} // namespace posd::engine
