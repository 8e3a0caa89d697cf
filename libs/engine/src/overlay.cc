// The batch overlay: every key is read through state_reader at most once
// per batch into an entry the steps then work on; the entries that changed
// are listed in the order they first changed, which is the write set's.

#include "batch.h"

#include "base/vassert.h"
#include "engine/valuation.h"

namespace posd::engine::detail {

position_entry& batch::position(const std::string& key, const model::activity_record* rec) {
    auto it = positions_.find(key);
    if (it != positions_.end()) return it->second;
    position_entry e;
    e.in_store = state_.load_position(key, e.pos);
    if (!e.in_store) {
        vassert(rec != nullptr, "position {} not in state", model::mask_account(key));
        e.pos.firm_postrmt = rec->firm;
        e.pos.ledger_postrmt = rec->ledger;
        e.pos.branch_postrmt = rec->branch;
        e.pos.base_postrmt = rec->base;
        e.pos.sub_acct_key = rec->sub_acct_key;
        e.pos.cusip = rec->cusip;
    }
    e.contributed = contribution::of(e.pos);
    auto& [k, entry] = *positions_.emplace(key, std::move(e)).first;
    entry.key = &k;
    return entry;
}

account_entry& batch::account(const std::string& key, const model::position* pos) {
    auto it = accounts_.find(key);
    if (it != accounts_.end()) return it->second;
    account_entry a;
    if (!state_.load_balance(key, a.bal)) {
        vassert(pos != nullptr, "account {} not in state", model::mask_account(key));
        a.bal.firm = pos->firm_postrmt;
        a.bal.ledger = pos->ledger_postrmt;
        a.bal.branch = pos->branch_postrmt;
        a.bal.base = pos->base_postrmt;
        a.bal.acct_type = std::string(account_type_of(config_, a.bal.base));
    }
    // Fixed when the account is created; state from before currencies
    // were kept has none: the configured one.
    if (a.bal.base_currency.empty()) a.bal.base_currency = config_.base_currency;
    auto& [k, entry] = *accounts_.emplace(key, std::move(a)).first;
    entry.key = &k;
    return entry;
}

concentration_entry& batch::concentration(account_entry& a, const std::string& account_key,
                                          const std::string& cusip) {
    auto it = a.concs.find(cusip);
    if (it != a.concs.end()) return it->second;
    concentration_entry c;
    if (!state_.load_concentration(account_key, cusip, c.conc)) {
        c.conc.account = account_key;
        c.conc.cusip = cusip;
    }
    return a.concs.emplace(cusip, std::move(c)).first->second;
}

concentration_entry& batch::concentration(position_entry& pe, account_entry& a, const std::string& account_key) {
    if (!pe.conc) pe.conc = &concentration(a, account_key, pe.pos.cusip);
    return *pe.conc;
}

managed_entry& batch::managed(const std::string& key) {
    auto it = managed_.find(key);
    if (it != managed_.end()) return it->second;
    managed_entry m;
    state_.load_managed_position(key, m.mp);
    return managed_.emplace(key, std::move(m)).first->second;
}

// Moves the cusip's concentration and the account's sums by the difference
// between two contributions of one position.
void batch::move_sums(account_entry& a, model::portfolio_concentration& c, const contribution& from,
                      const contribution& to) {
    c.td_qty_conc += to.td_qty - from.td_qty;
    c.market_val += to.market_value - from.market_value;
    c.mv_long += to.mv_long - from.mv_long;
    c.mv_short += to.mv_short - from.mv_short;
    c.exch_req += to.exch_req - from.exch_req;
    c.loan_value += to.loan_value - from.loan_value;
    c.house_req += to.house_req - from.house_req;
    a.bal.mv_td_long += to.mv_long - from.mv_long;
    a.bal.mv_td_short += to.mv_short - from.mv_short;
    a.bal.reqt_exch += to.exch_req - from.exch_req;
    a.bal.loan_value += to.loan_value - from.loan_value;
    a.bal.reqt_house += to.house_req - from.house_req;
}

bool batch::applied_before(std::string_view id) {
    return applied_in_batch_.contains(id) || state_.is_applied(partition_, id);
}

void batch::mark_dirty(position_entry& e) {
    if (!e.dirty) {
        e.dirty = true;
        position_order_.push_back(&e);
    }
}

void batch::list(account_entry& a) {
    if (!a.listed) {
        a.listed = true;
        account_order_.push_back(&a);
    }
}

void batch::mark_dirty(account_entry& a) {
    a.dirty = true;
    list(a);
}

void batch::mark_dirty(managed_entry& m) {
    if (!m.dirty) {
        managed_order_.push_back(&m);
        m.dirty = true;
    }
}

void batch::mark_conc_dirty(account_entry& a, concentration_entry& c) {
    if (c.dirty) return;
    c.dirty = true;
    a.dirty_concs.push_back(&c);
    list(a);
}

} // namespace posd::engine::detail
