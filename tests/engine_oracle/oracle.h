#pragma once
// oracle: a deliberately plain model of the pure engine, written from
// libs/engine/README.md alone (not from the engine's code), for the seeded
// randomized test in oracle_test.cc.
//
// It keeps everything in std::map / std::vector, recomputes every margin
// figure of an account from scratch by walking all of the account's
// positions (no incremental concentration sums), remembers every applied
// activity id (no retention limit) and keeps pending settlements in a plain
// vector. It shares only its inputs with the engine: engine_config,
// reference_data (read-only), and the model types of records, state and
// events. Slow on purpose; correctness by inspection is the point.
//
// One instance per simulated partition; single-threaded.

#include "base/date.h"
#include "base/decimal.h"
#include "engine/config.h"
#include "engine/reference_data.h"
#include "model/events.h"
#include "model/records.h"
#include "model/state.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace posd::oracle {

// One input record, owning its bytes (the engine's input_record only views them).
struct input {
    std::int64_t offset = 0;
    std::string key;
    std::string value;
    model::decoded_record decoded;
};

struct counts {
    std::uint64_t records_in = 0;
    std::uint64_t applied = 0;    // activity records and END_OF_DAYs applied
    std::uint64_t duplicates = 0; // known activity ids and replayed END_OF_DAYs
    std::uint64_t rejected = 0;
    std::uint64_t controls = 0;   // END_OF_DAYs applied (part of applied)
};

struct result {
    oracle::counts counts;
    std::vector<model::output_event> events; // in the oracle's emit order
};

class oracle {
public:
    // Sums over an account's positions in one cusip, recomputed from scratch.
    struct cusip_sums {
        decimal td_qty, market_val, mv_long, mv_short, exch_req, loan_value, house_req;
    };

    oracle(std::int32_t partition, const engine::engine_config& config,
           const engine::reference_data& refdata);

    result apply(std::span<const input> batch, timestamp now);
    result revalue(const std::string& cusip, timestamp now);

    // ---- state, keyed by wire keys ----
    std::map<std::string, model::position> positions;
    std::map<std::string, model::managed_position> managed;
    // MarginBalance as of its last version (what a store holds).
    std::map<std::string, model::margin_balance> balances;
    // (account key, cusip) -> concentration as of the cusip's last change.
    std::map<std::pair<std::string, std::string>, model::portfolio_concentration> concentrations;
    std::vector<model::pending_settlement> pending;
    std::vector<std::string> applied_ids; // every id ever applied, in order
    std::optional<date> business_date;
    std::int64_t next_offset = 0;
    std::uint64_t next_pending_sequence = 1;
    // How often each interesting branch was taken, so that the test can
    // show (and insist) that its streams reach every rule.
    mutable std::map<std::string, std::uint64_t> coverage;

private:
    // The running bookkeeping of one account (what records move directly).
    struct account_book {
        std::string firm, ledger, branch, base, acct_type, acct_category;
        decimal td_bal, sd_bal, sma; // td_bal, sd_bal: base-currency cash only
        std::string base_currency;
        // Other currencies: code -> (trade-date, settlement-date) cash in it,
        // and the rate into the base currency last used for it.
        std::map<std::string, std::pair<decimal, decimal>> foreign;
        std::map<std::string, decimal> last_rate;
    };
    // The base currency of the record's account (the configured one for an
    // account not seen yet), and whether the record's currency is another.
    std::string base_currency_of(const std::string& account) const;
    struct open_group {
        std::string position_key;
        std::vector<std::string> ids;
        std::vector<std::int64_t> offsets;
        std::string product_line; // latest non-empty productLine of the group's records
        timestamp event_time;
    };
    // Why an event is emitted: the records applied (cause activity) and the
    // cause (README.md "Message formats").
    struct why {
        std::vector<std::string> activity_ids;
        std::vector<std::int64_t> offsets;
        model::event_cause cause;
    };
    struct valuation {
        bool valued = false;
        decimal price;
        std::string rule;
    };

    std::optional<model::reject> validate(const model::activity_record& a) const;
    void apply_record(const model::activity_record& a);
    void close_group(timestamp now, result& out);
    void end_of_day(const input& in, date d, timestamp now, result& out);

    // Re-joins the managed position from reference data.
    void join(const std::string& position_key, const std::string& record_product_line, bool take_prev_price);
    // Recomputes every valuation field of a position (market value, loss,
    // loan value, requirements, short expiry) from its quantities, its
    // managed position, reference data and the account's current sums.
    valuation value_position(const std::string& position_key, bool with_house);
    void set_house_requirement(const std::string& position_key);
    void revalue_pass(const std::set<std::string>& keys, bool roll,
                      const std::map<std::string, std::vector<std::string>>& settled, const model::event_cause& cause,
                      timestamp now, result& out);
    void refresh_concentration(const std::string& account, const std::string& cusip);
    std::map<std::string, cusip_sums> account_sums(const std::string& account) const;
    // Name and rules of the account's margin rule list.
    std::pair<std::string, std::span<const model::margin_rule>> rule_list(const std::string& account) const;
    decimal house_rate(const std::string& account, const std::string& cusip) const;
    // Evaluates the account; emits margin.updated when the balance changed.
    void evaluate_account(const std::string& account, timestamp now, result& out, const why& reason);
    void emit_market_value(const std::string& position_key, const valuation& v, timestamp now, result& out,
                           const why& reason);

    void hit(const std::string& what) const { ++coverage[what]; }
    bool is_margin_type(const std::string& t) const { return config_.margin_account_types.contains(t); }
    std::string account_type(const std::string& base) const;

    std::int32_t partition_;
    const engine::engine_config& config_;
    const engine::reference_data& refdata_;
    std::set<std::string> applied_set_; // lookup companion of applied_ids
    std::map<std::string, account_book> books_;
    std::optional<open_group> group_;
};

} // namespace posd::oracle
