#include "engine/engine.h"

#include "base/limits.h"
#include "base/vassert.h"
#include "engine/margin.h"
#include "engine/valuation.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>
#include <unordered_set>

namespace posd::engine {

batch_counts& batch_counts::operator+=(const batch_counts& o) {
    records_in += o.records_in;
    applied += o.applied;
    duplicates += o.duplicates;
    rejected += o.rejected;
    controls += o.controls;
    return *this;
}

namespace {

using model::reason;

// What a position adds to its cusip's concentration and its account's sums.
struct contribution {
    decimal td_qty, market_value, mv_long, mv_short, exch_req, loan_value, house_req;

    static contribution of(const model::position& p) {
        contribution c;
        c.td_qty = p.td_qty;
        c.market_value = p.market_value;
        if (p.contributes_to_equity) {
            if (p.market_value.is_positive()) c.mv_long = p.market_value;
            if (p.market_value.is_negative()) c.mv_short = -p.market_value;
            c.exch_req = p.equity_req;
            c.loan_value = p.loan_value;
            c.house_req = p.house_req;
        }
        return c;
    }
};

// The fields of a position that a re-valuation sets (refresh and
// set_house_requirement): whether they moved decides whether a re-valued
// position is a change, without copying the whole position.
struct valued_fields {
    decimal market_value, loan_value, equity_req, house_req, loss, td_qty_short_side;
    std::optional<date> short_exp_date;
    bool contributes_to_equity = false;

    static valued_fields of(const model::position& p) {
        return {p.market_value, p.loan_value, p.equity_req, p.house_req, p.loss, p.td_qty_short_side,
                p.short_exp_date, p.contributes_to_equity};
    }
    friend bool operator==(const valued_fields&, const valued_fields&) = default;
};

// A position as the batch sees it, and what it last contributed (so that a
// change moves the sums by the difference only).
struct position_entry {
    model::position pos;
    contribution contributed;
    const std::string* key = nullptr; // the overlay's key (stable: the map is node-based)
    bool dirty = false;
    bool in_store = false;
};

// An account as the batch sees it, with the concentrations of the cusips
// the batch touched (loaded one at a time: never all of them).
struct concentration_entry {
    model::portfolio_concentration conc;
    bool dirty = false;
};

struct account_entry {
    model::margin_balance bal;
    string_map<concentration_entry> concs;
    std::vector<concentration_entry*> dirty_concs; // in the order they changed
    const std::string* key = nullptr;
    bool dirty = false;
    bool listed = false; // in the batch's account order (balance or a concentration dirty)
};

struct managed_entry {
    model::managed_position mp;
    bool dirty = false;
};

// The open control-break group.
struct group {
    position_entry* pe = nullptr;
    account_entry* ae = nullptr;
    std::string product_line; // the last record's, for the managed position join
    std::vector<std::string> activity_ids;
    std::vector<std::int64_t> offsets;
    timestamp event_time;
    model::margin_balance balance_before; // the account as the group found it
};

// Positions changed outside the record path (settlement release or
// re-valuation), each with the activity ids it settles (often none).
// Hash maps: an END_OF_DAY walks every position of the partition, and the
// order of the positions does not matter (events of different positions
// carry no order; each position's versions are in order).
using side_changes = string_map<std::vector<std::string>>;
using balances_before = string_map<model::margin_balance>;
// The activity ids each account settled, in the order they were released.
using account_settlements = string_map<std::vector<std::string>>;

// The cause of a change outside the record path: `base` (end_of_day or
// revaluation), or a settlement of that END_OF_DAY when ids settled.
model::event_cause cause_of(const model::event_cause& base, const std::vector<std::string>* settled) {
    model::event_cause c = base;
    if (settled && !settled->empty()) {
        c.kind = model::cause_kind::settlement;
        c.settled_activity_ids = *settled;
    }
    return c;
}

decimal checked(std::optional<decimal> v, bool& ok) {
    if (!v) {
        ok = false;
        return decimal{};
    }
    return *v;
}

bool within(decimal v, std::int64_t units_max) {
    return v.abs() <= decimal::from_units(units_max);
}

// Where the account's cash entry in `currency` is or would go (currency order).
std::vector<model::currency_cash>::iterator cash_slot(model::margin_balance& bal, std::string_view currency) {
    return std::lower_bound(bal.cash.begin(), bal.cash.end(), currency,
                            [](const model::currency_cash& c, std::string_view k) { return c.currency < k; });
}

// The account's cash entry in a foreign currency, or null.
model::currency_cash* find_cash(model::margin_balance& bal, std::string_view currency) {
    auto it = cash_slot(bal, currency);
    return it != bal.cash.end() && it->currency == currency ? &*it : nullptr;
}

// A new, empty entry. The rate is set when the account is evaluated (the
// record's currency has one: it was checked).
model::currency_cash& add_cash(model::margin_balance& bal, std::string_view currency) {
    auto it = cash_slot(bal, currency);
    model::currency_cash c;
    c.currency = std::string(currency);
    return *bal.cash.insert(it, std::move(c));
}

class batch {
public:
    batch(std::int32_t partition, const engine_config& config, const reference_data& refdata,
          state_reader& state, timestamp now)
        : partition_(partition), config_(config), ref_(refdata), state_(state), now_(now) {
        ws_.partition = partition;
        if (!state_.load_meta(partition, meta_)) {
            meta_ = model::partition_meta{};
            meta_.partition = partition;
        }
    }

