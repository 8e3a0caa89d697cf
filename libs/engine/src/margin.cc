#include "engine/margin.h"

#include "base/vassert.h"

namespace posd::engine {

decimal concentration_of(const model::portfolio_concentration& c, decimal gross) {
    if (!gross.is_positive()) return decimal{};
    auto r = decimal::div(c.mv_long + c.mv_short, gross);
    vassert(r.has_value(), "concentration out of range");
    return *r;
}

std::optional<decimal> to_base_currency(decimal amount, decimal rate) {
    auto v = decimal::mul(amount, rate);
    if (!v) return std::nullopt;
    return v->round(2);
}

void convert_cash(const reference_data& refdata, model::margin_balance& bal) {
    decimal td = bal.td_bal, sd = bal.sd_bal;
    for (model::currency_cash& c : bal.cash) {
        if (const model::fx_rate* fx = refdata.fx_rate(c.currency, bal.base_currency)) c.rate = fx->rate;
        // Balances within limits::balance_units_max and rates within
        // limits::fx_rate_units_max: the products and their sum fit.
        auto tdb = to_base_currency(c.td_bal, c.rate), sdb = to_base_currency(c.sd_bal, c.rate);
        vassert(tdb.has_value() && sdb.has_value(), "{} cash out of range in the base currency", c.currency);
        c.td_bal_base = *tdb;
        c.sd_bal_base = *sdb;
        td += c.td_bal_base;
        sd += c.sd_bal_base;
    }
    bal.td_bal_total = td;
    bal.sd_bal_total = sd;
}

void evaluate_margin(const engine_config& config, bool margin_account, model::margin_balance& bal) {
    const decimal gross = bal.mv_td_long + bal.mv_td_short;
    bal.equity = bal.td_bal_total + bal.mv_td_long - bal.mv_td_short;
    if (margin_account) {
        auto reg_t = decimal::mul(config.reg_t_initial_rate, gross);
        vassert(reg_t.has_value(), "Reg T requirement out of range");
        decimal excess = bal.equity - reg_t->round(2);
        decimal buying_power = decimal::max(bal.sma, excess);
        bal.cash_avail = decimal::max(decimal{}, decimal::min(buying_power, bal.equity - bal.reqt_house));
    } else {
        bal.cash_avail = decimal::max(decimal{}, decimal::min(bal.td_bal_total, bal.sd_bal_total));
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
