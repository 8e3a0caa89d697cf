#pragma once
// rocks_store: posd's durable state (SPEC §5) in one RocksDB database per
// service instance, shared by every partition the instance owns. Each
// partition has its own key range (store/keys.h), so a partition can be
// dropped and rebuilt from the changelog without touching the others.
//
// What it owns: the state the engine reads through state_reader (meta,
// positions, managed positions, balances, concentrations, pending
// settlements, applied activity ids and the cusip index), and each
// partition's outbox — the Kafka messages of the last committed batch, kept
// until the partition's next commit replaces it (posd never clears it: after
// a crash, the recovery decision compares the group's committed batch id
// with the local one and republishes this outbox when Kafka lacks it).
//
// Lifecycle: open() opens (or creates) the database at options.path; the
// destructor closes it. Every write is one atomic rocksdb::WriteBatch.
//
// Threading: one thread at a time per partition (posd: its one processing
// thread for every partition) calls partition(p), commit() for p,
// outbox()/clear_outbox()/meta() for p, and drop_partition(p) /
// apply_changelog(p) — never two threads for the same partition at once.
// Different partitions may do all of that concurrently. The read-only
// queries (find_*, account_*) and stats() are safe from any thread at any
// time; they read the latest committed state and never a half-written batch.
//
// Errors: RocksDB failures and unreadable values throw store_error, whose
// message names the path (and the key, account number masked). The engine's
// state_reader interface returns plain bools, so a read failure in the
// middle of a batch can only leave it as an exception; the partition thread
// then abandons the batch (nothing was written) and restores.

#include "base/limits.h"
#include "engine/state.h"
#include "model/state.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace posd::store {

class store_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct store_options {
    std::string path; // the database directory; created when missing
    // Shared LRU cache for data, index and filter blocks: the bound on what
    // reads keep resident.
    std::size_t block_cache_bytes = 64u << 20;
    // One memtable's size, and how many may exist (active + being flushed);
    // a WriteBufferManager caps all memtables at their product.
    std::size_t write_buffer_bytes = 16u << 20;
    int max_write_buffer_number = 2;
    // Table files kept open (each holds a small table reader; index and
    // filter blocks live in the block cache). -1 keeps all open.
    int max_open_files = 1024;
    // Applied activity ids remembered per partition (as memory_state).
    std::size_t applied_ids_retained = limits::applied_ids_retained_default;
    // fsync the WAL on every commit. Off: a process crash (kill -9) loses
    // nothing, a machine crash may lose the last commits, which the
    // partition's new owner then restores from the changelog.
    bool sync = false;
    // Test seam: called with "before_write" and "after_write" around the
    // WriteBatch of commit(). A throw from it propagates out of commit().
    std::function<void(std::string_view point)> fault_hook;
    // When set, commit() appends the batch's changelog records to the outbox
    // it stores, as messages to this topic (partition = the input
    // partition, key = the record's key, tombstones as null values), so that
    // republishing a lost batch republishes its changelog records too.
    std::string changelog_topic;
};

// One Kafka message of a batch, as the service will produce it.
struct outbox_message {
    std::string topic;
    std::int32_t partition = -1; // -1: the producer's partitioner chooses
    std::string key;
    std::string value;
    bool null_value = false; // a tombstone (changelog deletes); `value` is empty then
    std::vector<std::pair<std::string, std::string>> headers;
    friend bool operator==(const outbox_message&, const outbox_message&) = default;
};

// One entry of the compacted changelog topic: a state key of the partition
// without its 4-byte partition prefix (tag + natural key, store/keys.h), and
// its new value, or nullopt for a delete (a Kafka tombstone).
struct changelog_record {
    std::string key;
    std::optional<std::string> value;
    friend bool operator==(const changelog_record&, const changelog_record&) = default;
};

struct store_stats {
    std::uint64_t sst_bytes = 0;                // rocksdb.total-sst-files-size
    std::uint64_t memtable_bytes = 0;           // rocksdb.cur-size-all-mem-tables
    std::uint64_t approximate_size_bytes = 0;   // the two above
    std::uint64_t estimated_live_data_bytes = 0; // rocksdb.estimate-live-data-size
    std::uint64_t pending_compaction_bytes = 0; // rocksdb.estimate-pending-compaction-bytes
    std::uint64_t running_compactions = 0;
    std::uint64_t write_stall_count = 0;        // writes delayed or stopped since open
    std::uint64_t write_stall_micros = 0;       // time writes spent stalled since open
    bool write_stopped = false;                 // rocksdb.is-write-stopped
    std::uint64_t delayed_write_rate = 0;       // rocksdb.actual-delayed-write-rate, bytes/s (0: none)
    std::uint64_t block_cache_usage_bytes = 0;
    std::uint64_t block_cache_pinned_bytes = 0;
    std::uint64_t block_cache_capacity_bytes = 0;
    std::uint64_t estimated_keys = 0;           // rocksdb.estimate-num-keys
};