    void apply(const input_record& in) {
        ++ws_.counts.records_in;
        if (in.offset >= 0 && in.offset < meta_.next_offset) {
            // Already applied by an earlier batch (a redelivery after a
            // crash or rebalance): the state says so, whatever the record is.
            ++ws_.counts.duplicates;
            return;
        }
        if (!meta_.business_date)
            meta_.business_date = config_.initial_business_date.value_or(now_.utc_date());
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

    // Sizes the batch's buffers for n records (a record emits about three
    // events), so that large events are not moved as the vectors grow.
    void reserve(std::size_t n) {
        ws_.events.reserve(n * 3);
        ws_.applied_ids.reserve(n);
        positions_.reserve(n);
        accounts_.reserve(n);
        managed_.reserve(n);
    }

    void revalue_cusip(std::string_view cusip) {
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

    write_set finish() {
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

private:
    // ---- state access through the batch overlay ----

    position_entry& position(const std::string& key, const model::activity_record* rec) {
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

    account_entry& account(const std::string& key, const model::position* pos) {
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

    concentration_entry& concentration(account_entry& a, const std::string& account_key,
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

    // Moves the cusip's concentration and the account's sums by the
    // difference between two contributions of one position.
    void move_sums(account_entry& a, model::portfolio_concentration& c, const contribution& from,
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

    managed_entry& managed(const std::string& key) {
        auto it = managed_.find(key);
        if (it != managed_.end()) return it->second;
        managed_entry m;
        state_.load_managed_position(key, m.mp);
        return managed_.emplace(key, std::move(m)).first->second;
    }

    bool applied_before(std::string_view id) {
        return applied_in_batch_.contains(id) || state_.is_applied(partition_, id);
    }

    void mark_dirty(position_entry& e) {
        if (!e.dirty) {
            e.dirty = true;
            position_order_.push_back(&e);
        }
    }
    void list(account_entry& a) {
        if (!a.listed) {
            a.listed = true;
            account_order_.push_back(&a);
        }
    }
    void mark_dirty(account_entry& a) {
        a.dirty = true;
        list(a);
    }
    void mark_conc_dirty(account_entry& a, concentration_entry& c) {
        if (c.dirty) return;
        c.dirty = true;
        a.dirty_concs.push_back(&c);
        list(a);
    }

    // ---- records ----

    void reject_record(const input_record& in, model::reject r) {
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

    void reject_record(const input_record& in, reason code, std::string field, std::string message) {
        reject_record(in, model::reject{code, std::move(field), std::move(message)});
    }

    void apply_activity(const input_record& in, const model::activity_record& r) {
        // Keys are written into buffers the batch reuses: no allocation per record.
        model::write_account_key(account_key_, r.firm, r.ledger, r.branch, r.base);
        const std::string& acct = account_key_;
        if (in.key != acct) {
            reject_record(in, reason::key_mismatch, "", "message key does not match the record's account key");
            return;
        }
        if (applied_before(r.activity_id)) {
            ++ws_.counts.duplicates;
            return;
        }
        const model::bookkeeping_rule* rule = ref_.bookkeeping_rule(r.maxx_key_code);
        if (!rule) {
            reject_record(in, reason::unknown_key_code, "maxxKeyCode",
                          fmt::format("no bookkeeping rule for maxxKeyCode '{}'", r.maxx_key_code));
            return;
        }
        const date business_date = *meta_.business_date;
        if (r.account_closed_date && *r.account_closed_date <= business_date) {
            reject_record(in, reason::account_closed, "accountClosedDate",
                          fmt::format("account closed on {}", r.account_closed_date->to_string()));
            return;
        }
        std::string product_line = r.product_line;
        if (!r.cusip.empty()) {
            if (product_line.empty())
                if (const auto* sec = ref_.security(r.cusip)) product_line = sec->product_line;
            const model::product_definition* product = ref_.product(product_line);
            if (!product) {
                reject_record(in, reason::unknown_product, "productLine",
                              fmt::format("no product definition for product line '{}'", product_line));
                return;
            }
            if (!product->fractions_allowed_sw && !r.quantity.is_integer()) {
                reject_record(in, reason::fractional_not_allowed, "quantity",
                              fmt::format("product line '{}' does not allow fractional quantities", product_line));
                return;
            }
        }
        if (!r.intracct_eligible_type.empty() && r.intracct_min_amt && r.amount.abs() < *r.intracct_min_amt) {
            reject_record(in, reason::below_min_transfer, "amount",
                          fmt::format("transfer amount below the minimum of {}", r.intracct_min_amt->to_string()));
            return;
        }

        model::write_position_key(position_key_, r.firm, r.ledger, r.branch, r.base, r.sub_acct_key, r.cusip);
        const std::string& pk = position_key_;
        position_entry& pe = position(pk, &r);
        account_entry& ae = account(acct, &pe.pos);
        // The record's currency: absent means the account's base currency.
        const std::string& base_ccy = ae.bal.base_currency;
        const bool foreign = !r.currency.empty() && r.currency != base_ccy;
        bool ok = true;
        // The amount in the base currency, for what is kept in it (SMA, cost
        // basis, acctActivityAmt); cash stays in the record's currency.
        decimal amount_base = r.amount;
        if (foreign) {
            const model::fx_rate* fx = ref_.fx_rate(r.currency, base_ccy);
            if (!fx) {
                reject_record(in, reason::no_fx_rate, "currency",
                              fmt::format("no FX rate from {} into the base currency {} (fx-rates key {}/{})",
                                          r.currency, base_ccy, r.currency, base_ccy));
                return;
            }
            amount_base = checked(to_base_currency(r.amount, fx->rate), ok);
        }
        const std::string_view acct_type = account_type_of(config_, r.base);
        // Work on copies of the fields a record moves: a reject leaves state untouched.
        decimal td_qty = pe.pos.td_qty, sd_qty = pe.pos.sd_qty, cost_basis = pe.pos.cost_basis;
        decimal activity_qty = pe.pos.metadata.acct_activity_qty, activity_amt = pe.pos.metadata.acct_activity_amt;
        if (rule->upd_td_qty_sw) {
            decimal new_qty = checked(decimal::add(td_qty, r.quantity), ok);
            if (ok && r.quantity.is_negative() && new_qty.is_negative() && !may_go_short(config_, acct_type)) {
                reject_record(in, reason::insufficient_position, "quantity",
                              fmt::format("account type '{}' may not go short", acct_type));
                return;
            }
            if (ok) cost_basis = updated_cost_basis(td_qty, cost_basis, r.quantity, -amount_base, ok);
            td_qty = new_qty;
        }
        const bool settle_now = !r.settle_date || *r.settle_date <= business_date;
        if (rule->upd_sd_qty_sw && settle_now) sd_qty = checked(decimal::add(sd_qty, r.quantity), ok);
        activity_qty = checked(decimal::add(activity_qty, r.quantity), ok);
        activity_amt = checked(decimal::add(activity_amt, amount_base), ok);
        ok = ok && within(td_qty, limits::position_quantity_units_max) &&
             within(sd_qty, limits::position_quantity_units_max) &&
             within(activity_qty, limits::balance_units_max) && within(activity_amt, limits::balance_units_max);

        // Cash moves in the record's currency: the base currency's tdBal/sdBal
        // or the currency's own entry.
        model::currency_cash* cash = foreign ? find_cash(ae.bal, r.currency) : nullptr;
        decimal td_bal = foreign ? (cash ? cash->td_bal : decimal{}) : ae.bal.td_bal;
        decimal sd_bal = foreign ? (cash ? cash->sd_bal : decimal{}) : ae.bal.sd_bal;
        decimal sma = ae.bal.sma;
        if (rule->upd_td_bal_sw) td_bal = checked(decimal::add(td_bal, r.amount), ok);
        if (rule->upd_sd_bal_sw && settle_now) sd_bal = checked(decimal::add(sd_bal, r.amount), ok);
        if (rule->adj_sma_sw) sma = checked(decimal::add(sma, amount_base), ok);
        ok = ok && within(td_bal, limits::balance_units_max) && within(sd_bal, limits::balance_units_max) &&
             within(sma, limits::balance_units_max);
        if (!ok) {
            reject_record(in, reason::number_out_of_range, "",
                          "applying the record would take a quantity or balance out of range");
            return;
        }

        // Accepted: from here on the record is applied.
        if (group_ && group_->pe != &pe) close_group();
        if (!group_) {
            group_.emplace();
            group_->pe = &pe;
            group_->ae = &ae;
            group_->balance_before = ae.bal;
        }
        model::position& p = pe.pos;
        p.td_qty = td_qty;
        p.sd_qty = sd_qty;
        p.cost_basis = cost_basis;
        p.metadata.acct_activity_qty = activity_qty;
        p.metadata.acct_activity_amt = activity_amt;
        if (p.acct_type_postrmt != acct_type) p.acct_type_postrmt = std::string(acct_type);
        p.metadata.bond_redeem_sw = r.bond_redeem_sw;
        p.metadata.acct_transferred_sw = r.acct_transferred_sw;
        p.metadata.reverse_split_sw = r.reverse_split_sw;
        p.td_qty_short_side = p.td_qty.is_negative() ? -p.td_qty : decimal{};
        mark_dirty(pe);

        // Closing the previous group re-evaluated this account (derived
        // fields, version), so set only the ledger fields a record moves.
        if (!foreign) {
            ae.bal.td_bal = td_bal;
            ae.bal.sd_bal = sd_bal;
        } else if (cash || !td_bal.is_zero() || !sd_bal.is_zero()) {
            // An entry appears with the currency's first cash movement.
            model::currency_cash& c = cash ? *cash : add_cash(ae.bal, r.currency);
            c.td_bal = td_bal;
            c.sd_bal = sd_bal;
        }
        ae.bal.sma = sma;
        if (ae.bal.acct_type != acct_type) ae.bal.acct_type = std::string(acct_type);
        if (!r.acct_category.empty()) ae.bal.acct_category = r.acct_category;
        mark_dirty(ae);

        if (!settle_now && (rule->upd_sd_qty_sw || rule->upd_sd_bal_sw)) {
            ws_.pending_added.push_back(model::pending_settlement{
                .settle_date = *r.settle_date,
                .sequence = meta_.next_pending_sequence++,
                .position_key = pk,
                .sd_qty = rule->upd_sd_qty_sw ? r.quantity : decimal{},
                .sd_bal = rule->upd_sd_bal_sw ? r.amount : decimal{},
                .activity_id = r.activity_id,
                .currency = foreign ? r.currency : std::string(),
            });
        }

        applied_in_batch_.insert(r.activity_id); // a view into the input, which outlives the batch
        ws_.applied_ids.push_back(r.activity_id);
        ++ws_.counts.applied;

        group_->product_line = r.product_line;
        group_->activity_ids.push_back(r.activity_id);
        group_->offsets.push_back(in.offset);
        if (r.event_time && *r.event_time > group_->event_time) group_->event_time = *r.event_time;
        if (group_->activity_ids.size() >= limits::group_records_max) close_group();
    }

    // The average cost basis after adding dq units that cost `cost` to a
    // position of q0 units with basis `basis`.
    static decimal updated_cost_basis(decimal q0, decimal basis, decimal dq, decimal cost, bool& ok) {
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

    // ---- group close: one change of one position ----

    void close_group() {
        if (!group_) return;
        group g = std::move(*group_);
        group_.reset();
        position_entry& pe = *g.pe;
        account_entry& ae = *g.ae;
        ++pe.pos.version;
        std::optional<valuation> v = refresh(pe, ae, *ae.key, *pe.key, g.product_line, false);
        if (v) {
            set_house_requirement(pe, ae, *ae.key);
            stamp_concentration(ae, pe.pos.cusip);
        }
        evaluate(ae);
        const model::event_cause cause{.kind = model::cause_kind::activity};
        // The market value and the balance name the same records (copies;
        // the position event takes the group's own).
        if (v) emit_market_value(pe.pos, *v, g.activity_ids, g.offsets, cause);
        if (!(ae.bal == g.balance_before)) emit_margin(ae, g.activity_ids, g.offsets, cause);
        emit_position(pe, std::move(g.activity_ids), std::move(g.offsets),
                      g.event_time.ms ? g.event_time : now_, cause);
    }

    // Re-joins the managed position and re-values the position, moving the
    // account's concentration by the difference. Returns the valuation, or
    // nullopt for positions that are not valued (cash, unknown product).
    // Joins the managed position (product control) from reference data and
    // returns the product line it now names.
    const std::string& join_managed(const std::string& pk, const model::position& p, const model::security* sec,
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
        if (changed && !me.dirty) {
            managed_order_.push_back(&me);
            me.dirty = true;
        }
        return m.product_line;
    }

    // `record_product_line` is the applying record's (empty when it has
    // none), or nullopt outside the record path.
    std::optional<valuation> refresh(position_entry& pe, account_entry& ae, const std::string& account_key,
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
        concentration_entry& ce = concentration(ae, account_key, p.cusip);
        move_sums(ae, ce.conc, pe.contributed, now);
        mark_conc_dirty(ae, ce);
        pe.contributed = now;
        return v;
    }

    std::span<const model::margin_rule> rules_for(const model::margin_balance& bal, std::string& name) const {
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

    void evaluate(account_entry& ae) {
        convert_cash(ref_, ae.bal);
        evaluate_margin(config_, is_margin_account(config_, ae.bal.acct_type), ae.bal);
        mark_dirty(ae);
    }

    static decimal gross_of(const account_entry& ae) { return ae.bal.mv_td_long + ae.bal.mv_td_short; }

    // Records the concentration of a cusip as of its change (only the cusips
    // that changed, so that the stored value does not depend on batching).
    void stamp_concentration(account_entry& ae, const std::string& cusip) {
        std::string rule_name;
        rules_for(ae.bal, rule_name);
        auto& c = ae.concs.find(cusip)->second.conc;
        c.cusip_conc = concentration_of(c, gross_of(ae));
        c.acct_category_conc = rule_name;
    }

    // The position's house requirement at its cusip's concentration now,
    // moving the concentration's and the account's sums by the difference.
    void set_house_requirement(position_entry& pe, account_entry& ae, const std::string& account_key) {
        model::position& p = pe.pos;
        model::portfolio_concentration& c = concentration(ae, account_key, p.cusip).conc;
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

    // ---- events ----

    void emit_position(const position_entry& pe, std::vector<std::string> ids, std::vector<std::int64_t> offsets,
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

    void emit_market_value(const model::position& p, const valuation& v, std::vector<std::string> ids,
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

    void emit_margin(account_entry& ae, std::vector<std::string> ids, std::vector<std::int64_t> offsets,
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

    // ---- END_OF_DAY and re-valuation ----

    void apply_control(const input_record& in, const model::control_record& c) {
        close_group();
        vassert(c.action == model::control_action::end_of_day, "unknown control action");
        if (c.business_date < *meta_.business_date) {
            ++ws_.counts.duplicates; // a replayed END_OF_DAY
            return;
        }
        // The business date moves only within base/date.h's range, and by at
        // most end_of_day_max_days_ahead days past the current one.
        if (c.business_date.days() - meta_.business_date->days() > config_.end_of_day_max_days_ahead) {
            reject_record(in, reason::date_out_of_range, "businessDate",
                          fmt::format("END_OF_DAY more than {} days after the business date {}",
                                      config_.end_of_day_max_days_ahead, meta_.business_date->to_string()));
            return;
        }
        const date new_date = c.business_date.next_weekday();
        if (!new_date.in_range()) {
            reject_record(in, reason::date_out_of_range, "businessDate",
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

    void release_settlements(date through, side_changes& changes, balances_before& accounts_before,
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
            if (!released_.contains(s.sequence)) {
                released_.insert(s.sequence);
                ws_.pending_released.push_back(s);
            }
            position_entry& pe = position(s.position_key, nullptr);
            pe.pos.sd_qty += s.sd_qty;
            mark_dirty(pe);
            const std::string ak = model::account_of(model::position_key{s.position_key}).value();
            account_entry& ae = account(ak, &pe.pos);
            accounts_before.try_emplace(ak, ae.bal);
            if (s.currency.empty() || s.currency == ae.bal.base_currency) {
                ae.bal.sd_bal += s.sd_bal;
            } else if (!s.sd_bal.is_zero()) {
                model::currency_cash* c = find_cash(ae.bal, s.currency);
                (c ? *c : add_cash(ae.bal, s.currency)).sd_bal += s.sd_bal;
            }
            changes[s.position_key].push_back(s.activity_id);
            settled[ak].push_back(s.activity_id);
        }
    }

    // Re-values the given positions; each that changed (or settled) gets one
    // new version; every touched account is re-evaluated. Events carry
    // `cause`, or a settlement of it for a position or account that settled.
    void revalue_positions(side_changes& changes, balances_before& accounts_before,
                           const account_settlements& settled, bool roll_prices, const model::event_cause& cause) {
        struct item {
            const std::string* key;
            position_entry* pe;
            account_entry* ae;
            std::string account_key;
            valued_fields start;
            std::optional<valuation> v;
            std::vector<std::string>* ids;
        };
        std::vector<item> items;
        for (auto& [k, ch] : changes) {
            position_entry& pe = position(k, nullptr);
            std::string ak = pe.pos.account().value();
            account_entry& ae = account(ak, &pe.pos);
            accounts_before.try_emplace(ak, ae.bal);
            valued_fields start = valued_fields::of(pe.pos);
            auto v = refresh(pe, ae, ak, k, std::nullopt, roll_prices);
            items.push_back({&k, &pe, &ae, std::move(ak), start, std::move(v), &ch});
        }
        // House requirements and concentrations once every position has
        // moved, so that the order of positions does not matter.
        for (auto& it : items)
            if (it.v) set_house_requirement(*it.pe, *it.ae, it.account_key);
        for (auto& it : items)
            if (it.v) stamp_concentration(*it.ae, it.pe->pos.cusip);
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

    std::int32_t partition_;
    const engine_config& config_;
    const reference_data& ref_;
    state_reader& state_;
    timestamp now_;
    model::partition_meta meta_;
    write_set ws_;
    string_map<position_entry> positions_;
    string_map<account_entry> accounts_;
    string_map<managed_entry> managed_;
    std::vector<position_entry*> position_order_;
    std::vector<managed_entry*> managed_order_;
    std::vector<account_entry*> account_order_;
    std::unordered_set<std::string_view> applied_in_batch_;
    std::set<std::uint64_t> released_;
    std::optional<group> group_;
    std::string account_key_, position_key_; // the record's keys (apply_activity)
};

} // namespace

partition_engine::partition_engine(std::int32_t partition, const engine_config& config,
                                   const reference_data& refdata)
    : partition_(partition), config_(config), refdata_(refdata) {}

write_set partition_engine::apply(state_reader& state, std::span<const input_record> records, timestamp now) {
    vassert(records.size() <= limits::batch_records_max, "batch of {} records over the limit {}",
            records.size(), limits::batch_records_max);
    batch b(partition_, config_, refdata_, state, now);
    b.reserve(records.size());
    for (const auto& r : records) b.apply(r);
    return b.finish();
}

write_set partition_engine::revalue(state_reader& state, std::string_view cusip, timestamp now) {
    batch b(partition_, config_, refdata_, state, now);
    b.revalue_cusip(cusip);
    return b.finish();
}

write_set partition_engine::revalue(state_reader& state, std::span<const std::string> cusips, timestamp now) {
    batch b(partition_, config_, refdata_, state, now);
    for (const std::string& cusip : cusips) b.revalue_cusip(cusip);
    return b.finish();
}

} // namespace posd::engine
