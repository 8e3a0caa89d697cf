#include "engine/valuation.h"

#include "base/vassert.h"

namespace posd::engine {
namespace {

decimal mul(decimal a, decimal b) {
    auto r = decimal::mul(a, b);
    vassert(r.has_value(), "decimal overflow: {} * {}", a.to_string(), b.to_string());
    return *r;
}

std::optional<decimal> mul_opt(std::optional<decimal> a, decimal b) {
    if (!a) return std::nullopt;
    return decimal::mul(*a, b);
}

const decimal one = decimal::from_units(1);

} // namespace

std::string_view account_type_of(const engine_config& config, std::string_view base) {
    if (base.size() <= config.account_type_index_from_end) return {};
    return base.substr(base.size() - 1 - config.account_type_index_from_end, 1);
}

bool is_margin_account(const engine_config& config, std::string_view account_type) {
    return config.margin_account_types.contains(account_type);
}

bool may_go_short(const engine_config& config, std::string_view account_type) {
    return config.short_account_types.contains(account_type);
}

std::optional<valuation> value_position(const engine_config& config, decimal td_qty,
                                        const model::product_definition& product,
                                        const model::security* sec, const model::price* px,
                                        bool margin_account) {
    valuation v;
    const std::string& flag = product.ext_rule_flag;
    std::optional<decimal> chosen;
    if (flag == "Z") {
        v.rule = "NOT_VALUED";
        chosen = decimal{};
    } else if (flag == "F") {
        v.rule = "FIXED";
        chosen = product.default_price_for_mgn;
    } else if (flag == "P") {
        v.rule = "PREVIOUS_CLOSE";
        if (px) chosen = px->prev_price;
    } else {
        v.rule = "STANDARD";
        if (px) chosen = px->price;
    }
    if (!chosen) {
        if (product.default_price_for_mgn) {
            v.rule = "DEFAULT_PRICE";
            chosen = product.default_price_for_mgn;
        } else {
            v.rule = "NO_PRICE";
            chosen = decimal{};
        }
    }
    v.price = *chosen;
    decimal contract_size = sec && sec->contract_size ? *sec->contract_size : one;
    auto mv = mul_opt(mul_opt(decimal::mul(v.price, td_qty), product.factor), contract_size);
    if (!mv) return std::nullopt;
    v.market_value = mv->round(0);
    v.contributes = product.contributes_to_equity_sw;
    if (!v.contributes) return v;

    // Long and short are the quantity's sign: a short without a price still
    // owes the per-share minimum.
    const decimal mv_abs = v.market_value.abs();
    if (td_qty.is_positive()) {
        if (product.marginable_flag && margin_account && v.market_value.is_positive())
            v.loan_value = mul(v.market_value, one - config.reg_t_initial_rate).round(2);
        v.equity_req = product.marginable_flag ? mul(v.market_value, config.exch_long_rate).round(2)
                                               : v.market_value;
    } else if (td_qty.is_negative()) {
        const decimal qty_abs = td_qty.abs();
        bool equity_like = product.factor == one && contract_size == one;
        if (equity_like && v.price >= config.exch_short_low_price) {
            v.equity_req = decimal::max(mul(qty_abs, config.exch_short_per_share).round(2),
                                        mul(mv_abs, config.exch_short_rate).round(2));
        } else if (equity_like) {
            v.equity_req = decimal::max(mul(qty_abs, config.exch_short_low_per_share).round(2), mv_abs);
        } else {
            v.equity_req = mul(mv_abs, config.exch_short_rate).round(2);
        }
    }
    return v;
}

decimal house_rate(std::span<const model::margin_rule> rules, decimal concentration) {
    for (const auto& r : rules)
        if (concentration >= r.nyrs_level) return r.nyrs_action;
    return decimal{};
}

decimal house_requirement(decimal equity_req, decimal rate, decimal market_value) {
    return decimal::max(equity_req, mul(rate, market_value.abs()).round(2));
}

} // namespace posd::engine
