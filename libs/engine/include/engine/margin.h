#pragma once
// Account margin evaluation (libs/engine/README.md, "Portfolio
// concentration and margin"): the derived MarginBalance fields as a pure
// function of the balance's tdBal, sdBal and sma and the account's
// concentrations. Path-independent: the result does not depend on how
// records were batched.

#include "engine/config.h"
#include "model/refdata.h"
#include "model/state.h"

#include <map>
#include <span>
#include <string>

namespace posd::engine {

using concentration_map = std::map<std::string, model::portfolio_concentration, std::less<>>;

// Gross contributing market value of the account: Σ (mvLong + mvShort).
decimal gross_market_value(const concentration_map& concs);
// (mvLong + mvShort) of one cusip over the account's gross; 0 when gross is 0.
decimal concentration_of(const model::portfolio_concentration& c, decimal gross);

// Sets mvTdLong, mvTdShort, equity, loanValue, reqtExch, reqtHouse,
// cashAvail and the margin call of `bal`.
void evaluate_margin(const engine_config& config, std::span<const model::margin_rule> rules,
                     bool margin_account, const concentration_map& concs, model::margin_balance& bal);

} // namespace posd::engine
