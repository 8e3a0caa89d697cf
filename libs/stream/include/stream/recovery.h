#pragma once
// What a partition's new owner does before it applies anything (the
// exactly-once protocol, services/posd/README.md).
//
// One batch of partition p is: one RocksDB write (state, the batch's
// outbox = every Kafka message the batch produces, the partition's next
// offset, and a batch id) followed by one Kafka transaction (the outbox
// messages plus the consumer offset, whose commit metadata carries the same
// batch id, through send_offsets_to_transaction). A crash can fall between
// the two, and another owner may have moved the partition on meanwhile, so
// on assignment the owner compares what RocksDB says with what the group
// committed:
//
//   L, B   local next offset and id of the last batch written to RocksDB
//   S, P   the outbox's first input offset and the id of the batch before it
//   C, M   the group's committed offset and its metadata (a batch id)
//
// - no local state and no commit: a new partition, nothing to redo;
// - L == C and B == M: the local state is exactly the committed state;
// - L >= C, S == C and P == M: the last batch is in RocksDB but its
//   transaction never committed (L == C for a price re-valuation batch,
//   which moves no input offset): republish the outbox in a new transaction
//   (offset L, metadata B);
// - anything else (empty disk, another owner moved on — even to the same
//   offset, with other batch boundaries — or a local state the group never
//   saw): restore the partition from the changelog.
// Offsets alone are not enough: two owners can reach the same offset with
// different batch boundaries, and a control-break group cut by a boundary is
// two versions, so only the batch id proves the local copy is the committed one.
// Pure: no I/O, so every case is unit-tested.

#include <cstdint>
#include <optional>
#include <string_view>

namespace posd::stream {

enum class recovery_action : std::uint8_t {
    current,          // start consuming at the local next offset
    republish_outbox, // republish the outbox with offset L, then start at L
    restore,          // drop local state, restore from the changelog, then start at its next offset
};

struct recovery_input {
    std::optional<std::int64_t> local_next_offset; // L (unset: no local state)
    std::string_view local_batch_id;               // B
    std::optional<std::int64_t> outbox_start;      // S (unset: no outbox)
    std::string_view outbox_previous_batch_id;     // P (empty for a partition's first batch)
    std::optional<std::int64_t> committed_offset;  // C (unset: never committed)
    std::string_view committed_batch_id;           // M
};

struct recovery_decision {
    recovery_action action = recovery_action::current;
    std::string_view why; // one line for the log
};

recovery_decision decide_recovery(const recovery_input& in);

std::string_view to_string(recovery_action a);

} // namespace posd::stream
