#pragma once
// The batch behind partition_engine (engine.h): one batch's walk through
// its records, split by step. Internal to libs/engine.
//
//   batch.cc        the batch: record dispatch, the write set at the end
//   overlay.cc      state access: each key read once through state_reader
//                   into batch-local entries, and the order they changed in
//   admission.cc    an activity record's checks (key, idempotency, the rules
//                   that need reference data or state) and its new figures
//   bookkeeping.cc  an admitted record applied to its position and account,
//                   and its pending settlement
//   grouping.cc     control-break groups: one change per group, its events
//   settlement.cc   END_OF_DAY: the business date, pending settlements
//   revaluation.cc  managed position join, valuation, house requirements,
//                   concentrations, account evaluation; END_OF_DAY's and a
//                   price change's re-valuation of many positions
//
// Every step is a member of `batch`, which holds the one overlay and write
// set the steps share; each file defines its step's members.

#include "engine/engine.h"

#include "engine/valuation.h"

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace posd::engine::detail {

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
    // Its cusip's concentration in its account, once looked up (stable too).
    struct concentration_entry* conc = nullptr;
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

// What admission computed for an accepted activity record: the new values
// of the fields it moves (bookkeeping writes them).
struct admitted {
    position_entry* pe = nullptr;
    account_entry* ae = nullptr;
    const model::bookkeeping_rule* rule = nullptr;
    std::string_view acct_type;
    bool foreign = false;     // the record's currency is not the account's base currency
    bool settle_now = false;  // its settlement-date effects apply now
    model::currency_cash* cash = nullptr; // the foreign currency's entry, when it has one
    decimal td_qty, sd_qty, cost_basis, activity_qty, activity_amt;
    decimal td_bal, sd_bal, sma;
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
model::event_cause cause_of(const model::event_cause& base, const std::vector<std::string>* settled);

// The value, or not ok (and zero) when an operation overflowed.
inline decimal checked(std::optional<decimal> v, bool& ok) {
    if (!v) {
        ok = false;
        return decimal{};
    }
    return *v;
}

// The account's cash entry in a foreign currency, or null.
model::currency_cash* find_cash(model::margin_balance& bal, std::string_view currency);
// A new, empty entry, in currency order. The rate is set when the account
// is evaluated (the record's currency has one: it was checked).
model::currency_cash& add_cash(model::margin_balance& bal, std::string_view currency);

class batch {
public:
    batch(std::int32_t partition, const engine_config& config, const reference_data& refdata,
          state_reader& state, timestamp now);

    void apply(const input_record& in);
    // Sizes the batch's buffers for n records.
    void reserve(std::size_t n);
    void revalue_cusip(std::string_view cusip);
    write_set finish();

private:
    // ---- overlay.cc: state access through the batch overlay ----
    position_entry& position(const std::string& key, const model::activity_record* rec);
    account_entry& account(const std::string& key, const model::position* pos);
    concentration_entry& concentration(account_entry& a, const std::string& account_key, const std::string& cusip);
    // The position's cusip's concentration (looked up once per batch).
    concentration_entry& concentration(position_entry& pe, account_entry& a, const std::string& account_key);
    managed_entry& managed(const std::string& key);
    void move_sums(account_entry& a, model::portfolio_concentration& c, const contribution& from,
                   const contribution& to);
    bool applied_before(std::string_view id);
    void mark_dirty(position_entry& e);
    void mark_dirty(account_entry& a);
    void mark_dirty(managed_entry& m);
    void mark_conc_dirty(account_entry& a, concentration_entry& c);
    void list(account_entry& a);

    // ---- admission.cc ----
    void reject_record(const input_record& in, model::reject r);
    void reject_record(const input_record& in, model::reason code, std::string field, std::string message);
    void apply_activity(const input_record& in, const model::activity_record& r);
    std::optional<admitted> admit(const input_record& in, const model::activity_record& r);

    // ---- bookkeeping.cc ----
    void book(const input_record& in, const model::activity_record& r, const admitted& a);
    static decimal updated_cost_basis(decimal q0, decimal basis, decimal dq, decimal cost, bool& ok);

    // ---- grouping.cc ----
    // Before an accepted record moves anything: closes the open group when
    // the record's position is another one, and opens a group for it.
    void enter_group(position_entry& pe, account_entry& ae);
    // After it is applied: the record joins the group, which closes at
    // limits::group_records_max records.
    void join_group(const input_record& in, const model::activity_record& r);
    void close_group();
    void emit_position(const position_entry& pe, std::vector<std::string> ids, std::vector<std::int64_t> offsets,
                       timestamp event_time, model::event_cause cause);
    void emit_market_value(const model::position& p, const valuation& v, std::vector<std::string> ids,
                           std::vector<std::int64_t> offsets, model::event_cause cause);
    void emit_margin(account_entry& ae, std::vector<std::string> ids, std::vector<std::int64_t> offsets,
                     model::event_cause cause);

    // ---- settlement.cc ----
    void apply_control(const input_record& in, const model::control_record& c);
    void release_settlements(date through, side_changes& changes, balances_before& accounts_before,
                             account_settlements& settled);

    // ---- revaluation.cc ----
    const std::string& join_managed(const std::string& pk, const model::position& p, const model::security* sec,
                                    const model::price* px, std::optional<std::string_view> record_product_line,
                                    bool roll_prices);
    std::optional<valuation> refresh(position_entry& pe, account_entry& ae, const std::string& account_key,
                                     const std::string& pk, std::optional<std::string_view> record_product_line,
                                     bool roll_prices);
    std::span<const model::margin_rule> rules_for(const model::margin_balance& bal, std::string& name) const;
    void evaluate(account_entry& ae);
    static decimal gross_of(const account_entry& ae) { return ae.bal.mv_td_long + ae.bal.mv_td_short; }
    void stamp_concentration(position_entry& pe, account_entry& ae);
    void set_house_requirement(position_entry& pe, account_entry& ae, const std::string& account_key);
    void revalue_positions(side_changes& changes, balances_before& accounts_before,
                           const account_settlements& settled, bool roll_prices, const model::event_cause& cause);

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
    std::unordered_set<std::uint64_t> released_; // sequences of the settlements released
    std::optional<group> group_;
    std::string account_key_, position_key_; // the record's keys (admission)
    std::string side_account_key_;           // a position's account key outside the record path
};

} // namespace posd::engine::detail
