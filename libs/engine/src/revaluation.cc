// Revaluation: the managed position join and the valuation of one
// position, its house requirement and its cusip's concentration, the
// account's evaluation; and the re-valuation of many positions at once
// (END_OF_DAY, a price or security change) with its events (libs/engine
// README "Managed position", "Market value", "Portfolio concentration and
// margin", "Re-valuation").

#include "batch.h"

#include "base/vassert.h"
#include "engine/margin.h"
#include "engine/valuation.h"

namespace posd::engine::detail {

void batch::revalue_cusip(std::string_view cusip) {
    side_changes changes;
    state_.for_each_position_key_in_cusip(partition_, cusip,
                                          [&](std::string_view k) { changes.try_emplace(std::string(k)); });
    for (auto& [k, e] : positions_)
        if (!e.in_store && e.dirty && e.pos.cusip == cusip) changes.try_emplace(k);
    balances_before accounts_before;
    model::event_cause cause{.kind = model::cause_kind::revaluation, .revalued_cusip = std::string(cusip)};
    if (const model::price* px = ref_.price(cusip)) cause.price_as_of = px->as_of;
    revalue_positions(changes, accounts_before, {}, /*roll_prices=*/false, cause);
}

// Joins the managed position (product control) from reference data and
// returns the product line it now names.
const std::string& batch::join_managed(const std::string& pk, const model::position& p, const model::security* sec,
                                const model::price* px, std::optional<std::string_view> record_product_line,
                                bool roll_prices) {
    managed_entry& me = managed(pk);
    model::managed_position& m = me.mp;
    // Set in place, field by field, noting whether anything changed.
    bool changed = false;
    auto set = [&changed](auto& field, const auto& value) {
        if (field == value) return;
        field = value;
        changed = true;
    };
    static const std::string none;
    set(m.firm_prodpc, p.firm_postrmt);
    set(m.ledger_prodpc, p.ledger_postrmt);
    set(m.branch_prodpc, p.branch_postrmt);
    set(m.base_prodpc, p.base_postrmt);
    set(m.sub_acct_prodpc, p.sub_acct_key);
    set(m.cusip, p.cusip);
    set(m.security_found_sw, sec != nullptr);
    set(m.uls, sec ? sec->uls : none);
    set(m.uls_found_sw, sec && !sec->uls.empty() && ref_.security(sec->uls) != nullptr);
    // The same product the record was validated against: its own
    // productLine, else the security master's; outside the record path
    // the one in state, else the security master's.
    if (record_product_line && !record_product_line->empty()) {
        if (m.product_line != *record_product_line) {
            m.product_line = std::string(*record_product_line);
            changed = true;
        }
    } else if (sec && (record_product_line || m.product_line.empty())) {
        set(m.product_line, sec->product_line);
    }
    set(m.strike_price, sec ? sec->strike_price : std::nullopt);
    set(m.contract_size, sec ? sec->contract_size : std::nullopt);
    set(m.exp_or_maturity_date, sec ? sec->exp_or_maturity_date : std::nullopt);
    if (roll_prices) set(m.prev_price, std::optional<decimal>(m.price));
    if (px) {
        set(m.price, std::optional<decimal>(px->price));
        if (!roll_prices && px->prev_price) set(m.prev_price, px->prev_price);
    }
    if (changed) mark_dirty(me);
    return m.product_line;
}

// Re-joins the managed position and re-values the position, moving the
// account's concentration by the difference. Returns the valuation, or
// nullopt for positions that are not valued (cash, unknown product).
// `record_product_line` is the applying record's (empty when it has
// none), or nullopt outside the record path.
std::optional<valuation> batch::refresh(position_entry& pe, account_entry& ae, const std::string& account_key,
                                 const std::string& pk, std::optional<std::string_view> record_product_line,
                                 bool roll_prices) {
    model::position& p = pe.pos;
    if (p.cusip.empty()) return std::nullopt;
    const model::security* sec = ref_.security(p.cusip);
    const model::price* px = ref_.price(p.cusip);

    const std::string& product_line = join_managed(pk, p, sec, px, record_product_line, roll_prices);

    const model::product_definition* product = ref_.product(product_line);
    if (!product) return std::nullopt; // product removed since: keep the last valuation
    bool margin_account = is_margin_account(config_, p.acct_type_postrmt);
    auto v = value_position(config_, p.td_qty, *product, sec, px, margin_account);
    vassert(v.has_value(), "market value out of range for a position in {}", p.cusip);

    p.market_value = v->market_value;
    p.loan_value = v->loan_value;
    p.equity_req = v->equity_req;
    p.contributes_to_equity = v->contributes;
    if (!v->contributes) p.house_req = decimal{};
    p.loss = decimal::max(decimal{}, p.cost_basis - v->market_value);
    p.short_exp_date = p.td_qty.is_negative() && sec ? sec->exp_or_maturity_date : std::nullopt;
    p.td_qty_short_side = p.td_qty.is_negative() ? -p.td_qty : decimal{};
    // The house requirement moves separately (set_house_requirement),
    // once the account's gross reflects this and any other re-valuation.
    contribution now = contribution::of(p);
    now.house_req = pe.contributed.house_req;
    concentration_entry& ce = concentration(pe, ae, account_key);
    move_sums(ae, ce.conc, pe.contributed, now);
    mark_conc_dirty(ae, ce);
    pe.contributed = now;
    return v;
}

std::span<const model::margin_rule> batch::rules_for(const model::margin_balance& bal, std::string& name) const {
    if (!bal.acct_category.empty()) {
        auto rules = ref_.margin_rules(bal.acct_category);
        if (!rules.empty()) {
            name = bal.acct_category;
            return rules;
        }
    }
    name = config_.default_margin_rule;
    return ref_.margin_rules(config_.default_margin_rule);
}

void batch::evaluate(account_entry& ae) {
    convert_cash(ref_, ae.bal);
    evaluate_margin(config_, is_margin_account(config_, ae.bal.acct_type), ae.bal);
    mark_dirty(ae);
}

// Records the concentration of a cusip as of its change (only the cusips
// that changed, so that the stored value does not depend on batching).
void batch::stamp_concentration(position_entry& pe, account_entry& ae) {
    std::string rule_name;
    rules_for(ae.bal, rule_name);
    vassert(pe.conc != nullptr, "concentration of a position in {} stamped before it was valued", pe.pos.cusip);
    auto& c = pe.conc->conc;
    c.cusip_conc = concentration_of(c, gross_of(ae));
    c.acct_category_conc = rule_name;
}

// The position's house requirement at its cusip's concentration now,
// moving the concentration's and the account's sums by the difference.
void batch::set_house_requirement(position_entry& pe, account_entry& ae, const std::string& account_key) {
    model::position& p = pe.pos;
    model::portfolio_concentration& c = concentration(pe, ae, account_key).conc;
    if (!p.contributes_to_equity) {
        p.house_req = decimal{};
    } else {
        std::string rule_name;
        auto rules = rules_for(ae.bal, rule_name);
        decimal rate = house_rate(rules, concentration_of(c, gross_of(ae)));
        p.house_req = house_requirement(p.equity_req, rate, p.market_value);
    }
    contribution now = pe.contributed;
    now.house_req = contribution::of(p).house_req;
    move_sums(ae, c, pe.contributed, now);
    pe.contributed = now;
}

// Re-values the given positions; each that changed (or settled) gets one
// new version; every touched account is re-evaluated. Events carry
// `cause`, or a settlement of it for a position or account that settled.
void batch::revalue_positions(side_changes& changes, balances_before& accounts_before,
                       const account_settlements& settled, bool roll_prices, const model::event_cause& cause) {
    struct item {
        const std::string* key;
        position_entry* pe;
        account_entry* ae;
        valued_fields start;
        std::optional<valuation> v;
        std::vector<std::string>* ids;
    };
    std::vector<item> items;
    for (auto& [k, ch] : changes) {
        position_entry& pe = position(k, nullptr);
        const model::position& p = pe.pos;
        // The account key in a reused buffer; from here on the overlay's own.
        model::write_account_key(side_account_key_, p.firm_postrmt, p.ledger_postrmt, p.branch_postrmt,
                                 p.base_postrmt);
        account_entry& ae = account(side_account_key_, &pe.pos);
        accounts_before.try_emplace(*ae.key, ae.bal);
        valued_fields start = valued_fields::of(pe.pos);
        auto v = refresh(pe, ae, *ae.key, k, std::nullopt, roll_prices);
        items.push_back({&k, &pe, &ae, start, std::move(v), &ch});
    }
    // House requirements and concentrations once every position has
    // moved, so that the order of positions does not matter.
    for (auto& it : items)
        if (it.v) set_house_requirement(*it.pe, *it.ae, *it.ae->key);
    for (auto& it : items)
        if (it.v) stamp_concentration(*it.pe, *it.ae);
    for (auto& [ak, before] : accounts_before) evaluate(accounts_.at(ak));
    for (auto& it : items) {
        position_entry& pe = *it.pe;
        bool changed = !it.ids->empty() || !(valued_fields::of(pe.pos) == it.start);
        if (changed) {
            ++pe.pos.version;
            mark_dirty(pe);
            emit_position(pe, {}, {}, now_, cause_of(cause, it.ids));
        }
        if (it.v && (!pe.pos.td_qty.is_zero() || it.v->market_value != it.start.market_value))
            emit_market_value(pe.pos, *it.v, {}, {}, cause_of(cause, it.ids));
    }
    for (auto& [ak, before] : accounts_before) {
        account_entry& ae = accounts_.at(ak);
        auto ids = settled.find(ak);
        if (!(ae.bal == before)) emit_margin(ae, {}, {}, cause_of(cause, ids == settled.end() ? nullptr : &ids->second));
    }
}

} // namespace posd::engine::detail
