#include "engine/margin.h"

#include "base/vassert.h"

namespace posd::engine {

decimal concentration_of(const model::portfolio_concentration& c, decimal gross) {
    if (!gross.is_positive()) return decimal{};
    auto r = decimal::div(c.mv_long + c.mv_short, gross);
    vassert(r.has_value(), "concentration out of range");
    return *r;
}

void evaluate_margin(const engine_config& config, bool margin_account, model::margin_balance& bal) {
    const decimal gross = bal.mv_td_long + bal.mv_td_short;
    bal.equity = bal.td_bal + bal.mv_td_long - bal.mv_td_short;
    if (margin_account) {
        auto reg_t = decimal::mul(config.reg_t_initial_rate, gross);
        vassert(reg_t.has_value(), "Reg T requirement out of range");
        decimal excess = bal.equity - reg_t->round(2);
        decimal buying_power = decimal::max(bal.sma, excess);
        bal.cash_avail = decimal::max(decimal{}, decimal::min(buying_power, bal.equity - bal.reqt_house));
    } else {
        bal.cash_avail = decimal::max(decimal{}, decimal::min(bal.td_bal, bal.sd_bal));
    }
    if (bal.equity < bal.reqt_exch) {
        bal.margin_call = model::margin_call_state::exchange;
    } else if (bal.equity < bal.reqt_house) {
        bal.margin_call = model::margin_call_state::house;
    } else {
        bal.margin_call = model::margin_call_state::none;
    }
    bal.margin_call_amount =
        bal.margin_call == model::margin_call_state::none ? decimal{} : bal.reqt_house - bal.equity;
}

} // namespace posd::engine
