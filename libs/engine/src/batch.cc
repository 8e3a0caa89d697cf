// The batch: dispatches each input record to its step and hands the
// batch's entities over to the write set at the end (batch.h).

#include "batch.h"

#include <algorithm>

namespace posd::engine::detail {

model::event_cause cause_of(const model::event_cause& base, const std::vector<std::string>* settled) {
    model::event_cause c = base;
    if (settled && !settled->empty()) {
        c.kind = model::cause_kind::settlement;
        c.settled_activity_ids = *settled;
    }
    return c;
}

namespace {
// Where the account's cash entry in `currency` is or would go (currency order).
std::vector<model::currency_cash>::iterator cash_slot(model::margin_balance& bal, std::string_view currency) {
    return std::lower_bound(bal.cash.begin(), bal.cash.end(), currency,
                            [](const model::currency_cash& c, std::string_view k) { return c.currency < k; });
}
} // namespace

model::currency_cash* find_cash(model::margin_balance& bal, std::string_view currency) {
    auto it = cash_slot(bal, currency);
    return it != bal.cash.end() && it->currency == currency ? &*it : nullptr;
}

model::currency_cash& add_cash(model::margin_balance& bal, std::string_view currency) {
    auto it = cash_slot(bal, currency);
    model::currency_cash c;
    c.currency = std::string(currency);
    return *bal.cash.insert(it, std::move(c));
}

batch::batch(std::int32_t partition, const engine_config& config, const reference_data& refdata,
             state_reader& state, timestamp now)
    : partition_(partition), config_(config), ref_(refdata), state_(state), now_(now) {
    ws_.partition = partition;
    if (!state_.load_meta(partition, meta_)) {
        meta_ = model::partition_meta{};
        meta_.partition = partition;
    }
}

void batch::apply(const input_record& in) {
    ++ws_.counts.records_in;
    if (in.offset >= 0 && in.offset < meta_.next_offset) {
        // Already applied by an earlier batch (a redelivery after a
        // crash or rebalance): the state says so, whatever the record is.
        ++ws_.counts.duplicates;
        return;
    }
    if (!meta_.business_date) meta_.business_date = config_.initial_business_date.value_or(now_.utc_date());
    std::visit(
        [&](const auto& rec) {
            using T = std::decay_t<decltype(rec)>;
            if constexpr (std::is_same_v<T, model::reject>) {
                reject_record(in, rec);
            } else if constexpr (std::is_same_v<T, model::control_record>) {
                apply_control(in, rec);
            } else {
                apply_activity(in, rec);
            }
        },
        in.decoded);
    if (in.offset >= 0) meta_.next_offset = std::max(meta_.next_offset, in.offset + 1);
}

// A record emits about three events: sized up front so that large events
// are not moved as the vectors grow.
void batch::reserve(std::size_t n) {
    ws_.events.reserve(n * 3);
    ws_.applied_ids.reserve(n);
    positions_.reserve(n);
    accounts_.reserve(n);
    managed_.reserve(n);
}

write_set batch::finish() {
    close_group();
    ws_.meta = meta_;
    // The batch ends here: its entities move into the write set.
    ws_.positions.reserve(position_order_.size());
    for (auto* e : position_order_) ws_.positions.push_back(std::move(e->pos));
    ws_.managed_positions.reserve(managed_order_.size());
    for (auto* m : managed_order_) ws_.managed_positions.push_back(std::move(m->mp));
    ws_.balances.reserve(account_order_.size());
    for (auto* a : account_order_) {
        if (a->dirty) ws_.balances.push_back(std::move(a->bal));
        for (auto* c : a->dirty_concs) ws_.concentrations.push_back(std::move(c->conc));
    }
    return std::move(ws_);
}

} // namespace posd::engine::detail