class rocks_store {
public:
    // Opens or creates the database. Throws store_error naming the path
    // when it cannot (bad options, no permission, locked by another process).
    static std::unique_ptr<rocks_store> open(const store_options& options);
    ~rocks_store();
    rocks_store(const rocks_store&) = delete;
    rocks_store& operator=(const rocks_store&) = delete;

    // The engine's view of partition p (p >= 0), with memory_state's
    // semantics. The reference stays valid as long as the store; use it
    // only from p's thread. Every partition argument it receives must be p.
    engine::state_reader& partition(std::int32_t p);

    // Writes one batch of partition ws.partition atomically: every entity of
    // the write set, the pending settlements added and released, the applied
    // ids (trimming the oldest beyond applied_ids_retained), the meta, and
    // `outbox`, which replaces the partition's previous outbox. When
    // changelog_out is given it is replaced by every key the batch wrote or
    // deleted except the outbox's (key without the partition prefix), one
    // record per key with its final value, in key order. When commit()
    // throws, changelog_out is untouched and nothing was written — unless
    // the throw came from the fault hook's "after_write" point.
    //
    // `batch_id` names the batch (the service's id, which its Kafka offset
    // commit carries as metadata): it becomes the partition's last batch id
    // (a state key, so the changelog carries it) and the previous one is
    // kept with the outbox — what the recovery decision compares
    // (stream/recovery.h). Empty: the ids are left as they were.
    void commit(const engine::write_set& ws, std::span<const outbox_message> outbox,
                std::vector<changelog_record>* changelog_out = nullptr, std::string_view batch_id = {});

    // The outbox of partition p's last commit (empty after clear_outbox),
    // in the order it was committed.
    std::vector<outbox_message> outbox(std::int32_t p);
    // The input offset the last committed batch started from: the
    // partition's next offset before that commit (0 for its first batch);
    // nullopt when there is no outbox (never committed, or cleared).
    std::optional<std::int64_t> outbox_start_offset(std::int32_t p);
    // The id of the batch before the outbox's (empty for a partition's first
    // batch); nullopt when there is no outbox.
    std::optional<std::string> outbox_previous_batch_id(std::int32_t p);
    // The id of the last batch committed locally (or restored from the
    // changelog); empty when none.
    std::string last_batch_id(std::int32_t p);
    // Forgets p's outbox. posd does not call it (the outbox stays until the
    // next commit replaces it, for the recovery decision); tools and tests may.
    void clear_outbox(std::int32_t p);
    std::optional<model::partition_meta> meta(std::int32_t p);

    // Restore. drop_partition deletes every key of p (state and outbox) in
    // one range delete; apply_changelog writes changelog records of p in
    // one batch, in order (a later record of a key wins). A record whose
    // key has no known state tag throws store_error and writes nothing.
    void drop_partition(std::int32_t p);
    void apply_changelog(std::int32_t p, std::span<const changelog_record> records);

    // Read-only queries (any thread). The partition is the account key's:
    // kafka_partition_for_key(account_key, partitions) (store/partitioner.h).
    std::optional<model::position> find_position(std::int32_t p, std::string_view position_key) const;
    std::optional<model::managed_position> find_managed_position(std::int32_t p,
                                                                 std::string_view position_key) const;
    // Every position of the account, in position key order.
    std::vector<model::position> account_positions(std::int32_t p, std::string_view account_key) const;
    std::optional<model::margin_balance> find_balance(std::int32_t p, std::string_view account_key) const;
    // Every concentration of the account, in cusip order.
    std::vector<model::portfolio_concentration> account_concentrations(std::int32_t p,
                                                                       std::string_view account_key) const;
    // How many applied ids partition p remembers (<= applied_ids_retained).
    std::size_t applied_id_count(std::int32_t p) const;

    store_stats stats() const;
    const store_options& options() const;

    struct impl;

private:
    explicit rocks_store(std::unique_ptr<impl> impl);
    std::unique_ptr<impl> impl_;
};

} // namespace posd::store
