// rocks_store against memory_state: the same engine batches, the same reads.

#include "test_support.h"

using namespace posd;
using namespace posd::store;
using namespace posd::store::test;

namespace {

constexpr std::int32_t partitions = 3;

void require_equal(state_comparison& cmp, const twin_runner& runner, std::string_view when) {
    const std::string diff = cmp.first_difference(runner.applied);
    INFO(when << " after " << runner.batches << " batches");
    REQUIRE(diff == "");
}

} // namespace

TEST_CASE("differential: every read of rocks_store equals memory_state after every batch") {
    const auto seed = GENERATE(as<std::uint64_t>{}, 11, 29);
    INFO("seed " << seed);
    temp_dir dir;
    // A retention far below the stream's id count, so that trimming runs.
    const std::size_t retained = 150;
    twin_runner runner(seed, partitions, retained, 2'500);
    auto store = rocks_store::open(test_options(dir.sub("db"), retained));
    while (runner.step(*store)) {
        state_comparison cmp(runner.mem, *store, partitions);
        require_equal(cmp, runner, "step");
        for (const auto& [p, messages] : runner.last_outbox) REQUIRE(store->outbox(p) == messages);
        // Restart now and then: the state must come back from disk alone.
        if (runner.batches % 40 == 0) {
            store.reset();
            store = rocks_store::open(test_options(dir.sub("db"), retained));
            state_comparison again(runner.mem, *store, partitions);
            require_equal(again, runner, "reopen");
        }
    }
    // The stream exercised what the store must get right.
    CHECK(runner.batches > 100);
    CHECK(runner.end_of_days >= 3);
    CHECK(runner.pending_released > 0);
    CHECK(runner.revalues > 0);
    CHECK(runner.applied.size() > retained * partitions);
    for (std::int32_t p = 0; p < partitions; ++p) CHECK(store->applied_id_count(p) == retained);
    const store_stats st = store->stats();
    CHECK(st.approximate_size_bytes > 0);
    CHECK(st.sst_bytes > 0); // small memtables: the state went through table files
}

TEST_CASE("reopen: a closed store opens from its path with the same state") {
    temp_dir dir;
    const std::size_t retained = 1'000;
    twin_runner runner(7, partitions, retained, 1'200);
    {
        auto store = rocks_store::open(test_options(dir.sub("db"), retained));
        for (int i = 0; i < 60 && runner.step(*store); ++i) {
        }
    }
    auto store = rocks_store::open(test_options(dir.sub("db"), retained));
    state_comparison cmp(runner.mem, *store, partitions);
    require_equal(cmp, runner, "first reopen");
    for (const auto& [p, messages] : runner.last_outbox) REQUIRE(store->outbox(p) == messages);
    // And it carries on from there.
    while (runner.step(*store)) {
    }
    store.reset();
    store = rocks_store::open(test_options(dir.sub("db"), retained));
    state_comparison cmp2(runner.mem, *store, partitions);
    require_equal(cmp2, runner, "second reopen");
    REQUIRE(runner.mem.positions().size() > 50);
}

TEST_CASE("changelog: an empty store rebuilt from the changelog reads like the original") {
    temp_dir dir;
    const std::size_t retained = 120;
    twin_runner runner(5, partitions, retained, 2'000);
    auto a = rocks_store::open(test_options(dir.sub("a"), retained));
    std::vector<std::vector<changelog_record>> log(partitions);
    while (runner.step(*a, &log)) {
    }
    state_comparison original(runner.mem, *a, partitions);
    require_equal(original, runner, "original");

    bool saw_delete = false;
    for (const auto& records : log)
        for (const auto& r : records) {
            REQUIRE(!r.key.empty());
            REQUIRE(keys::is_changelog_tag(r.key.front()));
            saw_delete = saw_delete || !r.value.has_value();
        }
    REQUIRE(saw_delete); // trimmed ids and released settlements are tombstones

    SECTION("replayed record by record") {
        auto b = rocks_store::open(test_options(dir.sub("b"), retained));
        for (std::int32_t p = 0; p < partitions; ++p) b->apply_changelog(p, log[static_cast<std::size_t>(p)]);
        state_comparison cmp(runner.mem, *b, partitions);
        require_equal(cmp, runner, "rebuilt");
        for (std::int32_t p = 0; p < partitions; ++p) {
            CHECK(b->outbox(p).empty()); // the outbox is not state
            CHECK_FALSE(b->outbox_start_offset(p).has_value());
        }
    }
    SECTION("after Kafka compaction: the last value per key, tombstones gone") {
        auto c = rocks_store::open(test_options(dir.sub("c"), retained));
        for (std::int32_t p = 0; p < partitions; ++p) {
            std::map<std::string, std::optional<std::string>> last;
            for (const auto& r : log[static_cast<std::size_t>(p)]) last[r.key] = r.value;
            std::vector<changelog_record> compacted;
            for (auto& [k, v] : last)
                if (v) compacted.push_back({k, v});
            c->apply_changelog(p, compacted);
        }
        state_comparison cmp(runner.mem, *c, partitions);
        require_equal(cmp, runner, "compacted");
    }
    SECTION("drop_partition empties one partition only; its changelog restores it") {
        a->drop_partition(1);
        CHECK_FALSE(a->meta(1).has_value());
        CHECK(a->outbox(1).empty());
        CHECK(a->applied_id_count(1) == 0);
        std::size_t keys_left = 0;
        a->partition(1).for_each_position_key(1, [&](std::string_view) { ++keys_left; });
        CHECK(keys_left == 0);
        for (const auto& [id, p] : runner.applied)
            if (p == 1) REQUIRE_FALSE(a->partition(1).is_applied(1, id));
        for (std::int32_t p : {0, 2}) {
            model::partition_meta m;
            REQUIRE(runner.mem.load_meta(p, m));
            REQUIRE(a->meta(p) == m);
            REQUIRE(a->outbox(p) == runner.last_outbox[p]);
        }
        a->apply_changelog(1, log[1]);
        require_equal(original, runner, "restored");
    }
}

TEST_CASE("changelog: commit reports exactly the keys it wrote, outbox excluded") {
    temp_dir dir;
    twin_runner runner(3, 1, 1'000, 300);
    auto a = rocks_store::open(test_options(dir.sub("a"), 1'000));
    auto b = rocks_store::open(test_options(dir.sub("b"), 1'000));
    std::vector<std::vector<changelog_record>> log(1);
    while (runner.step(*a, &log)) {
        // Applying each batch's records as they come keeps b equal to a.
        b->apply_changelog(0, log[0]);
        log[0].clear();
        state_comparison cmp(runner.mem, *b, 1);
        require_equal(cmp, runner, "incremental");
    }
}
