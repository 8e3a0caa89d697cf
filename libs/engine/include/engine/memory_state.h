#pragma once
// memory_state: an in-memory store behind the engine's state_reader, for
// tests, benchmarks and the sample replay. It applies a write_set the way
// the RocksDB store does: whole, in one step. Holds any number of
// partitions. Not thread-safe.

#include "base/limits.h"
#include "engine/reference_data.h"
#include "engine/state.h"

#include <deque>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace posd::engine {

class memory_state final : public state_reader {
public:
    explicit memory_state(std::size_t applied_ids_retained = limits::applied_ids_retained_default)
        : applied_ids_retained_(applied_ids_retained) {}
    // Not copyable: its indexes point into its own containers (moving keeps
    // the nodes, and so the pointers, valid).
    memory_state(const memory_state&) = delete;
    memory_state& operator=(const memory_state&) = delete;
    memory_state(memory_state&&) = default;
    memory_state& operator=(memory_state&&) = default;

    bool load_meta(std::int32_t partition, model::partition_meta& out) override;
    bool load_position(std::string_view position_key, model::position& out) override;
    bool load_managed_position(std::string_view position_key, model::managed_position& out) override;
    bool load_balance(std::string_view account_key, model::margin_balance& out) override;
    bool load_concentration(std::string_view account_key, std::string_view cusip,
                            model::portfolio_concentration& out) override;
    bool is_applied(std::int32_t partition, std::string_view activity_id) override;
    void load_pending_due(std::int32_t partition, date through,
                          std::vector<model::pending_settlement>& out) override;
    void for_each_position_key(std::int32_t partition,
                               const std::function<void(std::string_view)>& fn) override;
    void for_each_position_key_in_cusip(std::int32_t partition, std::string_view cusip,
                                        const std::function<void(std::string_view)>& fn) override;

    // Applies a batch's state changes whole. The rvalue form moves the
    // entities out of the write set (its events, counts and meta are left
    // as they were, for a caller that encodes the events afterwards).
    void apply(const write_set& ws);
    void apply(write_set&& ws);

    // Read access for tests and tools.
    const string_map<model::position>& positions() const { return positions_; }
    const string_map<model::managed_position>& managed_positions() const { return managed_; }
    const string_map<model::margin_balance>& balances() const { return balances_; }
    // account key -> cusip -> concentration
    const string_map<std::map<std::string, model::portfolio_concentration, std::less<>>>& concentrations() const {
        return concentrations_;
    }
    std::size_t pending_count(std::int32_t partition) const;
    std::size_t applied_id_count(std::int32_t partition) const;

private:
    struct partition_data {
        model::partition_meta meta;
        bool has_meta = false;
        std::unordered_set<std::string, string_hash, std::equal_to<>> applied;
        std::deque<std::string_view> applied_order; // views of the strings in `applied`
        std::map<std::pair<std::int32_t, std::uint64_t>, model::pending_settlement> pending; // (days, seq)
        // Positions are never deleted, so insertion-ordered lists suffice
        // (hash maps, not ordered sets: the engine does not rely on order).
        std::vector<std::string> position_keys;
        string_map<std::vector<std::string>> cusip_index; // cusip -> position keys
    };
    template <typename WriteSet> void apply_impl(WriteSet&& ws);
    partition_data& part(std::int32_t p) { return partitions_[p]; }

    std::size_t applied_ids_retained_;
    std::string key_buffer_;
    std::unordered_map<std::int32_t, partition_data> partitions_;
    string_map<model::position> positions_;
    string_map<model::managed_position> managed_;
    string_map<model::margin_balance> balances_;
    string_map<std::map<std::string, model::portfolio_concentration, std::less<>>> concentrations_;
    // The same concentrations by "account|cusip", so that a load is one hash
    // lookup rather than a walk down an account's tree of cusips (an
    // omnibus account holds thousands). Points into concentrations_' nodes.
    string_map<model::portfolio_concentration*> concentration_index_;
    std::string conc_key_buffer_;
};

} // namespace posd::engine
