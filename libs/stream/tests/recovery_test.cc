#include "stream/recovery.h"

#include <catch2/catch.hpp>

using namespace posd::stream;

namespace {
struct local_state {
    std::optional<std::int64_t> next;
    std::string_view batch;
    std::optional<std::int64_t> outbox_start;
    std::string_view previous;
};
struct group_commit {
    std::optional<std::int64_t> offset;
    std::string_view batch;
};
recovery_action act(local_state l, group_commit g) {
    return decide_recovery({l.next, l.batch, l.outbox_start, l.previous, g.offset, g.batch}).action;
}
} // namespace

TEST_CASE("recovery: a new partition and a clean restart need nothing redone") {
    CHECK(act({}, {}) == recovery_action::current);
    CHECK(act({500, "b7", 400, "b6"}, {500, "b7"}) == recovery_action::current);
}

TEST_CASE("recovery: crash between the RocksDB write and the Kafka commit republishes the outbox") {
    // Batch b7 = [400, 500) written locally; the group still has b6 at 400.
    CHECK(act({500, "b7", 400, "b6"}, {400, "b6"}) == recovery_action::republish_outbox);
    // A price re-valuation batch (no input consumed) after b6.
    CHECK(act({400, "r7", 400, "b6"}, {400, "b6"}) == recovery_action::republish_outbox);
    // The very first batch of a partition, before any commit.
    CHECK(act({120, "b1", 0, ""}, {}) == recovery_action::republish_outbox);
}

TEST_CASE("recovery: anything the local disk cannot prove restores from the changelog") {
    CHECK(act({}, {300, "x3"}) == recovery_action::restore);                       // empty disk
    CHECK(act({200, "b2", 100, "b1"}, {300, "x3"}) == recovery_action::restore);   // another owner moved on
    // Another owner reached the same offset with other batch boundaries.
    CHECK(act({500, "b7", 400, "b6"}, {500, "x9"}) == recovery_action::restore);
    // Our outbox follows a commit that is not the group's.
    CHECK(act({500, "b7", 400, "b6"}, {400, "x4"}) == recovery_action::restore);
    CHECK(act({600, "b8", 500, "b7"}, {400, "b6"}) == recovery_action::restore);   // two batches ahead
    CHECK(act({600, "b8", std::nullopt, ""}, {400, "b6"}) == recovery_action::restore); // ahead, no outbox
    CHECK(act({120, "b2", 50, "b1"}, {}) == recovery_action::restore);            // never committed, not the first batch
}
