#include "engine/margin.h"

#include "base/vassert.h"
#include "engine/valuation.h"

namespace posd::engine {

decimal gross_market_value(const concentration_map& concs) {
    decimal gross;
    for (auto& [cusip, c] : concs) gross += c.mv_long + c.mv_short;
    return gross;
}

decimal concentration_of(const model::portfolio_concentration& c, decimal gross) {
    if (!gross.is_positive()) return decimal{};
    auto r = decimal::div(c.mv_long + c.mv_short, gross);
    vassert(r.has_value(), "concentration out of range");
    return *r;
}

void evaluate_margin(const engine_config& config, std::span<const model::margin_rule> rules,
                     bool margin_account, const concentration_map& concs, model::margin_balance& bal) {
    decimal mv_long, mv_short, loan, exch, house;
    for (auto& [cusip, c] : concs) {
        mv_long += c.mv_long;
        mv_short += c.mv_short;
        loan += c.loan_value;
        exch += c.exch_req;
    }
    const decimal gross = mv_long + mv_short;
    for (auto& [cusip, c] : concs) {
        decimal rate = house_rate(rules, concentration_of(c, gross));
        house += decimal::max(c.exch_req, house_requirement(decimal{}, rate, c.mv_long + c.mv_short));
    }
    bal.mv_td_long = mv_long;
    bal.mv_td_short = mv_short;
    bal.equity = bal.td_bal + mv_long - mv_short;
    bal.loan_value = loan;
    bal.reqt_exch = exch;
    bal.reqt_house = house;
    if (margin_account) {
        auto reg_t = decimal::mul(config.reg_t_initial_rate, gross);
        vassert(reg_t.has_value(), "Reg T requirement out of range");
        decimal excess = bal.equity - reg_t->round(2);
        decimal buying_power = decimal::max(bal.sma, excess);
        bal.cash_avail = decimal::max(decimal{}, decimal::min(buying_power, bal.equity - house));
    } else {
        bal.cash_avail = decimal::max(decimal{}, decimal::min(bal.td_bal, bal.sd_bal));
    }
    if (bal.equity < exch) {
        bal.margin_call = model::margin_call_state::exchange;
    } else if (bal.equity < house) {
        bal.margin_call = model::margin_call_state::house;
    } else {
        bal.margin_call = model::margin_call_state::none;
    }
    bal.margin_call_amount =
        bal.margin_call == model::margin_call_state::none ? decimal{} : house - bal.equity;
}

} // namespace posd::engine
