#pragma once
// The engine's view of durable state, and what one batch changes.
//
// state_reader is the seam between the pure engine and a store: the
// in-memory store (engine/memory_state.h) backs tests and benchmarks, the
// RocksDB store backs the service. The engine reads each key at most once
// per batch and keeps what it read in a batch-local overlay, so a reader
// need not see the batch's own writes.
//
// write_set is the whole effect of one batch: the new versions of every
// entity it touched, the output events, the applied ids, the partition's
// next offset and business date. The store applies it as one atomic write;
// the service publishes its events in one Kafka transaction.

#include "model/events.h"
#include "model/state.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace posd::engine {

class state_reader {
public:
    virtual ~state_reader() = default;
    // Each load returns false when the key has no state yet.
    virtual bool load_meta(std::int32_t partition, model::partition_meta& out) = 0;
    virtual bool load_position(std::string_view position_key, model::position& out) = 0;
    virtual bool load_managed_position(std::string_view position_key, model::managed_position& out) = 0;
    virtual bool load_balance(std::string_view account_key, model::margin_balance& out) = 0;
    // One concentration of an account: the engine never needs them all, so
    // an account's cost does not grow with the number of cusips it holds.
    virtual bool load_concentration(std::string_view account_key, std::string_view cusip,
                                    model::portfolio_concentration& out) = 0;
    virtual bool is_applied(std::int32_t partition, std::string_view activity_id) = 0;
    // Pending settlements of the partition due on or before `through`, in
    // (settle_date, sequence) order.
    virtual void load_pending_due(std::int32_t partition, date through,
                                  std::vector<model::pending_settlement>& out) = 0;
    // Keys of every position of the partition, and of those in one cusip.
    virtual void for_each_position_key(std::int32_t partition,
                                       const std::function<void(std::string_view)>& fn) = 0;
    virtual void for_each_position_key_in_cusip(std::int32_t partition, std::string_view cusip,
                                                const std::function<void(std::string_view)>& fn) = 0;
};

struct batch_counts {
    std::uint64_t records_in = 0;   // input records seen (activity and control)
    std::uint64_t applied = 0;      // activity and END_OF_DAY records applied
    std::uint64_t duplicates = 0;   // activity ids already applied, and replayed END_OF_DAYs
    std::uint64_t rejected = 0;     // records sent to the dead-letter topic
    std::uint64_t controls = 0;     // END_OF_DAY records applied
    batch_counts& operator+=(const batch_counts& o);
    friend bool operator==(const batch_counts&, const batch_counts&) = default;
};

struct write_set {
    std::int32_t partition = 0;
    model::partition_meta meta;                        // written whole
    std::vector<model::position> positions;            // new versions, one per key
    std::vector<model::managed_position> managed_positions;
    std::vector<model::margin_balance> balances;
    std::vector<model::portfolio_concentration> concentrations;
    std::vector<model::pending_settlement> pending_added;
    std::vector<model::pending_settlement> pending_released; // remove these
    std::vector<std::string> applied_ids;              // in apply order
    std::vector<model::output_event> events;           // in emit order
    batch_counts counts;
};

} // namespace posd::engine
