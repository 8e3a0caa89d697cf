// Settlement: END_OF_DAY. The business date moves (or the record is a
// replay, or out of range), the pending settlements due are released in
// (settle date, sequence) order, and every position of the partition is
// re-valued with prices rolled (libs/engine README "END_OF_DAY for date D").

#include "batch.h"

#include "base/vassert.h"

#include <algorithm>
#include <fmt/format.h>

namespace posd::engine::detail {

void batch::apply_control(const input_record& in, const model::control_record& c) {
    close_group();
    vassert(c.action == model::control_action::end_of_day, "unknown control action");
    if (c.business_date < *meta_.business_date) {
        ++ws_.counts.duplicates; // a replayed END_OF_DAY
        return;
    }
    // The business date moves only within base/date.h's range, and by at
    // most end_of_day_max_days_ahead days past the current one.
    if (c.business_date.days() - meta_.business_date->days() > config_.end_of_day_max_days_ahead) {
        reject_record(in, model::reason::date_out_of_range, "businessDate",
                      fmt::format("END_OF_DAY more than {} days after the business date {}",
                                  config_.end_of_day_max_days_ahead, meta_.business_date->to_string()));
        return;
    }
    const date new_date = c.business_date.next_weekday();
    if (!new_date.in_range()) {
        reject_record(in, model::reason::date_out_of_range, "businessDate",
                      "END_OF_DAY would move the business date past 2999-12-31");
        return;
    }
    side_changes changes;
    balances_before accounts_before;
    account_settlements settled;
    release_settlements(new_date, changes, accounts_before, settled);
    state_.for_each_position_key(partition_, [&](std::string_view k) { changes.try_emplace(std::string(k)); });
    for (auto& [k, e] : positions_)
        if (!e.in_store && e.dirty) changes.try_emplace(k);
    meta_.business_date = new_date;
    const model::event_cause cause{.kind = model::cause_kind::end_of_day,
                                   .business_date = c.business_date,
                                   .end_of_day_offset = in.offset};
    revalue_positions(changes, accounts_before, settled, /*roll_prices=*/true, cause);
    ++ws_.counts.applied;
    ++ws_.counts.controls;
}

void batch::release_settlements(date through, side_changes& changes, balances_before& accounts_before,
                         account_settlements& settled) {
    std::vector<model::pending_settlement> due;
    state_.load_pending_due(partition_, through, due);
    std::erase_if(due, [&](const model::pending_settlement& s) { return released_.contains(s.sequence); });
    for (auto it = ws_.pending_added.begin(); it != ws_.pending_added.end();) {
        if (it->settle_date <= through) {
            due.push_back(std::move(*it));
            released_.insert(due.back().sequence);
            it = ws_.pending_added.erase(it); // added and released in one batch: never stored
        } else {
            ++it;
        }
    }
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
        return std::pair{a.settle_date, a.sequence} < std::pair{b.settle_date, b.sequence};
    });
    for (auto& s : due) {
        // Handed to the write set (moved) once this settlement is applied.
        const bool release = released_.insert(s.sequence).second;
        position_entry& pe = position(s.position_key, nullptr);
        pe.pos.sd_qty += s.sd_qty;
        mark_dirty(pe);
        const model::position& p = pe.pos;
        model::write_account_key(side_account_key_, p.firm_postrmt, p.ledger_postrmt, p.branch_postrmt,
                                 p.base_postrmt);
        account_entry& ae = account(side_account_key_, &pe.pos);
        const std::string& ak = *ae.key;
        accounts_before.try_emplace(ak, ae.bal);
        if (s.currency.empty() || s.currency == ae.bal.base_currency) {
            ae.bal.sd_bal += s.sd_bal;
        } else if (!s.sd_bal.is_zero()) {
            model::currency_cash* c = find_cash(ae.bal, s.currency);
            (c ? *c : add_cash(ae.bal, s.currency)).sd_bal += s.sd_bal;
        }
        changes[s.position_key].push_back(s.activity_id);
        settled[ak].push_back(s.activity_id);
        if (release) ws_.pending_released.push_back(std::move(s));
    }
}

} // namespace posd::engine::detail
