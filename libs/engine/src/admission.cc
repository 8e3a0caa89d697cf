// Admission: an activity record's checks, in the order of libs/engine
// README "Per activity record" — the key, idempotency, then the rules that
// need reference data or state — and the new figures of everything it
// moves, computed on copies so that a reject leaves state untouched.
// Rejects from the codec and from here become dead letters in place.

#include "batch.h"

#include "base/limits.h"
#include "engine/margin.h"
#include "engine/valuation.h"

#include <fmt/format.h>

namespace posd::engine::detail {

using model::reason;

namespace {
bool within(decimal v, std::int64_t units_max) { return v.abs() <= decimal::from_units(units_max); }
} // namespace

void batch::reject_record(const input_record& in, model::reject r) {
    // A reject never breaks the open group; it is emitted in place.
    ++ws_.counts.rejected;
    ws_.events.emplace_back(model::dead_letter{
        .key = std::string(in.key),
        .value = std::string(in.value),
        .reject = std::move(r),
        .partition = partition_,
        .offset = in.offset,
    });
}

void batch::reject_record(const input_record& in, reason code, std::string field, std::string message) {
    reject_record(in, model::reject{code, std::move(field), std::move(message)});
}

void batch::apply_activity(const input_record& in, const model::activity_record& r) {
    if (auto a = admit(in, r)) book(in, r, *a);
}

std::optional<admitted> batch::admit(const input_record& in, const model::activity_record& r) {
    // Keys are written into buffers the batch reuses: no allocation per record.
    model::write_account_key(account_key_, r.firm, r.ledger, r.branch, r.base);
    const std::string& acct = account_key_;
    if (in.key != acct) {
        reject_record(in, reason::key_mismatch, "", "message key does not match the record's account key");
        return std::nullopt;
    }
    if (applied_before(r.activity_id)) {
        ++ws_.counts.duplicates;
        return std::nullopt;
    }
    const model::bookkeeping_rule* rule = ref_.bookkeeping_rule(r.maxx_key_code);
    if (!rule) {
        reject_record(in, reason::unknown_key_code, "maxxKeyCode",
                      fmt::format("no bookkeeping rule for maxxKeyCode '{}'", r.maxx_key_code));
        return std::nullopt;
    }
    const date business_date = *meta_.business_date;
    if (r.account_closed_date && *r.account_closed_date <= business_date) {
        reject_record(in, reason::account_closed, "accountClosedDate",
                      fmt::format("account closed on {}", r.account_closed_date->to_string()));
        return std::nullopt;
    }
    if (!r.cusip.empty()) {
        std::string_view product_line = r.product_line;
        if (product_line.empty())
            if (const auto* sec = ref_.security(r.cusip)) product_line = sec->product_line;
        const model::product_definition* product = ref_.product(product_line);
        if (!product) {
            reject_record(in, reason::unknown_product, "productLine",
                          fmt::format("no product definition for product line '{}'", product_line));
            return std::nullopt;
        }
        if (!product->fractions_allowed_sw && !r.quantity.is_integer()) {
            reject_record(in, reason::fractional_not_allowed, "quantity",
                          fmt::format("product line '{}' does not allow fractional quantities", product_line));
            return std::nullopt;
        }
    }
    if (!r.intracct_eligible_type.empty() && r.intracct_min_amt && r.amount.abs() < *r.intracct_min_amt) {
        reject_record(in, reason::below_min_transfer, "amount",
                      fmt::format("transfer amount below the minimum of {}", r.intracct_min_amt->to_string()));
        return std::nullopt;
    }

    model::write_position_key(position_key_, r.firm, r.ledger, r.branch, r.base, r.sub_acct_key, r.cusip);
    admitted a;
    a.pe = &position(position_key_, &r);
    a.ae = &account(acct, &a.pe->pos);
    const model::position& pos = a.pe->pos;
    const model::margin_balance& bal = a.ae->bal;
    // The record's currency: absent means the account's base currency.
    const std::string& base_ccy = bal.base_currency;
    a.foreign = !r.currency.empty() && r.currency != base_ccy;
    bool ok = true;
    // The amount in the base currency, for what is kept in it (SMA, cost
    // basis, acctActivityAmt); cash stays in the record's currency.
    decimal amount_base = r.amount;
    if (a.foreign) {
        const model::fx_rate* fx = ref_.fx_rate(r.currency, base_ccy);
        if (!fx) {
            reject_record(in, reason::no_fx_rate, "currency",
                          fmt::format("no FX rate from {} into the base currency {} (fx-rates key {}/{})",
                                      r.currency, base_ccy, r.currency, base_ccy));
            return std::nullopt;
        }
        amount_base = checked(to_base_currency(r.amount, fx->rate), ok);
    }
    a.acct_type = account_type_of(config_, r.base);
    // Work on copies of the fields a record moves: a reject leaves state untouched.
    a.td_qty = pos.td_qty;
    a.sd_qty = pos.sd_qty;
    a.cost_basis = pos.cost_basis;
    a.activity_qty = pos.metadata.acct_activity_qty;
    a.activity_amt = pos.metadata.acct_activity_amt;
    if (rule->upd_td_qty_sw) {
        decimal new_qty = checked(decimal::add(a.td_qty, r.quantity), ok);
        if (ok && r.quantity.is_negative() && new_qty.is_negative() && !may_go_short(config_, a.acct_type)) {
            reject_record(in, reason::insufficient_position, "quantity",
                          fmt::format("account type '{}' may not go short", a.acct_type));
            return std::nullopt;
        }
        if (ok) a.cost_basis = updated_cost_basis(a.td_qty, a.cost_basis, r.quantity, -amount_base, ok);
        a.td_qty = new_qty;
    }
    a.settle_now = !r.settle_date || *r.settle_date <= business_date;
    if (rule->upd_sd_qty_sw && a.settle_now) a.sd_qty = checked(decimal::add(a.sd_qty, r.quantity), ok);
    a.activity_qty = checked(decimal::add(a.activity_qty, r.quantity), ok);
    a.activity_amt = checked(decimal::add(a.activity_amt, amount_base), ok);
    ok = ok && within(a.td_qty, limits::position_quantity_units_max) &&
         within(a.sd_qty, limits::position_quantity_units_max) &&
         within(a.activity_qty, limits::balance_units_max) && within(a.activity_amt, limits::balance_units_max);

    // Cash moves in the record's currency: the base currency's tdBal/sdBal
    // or the currency's own entry.
    a.cash = a.foreign ? find_cash(a.ae->bal, r.currency) : nullptr;
    a.td_bal = a.foreign ? (a.cash ? a.cash->td_bal : decimal{}) : bal.td_bal;
    a.sd_bal = a.foreign ? (a.cash ? a.cash->sd_bal : decimal{}) : bal.sd_bal;
    a.sma = bal.sma;
    if (rule->upd_td_bal_sw) a.td_bal = checked(decimal::add(a.td_bal, r.amount), ok);
    if (rule->upd_sd_bal_sw && a.settle_now) a.sd_bal = checked(decimal::add(a.sd_bal, r.amount), ok);
    if (rule->adj_sma_sw) a.sma = checked(decimal::add(a.sma, amount_base), ok);
    ok = ok && within(a.td_bal, limits::balance_units_max) && within(a.sd_bal, limits::balance_units_max) &&
         within(a.sma, limits::balance_units_max);
    if (!ok) {
        reject_record(in, reason::number_out_of_range, "",
                      "applying the record would take a quantity or balance out of range");
        return std::nullopt;
    }
    a.rule = rule;
    return a;
}

} // namespace posd::engine::detail
