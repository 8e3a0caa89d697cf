#pragma once
// The store's key layout (libs/store/README.md has the table). Every key of
// one RocksDB database starts with a 4-byte big-endian partition number and
// a one-byte type tag; the rest is the entity's natural key. Big-endian
// integers make RocksDB's bytewise order the numeric order, so one
// partition (or one type within it) is one contiguous key range, and
// pending settlements iterate in (settle date, sequence) order.
//
// Public so that the service, posctl and tests can name and decode keys
// (the changelog carries keys without the partition prefix). Stateless
// functions; thread-safe.

#include "base/date.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace posd::store::keys {

inline constexpr std::size_t partition_prefix_bytes = 4;

enum class tag : char {
    meta = 'M',             // partition meta (empty natural key)
    position = 'P',         // position key
    managed_position = 'Q', // position key
    balance = 'B',          // account key
    concentration = 'C',    // account key + '\0' + cusip
    pending = 'S',          // BE32 (settle days, sign bit flipped) + BE64 sequence
    applied_id = 'A',       // activity id -> empty
    applied_order = 'a',    // BE64 ordinal -> activity id (retention order)
    applied_range = 'N',    // empty -> BE64 first ordinal, BE64 next ordinal
    cusip_index = 'X',      // cusip + '\0' + position key -> empty
    batch_id = 'I',         // empty -> id of the last batch committed locally (carried by the changelog)
    outbox_header = 'o',    // empty -> BE64 start offset, BE32 message count, previous batch id
    outbox_entry = 'O',     // BE32 index -> one outbox message
};

// True for the tags that the changelog carries (all but the outbox).
bool is_changelog_tag(char t);
// True for every tag above.
bool is_known_tag(char t);

// The 4-byte prefix of partition p (p >= 0), and the prefix that follows it
// (the exclusive upper bound of partition p's range).
std::string partition_prefix(std::int32_t p);
std::string partition_end(std::int32_t p);

// Big-endian fixed-width integers.
void append_be32(std::string& out, std::uint32_t v);
void append_be64(std::string& out, std::uint64_t v);
std::uint32_t read_be32(std::string_view in); // in.size() >= 4
std::uint64_t read_be64(std::string_view in); // in.size() >= 8

// Natural keys (without partition prefix and tag).
std::string pending_suffix(date settle_date, std::uint64_t sequence);
std::string concentration_suffix(std::string_view account_key, std::string_view cusip);

// Writes prefix(p) + tag + natural into out (cleared first).
void write_key(std::string& out, std::int32_t p, tag t, std::string_view natural = {});
// Appends tag + natural to out (no partition prefix: a changelog key).
void append_local_key(std::string& out, tag t, std::string_view natural = {});

// A key for logs and error messages: partition, tag name and the natural key
// with the account number masked (model::mask_account).
std::string describe(std::string_view full_key);

std::string_view tag_name(char t);

} // namespace posd::store::keys
