// Grouping: the control break. Consecutive applied records of one position
// form a group; the group is one change — one new version, one
// position.updated, one market-value, and margin.updated when the balance
// moved — naming the group's activity ids and offsets (libs/engine README
// "Control break"). The event emitters live here too.

#include "batch.h"

#include "base/limits.h"
#include "base/vassert.h"

namespace posd::engine::detail {

void batch::enter_group(position_entry& pe, account_entry& ae) {
    if (group_ && group_->pe != &pe) close_group();
    if (!group_) {
        group_.emplace();
        group_->pe = &pe;
        group_->ae = &ae;
        group_->balance_before = ae.bal;
    }
}

void batch::join_group(const input_record& in, const model::activity_record& r) {
    group_->product_line = r.product_line;
    group_->activity_ids.push_back(r.activity_id);
    group_->offsets.push_back(in.offset);
    if (r.event_time && *r.event_time > group_->event_time) group_->event_time = *r.event_time;
    if (group_->activity_ids.size() >= limits::group_records_max) close_group();
}

void batch::close_group() {
    if (!group_) return;
    group g = std::move(*group_);
    group_.reset();
    position_entry& pe = *g.pe;
    account_entry& ae = *g.ae;
    ++pe.pos.version;
    std::optional<valuation> v = refresh(pe, ae, *ae.key, *pe.key, g.product_line, false);
    if (v) {
        set_house_requirement(pe, ae, *ae.key);
        stamp_concentration(pe, ae);
    }
    evaluate(ae);
    const model::event_cause cause{.kind = model::cause_kind::activity};
    // The market value and the balance name the same records (copies;
    // the position event takes the group's own).
    if (v) emit_market_value(pe.pos, *v, g.activity_ids, g.offsets, cause);
    if (!(ae.bal == g.balance_before)) emit_margin(ae, g.activity_ids, g.offsets, cause);
    emit_position(pe, std::move(g.activity_ids), std::move(g.offsets), g.event_time.ms ? g.event_time : now_,
                  cause);
}

void batch::emit_position(const position_entry& pe, std::vector<std::string> ids, std::vector<std::int64_t> offsets,
                          timestamp event_time, model::event_cause cause) {
    vassert(cause.kind != model::cause_kind::none, "position event without a cause");
    ws_.events.emplace_back(model::position_updated{
        .position = pe.pos,
        .activity_ids = std::move(ids),
        .offsets = std::move(offsets),
        .event_time = event_time,
        .processing_time = now_,
        .cause = std::move(cause),
    });
}

void batch::emit_market_value(const model::position& p, const valuation& v, std::vector<std::string> ids,
                              std::vector<std::int64_t> offsets, model::event_cause cause) {
    vassert(cause.kind != model::cause_kind::none, "market value event without a cause");
    ws_.events.emplace_back(model::market_value_event{
        .product_id = p.cusip,
        .firm = p.firm_postrmt,
        .ledger = p.ledger_postrmt,
        .branch = p.branch_postrmt,
        .base = p.base_postrmt,
        .sub_acct_key = p.sub_acct_key,
        .quantity = p.td_qty,
        .price = v.price,
        .rule = std::string(v.rule),
        .market_value = v.market_value,
        .ts = now_,
        .activity_ids = std::move(ids),
        .offsets = std::move(offsets),
        .cause = std::move(cause),
    });
}

void batch::emit_margin(account_entry& ae, std::vector<std::string> ids, std::vector<std::int64_t> offsets,
                        model::event_cause cause) {
    vassert(cause.kind != model::cause_kind::none, "margin event without a cause");
    ++ae.bal.version;
    ws_.events.emplace_back(model::margin_updated{
        .balance = ae.bal,
        .processing_time = now_,
        .activity_ids = std::move(ids),
        .offsets = std::move(offsets),
        .cause = std::move(cause),
    });
}

} // namespace posd::engine::detail
