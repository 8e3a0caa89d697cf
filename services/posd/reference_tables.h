#pragma once
// reference_tables: the global tables of SPEC §4 read from the compacted
// reference topics. Every instance reads every partition of every reference
// topic in full (no consumer group, no committed offsets): load() to the end
// at start, then poll() between batches for what arrives later. A record
// upserts its entity; a tombstone (null value) erases it. Keys:
//   refdata.bookkeeping-rules  maxxKeyCode
//   refdata.products           prodline
//   refdata.securities         cusip
//   refdata.margin-rules       nyrsMgnRule|nyrsMgnSeq  (e.g. "DEFAULT|10")
//   prices                     cusip
//   fx-rates                   currency/baseCurrency  (e.g. "JPY/USD")
// Values are the JSON of the record (libs/codec). A value that does not
// decode is counted and logged with its reason and skipped (the record
// stays in its topic); the table keeps the previous entity.
//
// Re-valuation marks: a price or security change re-values the positions in
// that cusip. For each prices and securities partition the tables know how
// far they have read, and each activity partition's state remembers how far
// its positions are re-valued (partition_meta::revalued_through), so an
// owner that starts finds the cusips whose changes its state has not seen
// yet (changed_since) — none are lost through a crash or a move.
//
// Threading: one thread (kafka_service's) calls everything; data() is read
// by that thread's engines between calls.

#include "engine/reference_data.h"
#include "ops/metrics.h"
#include "outputs/topics.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace posd::service {

using outputs::reference_topics;

struct reference_counts {
    std::uint64_t applied = 0;  // upserts and erases
    std::uint64_t rejected = 0; // values that did not decode (skipped)
    std::map<std::string, std::uint64_t> rejected_by_reason;
};

class reference_tables {
public:
    // `kafka`: librdkafka properties (bootstrap.servers, security...).
    // `metrics` (optional, must outlive the tables) counts the skipped
    // records by reason (posd_refdata_rejected_total).
    // Throws std::runtime_error when a topic does not exist.
    reference_tables(const std::map<std::string, std::string>& kafka, reference_topics topics,
                     std::chrono::milliseconds timeout, ops::service_metrics* metrics = nullptr);
    ~reference_tables();
    reference_tables(const reference_tables&) = delete;
    reference_tables& operator=(const reference_tables&) = delete;

    // Reads every reference partition up to its end as of the call.
    void load();
    // Applies what has arrived, waiting at most `wait` for the first record.
    // Returns the cusips whose price or security changed (each once).
    std::vector<std::string> poll(std::chrono::milliseconds wait);

    engine::reference_data& data();
    // How far each partition of the prices topic, then of the securities
    // topic, has been read: the value a partition's meta.revalued_through
    // takes once every change read so far is re-valued there.
    std::vector<std::int64_t> marks() const;
    // Cusips with a price or security record at or after `revalued_through`
    // (missing entries count as 0: everything).
    std::vector<std::string> changed_since(std::span<const std::int64_t> revalued_through) const;
    reference_counts counts() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// The key of a reference record in its topic (see above).
std::string reference_key(const model::bookkeeping_rule& r);
std::string reference_key(const model::product_definition& p);
std::string reference_key(const model::security& s);
std::string reference_key(const model::price& p);
std::string reference_key(const model::margin_rule& r);
std::string reference_key(const model::fx_rate& r);

} // namespace posd::service
