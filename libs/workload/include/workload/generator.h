#pragma once
// activity_generator: a seeded, deterministic stream of realistic brokerage
// input — activity records, END_OF_DAY control records and price updates —
// each with the outcome the engine must produce for it.
//
// The generator keeps its own model of every account's holdings and
// trade-date cash (an oracle), so that each item's outcome is certain:
// valid records never sell more than is held in an account that may not go
// short, duplicates re-send a record applied shortly before, and each bad
// record is built to fail with exactly one reject reason, whatever the
// engine's state. That holds as long as every item is fed, in order, to one
// partition_engine whose initial_business_date is the config's
// start_business_date (or the items of each account stay in order and
// every END_OF_DAY reaches every partition, as on Kafka).
//
// Lifecycle: construct from a workload_config; call next() as often as
// needed (the stream is unbounded). Not thread-safe; one generator per
// producer thread. Memory grows with the number of accounts and positions,
// not with the number of items.

#include "workload/config.h"
#include "workload/random.h"
#include "workload/reference_set.h"

#include "base/date.h"
#include "base/decimal.h"
#include "model/reason.h"
#include "model/records.h"
#include "model/refdata.h"

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posd::workload {

enum class item_kind : std::uint8_t {
    activity = 1,     // topic `activity`, key = account key (may be deliberately broken)
    control = 2,      // topic `activity`, key empty; write to every partition
    price_update = 3, // topic `prices`, key = cusip; load into reference data, then revalue
};

enum class outcome : std::uint8_t {
    applied = 1,   // activity applied, END_OF_DAY applied, price loaded
    duplicate = 2, // activityId already applied, or an END_OF_DAY replay
    rejected = 3,  // dead-lettered with `reason`
};

std::string_view to_string(item_kind k);
std::string_view to_string(outcome o);

// Content types the generator attaches (empty = the topic's default, JSON).
inline constexpr std::string_view content_type_protobuf = "application/x-protobuf";
inline constexpr std::string_view content_type_unsupported = "application/xml";

struct item {
    std::uint64_t sequence = 0;  // 0-based position in the stream
    item_kind kind = item_kind::activity;
    std::string key;             // Kafka message key
    std::string value;           // record bytes: JSON, or protobuf when content_type says so
    std::string content_type;    // empty: JSON
    outcome expected = outcome::applied;
    model::reason reason = model::reason::malformed; // meaningful when expected == rejected
    std::string activity_id;     // activity items with an id (empty for some broken records)
    std::string maxx_key_code;   // activity items: the rule it was built as (valid ones)
    std::optional<model::price> price; // price_update: the new price record
    date business_date;          // control: the END_OF_DAY's date; else the date it was generated on
    timestamp event_time;        // the generator's clock when the item was made
};

struct generator_counts {
    std::uint64_t items = 0;
    std::uint64_t activities = 0; // activity items, whatever their outcome
    std::uint64_t controls = 0;
    std::uint64_t price_updates = 0;
    std::uint64_t applied = 0;    // activity and control items expected applied
    std::uint64_t duplicates = 0;
    std::uint64_t rejected = 0;
    std::array<std::uint64_t, model::reason_max + 1> rejected_by_reason{};
};

class activity_generator {
public:
    explicit activity_generator(const workload_config& config);
    activity_generator(const activity_generator&) = delete;
    activity_generator& operator=(const activity_generator&) = delete;

    // The next item of the stream; next(out) reuses out's buffers.
    item next();
    void next(item& out);
    // The next n items.
    std::vector<item> take(std::size_t n);
    // True while fills or journal legs are queued: for_each_expected_* count
    // them already, so a caller comparing state drains them first.
    bool has_queued() const { return !pending_.empty(); }

    const workload_config& config() const { return config_; }
    const reference_set& reference() const { return refdata_; }
    const generator_counts& counts() const { return counts_; }
    // The business date the next record is generated for.
    date business_date() const { return business_date_; }
    std::size_t account_count() const { return accounts_.size(); }
    const std::string& account_key(std::size_t index) const { return accounts_[index].key; }

    // The oracle: what the engine's state must show after every item so far
    // was applied (trade-date quantities of positions with a cusip, and
    // trade-date balances of accounts). Zero quantities are included.
    void for_each_expected_position(const std::function<void(std::string_view position_key, decimal td_qty)>& fn) const;
    void for_each_expected_balance(const std::function<void(std::string_view account_key, decimal td_bal)>& fn) const;

    // Which share of activity items is sent as protobuf (per mille, default 0);
    // tools and the exactly-once tests mix both encodings.
    void set_protobuf_per_mille(std::uint32_t per_mille) { protobuf_per_mille_ = per_mille; }

private:
    struct holding {
        std::uint32_t cusip = 0;
        char sub = '1';
        decimal td_qty;
    };
    struct account {
        std::string firm, ledger, branch, base, key;
        char type = '1'; // last digit of base
        std::string acct_category, rr, us_citizenship, ny_resident, paper;
        std::vector<holding> holdings;
        decimal td_bal;
        bool active = false; // some record of it applied
    };
    struct recent {
        std::string key, value, content_type, activity_id, maxx_key_code;
    };

    void build_accounts();
    std::size_t pick_account();
    std::uint32_t pick_cusip();
    std::uint32_t pick_cusip_in(std::string_view product_line);
    bool account_can_short(const account& a) const { return a.type == '3'; }
    holding* find_holding(account& a, std::uint32_t cusip, char sub);
    holding& get_holding(account& a, std::uint32_t cusip, char sub);
    holding* pick_long(account& a);
    holding* pick_short(account& a);

    void emit(item& out);
    void emit_end_of_day(item& out);
    void emit_price_update(item& out);
    bool emit_duplicate(item& out);
    void emit_valid(item& out);
    void emit_bad(item& out);

    model::activity_record base_record(const account& a, std::string_view key_code);
    void set_instrument(model::activity_record& r, std::uint32_t cusip);
    void price_trade(model::activity_record& r, std::uint32_t cusip, bool buy);
    decimal whole_or_fraction_quantity(std::uint32_t cusip, std::int64_t lo, std::int64_t hi);
    // Splits a trade into fills, applies its effect to the oracle and queues it.
    void queue_trade(std::size_t account, model::activity_record r, std::uint32_t cusip);
    void queue(std::size_t account, model::activity_record r, std::optional<std::uint32_t> cusip);
    void encode(const model::activity_record& r, item& out, bool allow_protobuf);
    void finish(item& out);
    std::string next_activity_id();
    decimal current_price(std::uint32_t cusip) const { return prices_[cusip]; }
    const model::product_definition& product_of(std::uint32_t cusip) const;

    workload_config config_;
    reference_set refdata_;
    rng rng_;
    zipf_sampler account_zipf_;
    zipf_sampler cusip_zipf_;
    std::vector<account> accounts_;
    std::vector<decimal> prices_;           // the generator's current price per cusip (also unpriced ones)
    std::vector<std::optional<decimal>> closes_; // last close per priced cusip (prevPrice of updates)
    std::vector<std::uint32_t> product_index_; // cusip -> index into refdata_.products
    std::vector<std::vector<std::uint32_t>> cusips_by_line_;
    std::vector<std::uint32_t> priced_cusips_;

    std::deque<item> pending_; // queued fills and journal legs, already in the oracle
    std::deque<recent> recent_;                        // recently applied activity items
    std::optional<date> last_end_of_day_;
    bool end_of_day_due_ = false;
    bool price_update_due_ = false;
    date business_date_;
    timestamp clock_;
    std::uint64_t sequence_ = 0;
    std::uint64_t next_id_ = 0;
    std::uint32_t protobuf_per_mille_ = 0;
    generator_counts counts_;
    std::string scratch_;
};

} // namespace posd::workload
