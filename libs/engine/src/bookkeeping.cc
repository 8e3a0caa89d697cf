// Bookkeeping: an admitted activity record applied — its position's and
// account's new figures written, its settlement-date effects left pending
// when it settles later, its id remembered, and the record added to its
// control-break group (libs/engine README "Bookkeeping", "Position update").

#include "batch.h"

namespace posd::engine::detail {

void batch::book(const input_record& in, const model::activity_record& r, const admitted& a) {
    position_entry& pe = *a.pe;
    account_entry& ae = *a.ae;
    const model::bookkeeping_rule& rule = *a.rule;
    // Accepted: from here on the record is applied.
    enter_group(pe, ae);
    model::position& p = pe.pos;
    p.td_qty = a.td_qty;
    p.sd_qty = a.sd_qty;
    p.cost_basis = a.cost_basis;
    p.metadata.acct_activity_qty = a.activity_qty;
    p.metadata.acct_activity_amt = a.activity_amt;
    if (p.acct_type_postrmt != a.acct_type) p.acct_type_postrmt = std::string(a.acct_type);
    p.metadata.bond_redeem_sw = r.bond_redeem_sw;
    p.metadata.acct_transferred_sw = r.acct_transferred_sw;
    p.metadata.reverse_split_sw = r.reverse_split_sw;
    p.td_qty_short_side = p.td_qty.is_negative() ? -p.td_qty : decimal{};
    mark_dirty(pe);

    // Closing the previous group re-evaluated this account (derived
    // fields, version), so set only the ledger fields a record moves.
    if (!a.foreign) {
        ae.bal.td_bal = a.td_bal;
        ae.bal.sd_bal = a.sd_bal;
    } else if (a.cash || !a.td_bal.is_zero() || !a.sd_bal.is_zero()) {
        // An entry appears with the currency's first cash movement.
        model::currency_cash& c = a.cash ? *a.cash : add_cash(ae.bal, r.currency);
        c.td_bal = a.td_bal;
        c.sd_bal = a.sd_bal;
    }
    ae.bal.sma = a.sma;
    if (ae.bal.acct_type != a.acct_type) ae.bal.acct_type = std::string(a.acct_type);
    if (!r.acct_category.empty()) ae.bal.acct_category = r.acct_category;
    mark_dirty(ae);

    if (!a.settle_now && (rule.upd_sd_qty_sw || rule.upd_sd_bal_sw)) {
        ws_.pending_added.push_back(model::pending_settlement{
            .settle_date = *r.settle_date,
            .sequence = meta_.next_pending_sequence++,
            .position_key = *pe.key,
            .sd_qty = rule.upd_sd_qty_sw ? r.quantity : decimal{},
            .sd_bal = rule.upd_sd_bal_sw ? r.amount : decimal{},
            .activity_id = r.activity_id,
            .currency = a.foreign ? r.currency : std::string(),
        });
    }

    applied_in_batch_.insert(r.activity_id); // a view into the input, which outlives the batch
    ws_.applied_ids.push_back(r.activity_id);
    ++ws_.counts.applied;
    join_group(in, r);
}

// The average cost basis after adding dq units that cost `cost` to a
// position of q0 units with basis `basis`.
decimal batch::updated_cost_basis(decimal q0, decimal basis, decimal dq, decimal cost, bool& ok) {
    if (dq.is_zero()) return basis;
    if (q0.is_zero() || q0.signum() == dq.signum()) return checked(decimal::add(basis, cost), ok);
    if (dq.abs() <= q0.abs()) {
        decimal share = checked(decimal::div(dq.abs(), q0.abs()), ok);
        decimal part = checked(decimal::mul(basis, share), ok).round(2);
        return checked(decimal::sub(basis, part), ok);
    }
    decimal share = checked(decimal::div(dq.abs() - q0.abs(), dq.abs()), ok);
    return checked(decimal::mul(cost, share), ok).round(2);
}

} // namespace posd::engine::detail
