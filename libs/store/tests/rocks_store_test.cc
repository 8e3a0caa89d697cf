// rocks_store with hand-made write sets: applied-id retention, the outbox,
// the fault seam, open errors, the changelog's validation, prefix queries.

#include "test_support.h"

#include "store/keys.h"
#include "ops/log.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace posd;
using namespace posd::store;
using namespace posd::store::test;

namespace {

const date monday = date::from_days(19'786); // 2024-03-04

model::position make_position(std::string base, std::string cusip, std::int64_t qty, std::uint64_t version) {
    model::position p;
    p.firm_postrmt = "ABCD";
    p.ledger_postrmt = "01";
    p.branch_postrmt = "123";
    p.base_postrmt = std::move(base);
    p.acct_type_postrmt = "2";
    p.sub_acct_key = "1";
    p.cusip = std::move(cusip);
    p.td_qty = decimal::from_units(qty);
    p.sd_qty = decimal::from_units(qty);
    p.cost_basis = decimal::from_scaled(-12345, 2);
    p.version = version;
    return p;
}

model::margin_balance make_balance(std::string base, std::int64_t cents) {
    model::margin_balance b;
    b.firm = "ABCD";
    b.ledger = "01";
    b.branch = "123";
    b.base = std::move(base);
    b.td_bal = decimal::from_scaled(cents, 2);
    b.version = 1;
    return b;
}

model::portfolio_concentration make_concentration(std::string account, std::string cusip, std::int64_t qty) {
    model::portfolio_concentration c;
    c.account = std::move(account);
    c.cusip = std::move(cusip);
    c.td_qty_conc = decimal::from_units(qty);
    c.acct_category_conc = "DEFAULT";
    return c;
}

model::pending_settlement make_pending(date settle, std::uint64_t sequence, std::string position_key) {
    model::pending_settlement s;
    s.settle_date = settle;
    s.sequence = sequence;
    s.position_key = std::move(position_key);
    s.sd_qty = decimal::from_units(static_cast<std::int64_t>(sequence));
    s.activity_id = fmt::format("pending-{}", sequence);
    return s;
}

engine::write_set make_ws(std::int32_t p, std::int64_t next_offset) {
    engine::write_set ws;
    ws.partition = p;
    ws.meta.partition = p;
    ws.meta.next_offset = next_offset;
    ws.meta.business_date = monday;
    return ws;
}

outbox_message make_message(std::string topic, std::string key, std::string value) {
    outbox_message m;
    m.topic = std::move(topic);
    m.partition = 2;
    m.key = std::move(key);
    m.value = std::move(value);
    m.headers = {{"reason", "KEY_MISMATCH"}, {"", std::string("\0bin\xff", 5)}};
    return m;
}

} // namespace

TEST_CASE("retention: applied ids are trimmed exactly like memory_state") {
    const std::size_t retained = GENERATE(as<std::size_t>{}, 0, 1, 3, 10);
    INFO("retained " << retained);
    temp_dir dir;
    engine::memory_state mem(retained);
    auto store = rocks_store::open(test_options(dir.sub("db"), retained));
    std::vector<changelog_record> log;
    std::vector<std::pair<std::string, std::int32_t>> ids;
    const std::vector<std::size_t> sizes{1, 2, 5, 0, 3, 7, 1, 12, 4, 11, 2};
    std::int64_t offset = 0;
    int next_id = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        for (std::int32_t p : {0, 1}) {
            auto ws = make_ws(p, ++offset);
            for (std::size_t k = 0; k < sizes[i] + static_cast<std::size_t>(p); ++k) {
                ws.applied_ids.push_back(fmt::format("id-{}", next_id++));
                ids.emplace_back(ws.applied_ids.back(), p);
            }
            std::vector<changelog_record> batch_log;
            store->commit(ws, {}, p == 0 ? &batch_log : nullptr);
            log.insert(log.end(), batch_log.begin(), batch_log.end());
            mem.apply(ws);
        }
        if (i == sizes.size() / 2) { // restart in the middle
            store.reset();
            store = rocks_store::open(test_options(dir.sub("db"), retained));
        }
        for (const auto& [id, p] : ids) {
            INFO("batch " << i << " id " << id << " partition " << p);
            REQUIRE(store->partition(p).is_applied(p, id) == mem.is_applied(p, id));
        }
        for (std::int32_t p : {0, 1}) REQUIRE(store->applied_id_count(p) == mem.applied_id_count(p));
    }
    REQUIRE(mem.applied_id_count(0) == std::min<std::size_t>(retained, 48));
    // The changelog of partition 0 forgets the same ids.
    auto rebuilt = rocks_store::open(test_options(dir.sub("rebuilt"), retained));
    rebuilt->apply_changelog(0, log);
    for (const auto& [id, p] : ids)
        if (p == 0) REQUIRE(rebuilt->partition(0).is_applied(0, id) == mem.is_applied(0, id));
    REQUIRE(rebuilt->applied_id_count(0) == mem.applied_id_count(0));
}

TEST_CASE("outbox: each commit replaces the partition's outbox, clear_outbox empties it") {
    temp_dir dir;
    auto store = rocks_store::open(test_options(dir.sub("db"), 100));
    REQUIRE(store->outbox(0).empty());
    REQUIRE_FALSE(store->outbox_start_offset(0).has_value());

    const std::vector<outbox_message> first{make_message("position.updated", "k1", "v1"),
                                            make_message("market-value", "", std::string("\0\1\2", 3)),
                                            make_message("margin.updated", "k3", "")};
    store->commit(make_ws(0, 10), first);
    REQUIRE(store->outbox(0) == first);
    REQUIRE(store->outbox_start_offset(0) == 0); // the partition's first batch starts at 0

    const std::vector<outbox_message> other{make_message("activity.dlq", "x", "y")};
    store->commit(make_ws(1, 3), other);

    const std::vector<outbox_message> second{make_message("position.updated", "k9", "v9")};
    store->commit(make_ws(0, 25), second);
    REQUIRE(store->outbox(0) == second); // no leftovers of the longer first outbox
    REQUIRE(store->outbox_start_offset(0) == 10);
    REQUIRE(store->outbox(1) == other);

    store->commit(make_ws(0, 30), {}); // a batch that produced nothing
    REQUIRE(store->outbox(0).empty());
    REQUIRE(store->outbox_start_offset(0) == 25);

    store->commit(make_ws(0, 31), first);
    store.reset();
    store = rocks_store::open(test_options(dir.sub("db"), 100));
    REQUIRE(store->outbox(0) == first);
    REQUIRE(store->outbox_start_offset(0) == 30);

    store->clear_outbox(0);
    REQUIRE(store->outbox(0).empty());
    REQUIRE_FALSE(store->outbox_start_offset(0).has_value());
    REQUIRE(store->outbox(1) == other); // another partition's outbox stays
    REQUIRE(store->meta(0)->next_offset == 31); // clearing the outbox is not a state change
    store->clear_outbox(0);                      // idempotent
    REQUIRE(store->outbox(0).empty());
}

TEST_CASE("batch ids: the last batch's id is state (changelog included), the outbox keeps the one before") {
    temp_dir dir;
    auto store = rocks_store::open(test_options(dir.sub("db"), 100));
    CHECK(store->last_batch_id(0).empty());

    std::vector<changelog_record> log;
    store->commit(make_ws(0, 10), {}, &log, "b1");
    CHECK(store->last_batch_id(0) == "b1");
    CHECK(store->outbox_previous_batch_id(0) == std::string()); // the partition's first batch
    store->commit(make_ws(0, 20), {}, &log, "b2");
    CHECK(store->last_batch_id(0) == "b2");
    CHECK(store->outbox_previous_batch_id(0) == "b1");
    CHECK(store->outbox_start_offset(0) == 10);
    // The id travels with the state, so a restored partition knows which
    // committed batch its state is.
    const auto carried = std::find_if(log.begin(), log.end(), [](const changelog_record& r) {
        return !r.key.empty() && r.key.front() == static_cast<char>(keys::tag::batch_id);
    });
    REQUIRE(carried != log.end());
    CHECK(carried->value == "b2");
    auto restored = rocks_store::open(test_options(dir.sub("restored"), 100));
    restored->apply_changelog(0, log);
    CHECK(restored->last_batch_id(0) == "b2");
    CHECK_FALSE(restored->outbox_previous_batch_id(0).has_value()); // the outbox is not state

    store->commit(make_ws(0, 21), {}, nullptr); // no id: the last one stays
    CHECK(store->last_batch_id(0) == "b2");
    CHECK(store->outbox_previous_batch_id(0) == "b2");
    CHECK(store->last_batch_id(1).empty()); // per partition
    store->clear_outbox(0);
    CHECK_FALSE(store->outbox_previous_batch_id(0).has_value());
    CHECK(store->last_batch_id(0) == "b2");
}

TEST_CASE("changelog topic: the stored outbox carries the batch's changelog records, tombstones as null values") {
    temp_dir dir;
    auto options = test_options(dir.sub("db"), 1); // retention 1: the second batch trims the first id
    options.changelog_topic = "posd.changelog";
    auto store = rocks_store::open(options);

    engine::write_set first = make_ws(3, 10);
    first.applied_ids = {"id-1"};
    store->commit(first, {}, nullptr, "b1");
    engine::write_set second = make_ws(3, 11);
    second.applied_ids = {"id-2"};
    const std::vector<outbox_message> given{make_message("position.updated", "k1", "v1")};
    std::vector<changelog_record> log;
    store->commit(second, given, &log, "b2");

    const std::vector<outbox_message> stored = store->outbox(3);
    REQUIRE(stored.size() == given.size() + log.size());
    CHECK(stored.front() == given.front()); // the caller's messages first
    bool saw_tombstone = false;
    for (std::size_t i = 0; i < log.size(); ++i) {
        const outbox_message& m = stored[given.size() + i];
        CHECK(m.topic == "posd.changelog");
        CHECK(m.partition == 3);
        CHECK(m.key == log[i].key);
        CHECK(m.null_value == !log[i].value.has_value());
        CHECK(m.value == log[i].value.value_or(""));
        saw_tombstone = saw_tombstone || m.null_value;
    }
    CHECK(saw_tombstone); // the trimmed id-1
    // Replaying the stored changelog messages rebuilds the partition.
    std::vector<changelog_record> replay;
    for (std::size_t i = given.size(); i < stored.size(); ++i)
        replay.push_back({stored[i].key, stored[i].null_value ? std::nullopt : std::optional(stored[i].value)});
    CHECK(replay == log);
}

TEST_CASE("fault hook: a throw before the write leaves nothing, after the write the batch is durable") {
    temp_dir dir;
    std::string fail_at;
    auto options = test_options(dir.sub("db"), 100);
    options.fault_hook = [&](std::string_view point) {
        if (point == fail_at) throw std::runtime_error(fmt::format("injected at {}", point));
    };
    const std::string key1 = make_position("45678", "037833100", 10, 1).key().value();

    {
        auto store = rocks_store::open(options);
        auto ws = make_ws(0, 5);
        ws.positions.push_back(make_position("45678", "037833100", 10, 1));
        ws.balances.push_back(make_balance("45678", 100'00));
        ws.applied_ids = {"a1", "a2"};
        ws.pending_added.push_back(make_pending(monday.plus_days(1), 1, key1));
        store->commit(ws, std::vector<outbox_message>{make_message("t", "k", "batch1")});

        fail_at = "before_write";
        auto ws2 = make_ws(0, 9);
        ws2.positions.push_back(make_position("45678", "037833100", 25, 2));
        ws2.positions.push_back(make_position("45678", "594918104", 3, 1));
        ws2.balances.push_back(make_balance("45678", 50'00));
        ws2.applied_ids = {"a3"};
        ws2.pending_released.push_back(make_pending(monday.plus_days(1), 1, key1));
        std::vector<changelog_record> log{{"stale", std::nullopt}};
        REQUIRE_THROWS_WITH(store->commit(ws2, std::vector<outbox_message>{make_message("t", "k", "batch2")}, &log),
                            "injected at before_write");
        REQUIRE(log == std::vector<changelog_record>{{"stale", std::nullopt}}); // untouched
        // Unchanged, now and after a restart.
        for (int round = 0; round < 2; ++round) {
            INFO("round " << round);
            REQUIRE(store->meta(0)->next_offset == 5);
            REQUIRE(store->find_position(0, key1)->version == 1);
            REQUIRE(store->account_positions(0, "ABCD|01|123|45678").size() == 1);
            REQUIRE(store->find_balance(0, "ABCD|01|123|45678")->td_bal == decimal::from_units(100));
            REQUIRE_FALSE(store->partition(0).is_applied(0, "a3"));
            std::vector<model::pending_settlement> due;
            store->partition(0).load_pending_due(0, monday.plus_days(5), due);
            REQUIRE(due.size() == 1);
            REQUIRE(store->outbox(0).at(0).value == "batch1");
            store.reset();
            fail_at.clear();
            store = rocks_store::open(options);
        }

        fail_at = "after_write";
        REQUIRE_THROWS_WITH(store->commit(ws2, std::vector<outbox_message>{make_message("t", "k", "batch2")}),
                            "injected at after_write");
        fail_at.clear();
    }
    auto store = rocks_store::open(options);
    REQUIRE(store->meta(0)->next_offset == 9);
    REQUIRE(store->find_position(0, key1)->version == 2);
    REQUIRE(store->account_positions(0, "ABCD|01|123|45678").size() == 2);
    REQUIRE(store->find_balance(0, "ABCD|01|123|45678")->td_bal == decimal::from_units(50));
    REQUIRE(store->partition(0).is_applied(0, "a3"));
    std::vector<model::pending_settlement> due;
    store->partition(0).load_pending_due(0, monday.plus_days(5), due);
    REQUIRE(due.empty());
    REQUIRE(store->outbox(0).at(0).value == "batch2");
}

TEST_CASE("open: failures throw store_error naming the path") {
    temp_dir dir;
    SECTION("the path is a regular file") {
        const std::string file = dir.sub("not-a-directory");
        { std::FILE* f = std::fopen(file.c_str(), "w"); REQUIRE(f != nullptr); std::fclose(f); }
        REQUIRE_THROWS_AS(rocks_store::open(test_options(file, 10)), store_error);
        REQUIRE_THROWS_WITH(rocks_store::open(test_options(file, 10)), Catch::Contains(file));
    }
    SECTION("the database is already open (locked)") {
        auto first = rocks_store::open(test_options(dir.sub("db"), 10));
        REQUIRE_THROWS_AS(rocks_store::open(test_options(dir.sub("db"), 10)), store_error);
        REQUIRE_THROWS_WITH(rocks_store::open(test_options(dir.sub("db"), 10)), Catch::Contains(dir.sub("db")));
    }
    SECTION("no path or impossible sizes") {
        REQUIRE_THROWS_AS(rocks_store::open(test_options("", 10)), store_error);
        auto o = test_options(dir.sub("db"), 10);
        o.max_write_buffer_number = 1;
        REQUIRE_THROWS_WITH(rocks_store::open(o), Catch::Contains(dir.sub("db")));
    }
    SECTION("a nested path that does not exist yet is created") {
        auto store = rocks_store::open(test_options(dir.sub("a/b/c"), 10));
        REQUIRE_FALSE(store->meta(0).has_value());
    }
}

TEST_CASE("apply_changelog: a key outside the state keyspace is refused and nothing is written") {
    temp_dir dir;
    auto store = rocks_store::open(test_options(dir.sub("db"), 10));
    std::string meta_key;
    keys::append_local_key(meta_key, keys::tag::meta);
    std::string outbox_key;
    keys::append_local_key(outbox_key, keys::tag::outbox_header);
    const std::string meta_value = codec::encode_state(make_ws(4, 77).meta);
    const std::vector<changelog_record> bad_tag{{meta_key, meta_value}, {outbox_key, std::string(12, '\0')}};
    REQUIRE_THROWS_AS(store->apply_changelog(4, bad_tag), store_error);
    const std::vector<changelog_record> empty_key{{meta_key, meta_value}, {"", std::nullopt}};
    REQUIRE_THROWS_AS(store->apply_changelog(4, empty_key), store_error);
    const std::vector<changelog_record> unknown{{meta_key, meta_value}, {"Zzz", "v"}};
    REQUIRE_THROWS_AS(store->apply_changelog(4, unknown), store_error);
    REQUIRE_FALSE(store->meta(4).has_value());
    const std::vector<changelog_record> good{{meta_key, meta_value}};
    store->apply_changelog(4, good);
    REQUIRE(store->meta(4)->next_offset == 77);
    REQUIRE_FALSE(store->meta(0).has_value()); // written under partition 4's prefix only
}

TEST_CASE("queries: an account's positions and concentrations are its own, not a longer base's") {
    temp_dir dir;
    auto store = rocks_store::open(test_options(dir.sub("db"), 10));
    engine::memory_state mem;
    auto ws = make_ws(0, 1);
    // "45678" is a prefix of "456789": the scans must not mix them up.
    ws.positions = {make_position("45678", "037833100", 1, 1), make_position("45678", "", 2, 1),
                    make_position("456789", "037833100", 3, 1), make_position("45678", "594918104", 4, 1)};
    ws.balances = {make_balance("45678", 1), make_balance("456789", 2)};
    ws.concentrations = {make_concentration("ABCD|01|123|45678", "594918104", 4),
                         make_concentration("ABCD|01|123|45678", "037833100", 1),
                         make_concentration("ABCD|01|123|456789", "037833100", 3)};
    store->commit(ws, {});
    mem.apply(ws);

    const auto positions = store->account_positions(0, "ABCD|01|123|45678");
    REQUIRE(positions.size() == 3);
    for (const auto& p : positions) REQUIRE(p.base_postrmt == "45678");
    REQUIRE(std::is_sorted(positions.begin(), positions.end(),
                           [](const auto& a, const auto& b) { return a.key() < b.key(); }));
    REQUIRE(store->account_positions(0, "ABCD|01|123|456789").size() == 1);
    REQUIRE(store->account_positions(0, "ABCD|01|123|4567").empty());
    REQUIRE(store->account_positions(1, "ABCD|01|123|45678").empty()); // another partition's keyspace

    const auto concs = store->account_concentrations(0, "ABCD|01|123|45678");
    REQUIRE(concs.size() == 2);
    REQUIRE(concs[0].cusip == "037833100"); // cusip order
    REQUIRE(concs[1].cusip == "594918104");
    REQUIRE(store->account_concentrations(0, "ABCD|01|123|456789").size() == 1);

    REQUIRE(store->find_balance(0, "ABCD|01|123|456789")->td_bal == decimal::from_scaled(2, 2));
    REQUIRE_FALSE(store->find_balance(0, "ABCD|01|123|4567").has_value());
    REQUIRE_FALSE(store->find_position(0, "ABCD|01|123|45678|1|NOSUCHCUS").has_value());

    // The cusip index, cash positions (empty cusip) included.
    for (std::string cusip : {"037833100", "594918104", "", "000000000"}) {
        std::vector<std::string> a, b;
        mem.for_each_position_key_in_cusip(0, cusip, [&](std::string_view k) { a.emplace_back(k); });
        store->partition(0).for_each_position_key_in_cusip(0, cusip, [&](std::string_view k) { b.emplace_back(k); });
        std::sort(a.begin(), a.end());
        INFO("cusip '" << cusip << "'");
        REQUIRE(a == b);
    }
}

TEST_CASE("pending: due settlements come in (settle date, sequence) order up to the date") {
    temp_dir dir;
    auto store = rocks_store::open(test_options(dir.sub("db"), 10));
    engine::memory_state mem;
    const std::string pk = make_position("45678", "037833100", 1, 1).key().value();
    auto ws = make_ws(0, 1);
    // Inserted out of order; dates before 1970 (negative day numbers) too.
    ws.pending_added = {make_pending(monday.plus_days(3), 7, pk), make_pending(monday.plus_days(1), 9, pk),
                        make_pending(monday.plus_days(1), 2, pk), make_pending(date::from_days(-400), 5, pk),
                        make_pending(date::from_days(-1), 300, pk), make_pending(monday, 1'000'000'000'000, pk)};
    store->commit(ws, {});
    mem.apply(ws);
    for (std::int32_t offset : {-500, -400, -2, -1, 0, 19'786, 19'787, 19'788, 19'789, 19'790}) {
        std::vector<model::pending_settlement> a, b;
        mem.load_pending_due(0, date::from_days(offset), a);
        store->partition(0).load_pending_due(0, date::from_days(offset), b);
        INFO("through day " << offset);
        REQUIRE(a == b);
    }
    std::vector<model::pending_settlement> all;
    store->partition(0).load_pending_due(0, date::from_days(std::numeric_limits<std::int32_t>::max()), all);
    REQUIRE(all.size() == 6);
    REQUIRE(all.front().sequence == 5);
    REQUIRE(all.back().sequence == 7);

    auto ws2 = make_ws(0, 2);
    ws2.pending_released = {make_pending(monday.plus_days(1), 2, pk), make_pending(date::from_days(-400), 5, pk)};
    store->commit(ws2, {});
    mem.apply(ws2);
    std::vector<model::pending_settlement> a, b;
    mem.load_pending_due(0, monday.plus_days(10), a);
    store->partition(0).load_pending_due(0, monday.plus_days(10), b);
    REQUIRE(a == b);
    REQUIRE(b.size() == 4);
}

TEST_CASE("stats: sizes, cache and stall figures are reported") {
    temp_dir dir;
    auto options = test_options(dir.sub("db"), 10);
    auto store = rocks_store::open(options);
    const store_stats empty = store->stats();
    CHECK(empty.block_cache_capacity_bytes == options.block_cache_bytes);
    CHECK(empty.sst_bytes == 0);
    CHECK(empty.write_stall_count == 0);
    CHECK_FALSE(empty.write_stopped);
    for (std::int64_t i = 1; i <= 2'000; ++i) {
        auto ws = make_ws(0, i);
        ws.positions.push_back(make_position(fmt::format("{:05}", i % 500), "037833100", i, static_cast<std::uint64_t>(i)));
        ws.applied_ids.push_back(fmt::format("stat-{}", i));
        store->commit(ws, std::vector<outbox_message>{make_message("t", "k", std::string(200, 'x'))});
    }
    const store_stats after = store->stats();
    CHECK(after.memtable_bytes > 0);
    CHECK(after.sst_bytes > 0); // 256 KiB memtables have flushed
    CHECK(after.approximate_size_bytes == after.sst_bytes + after.memtable_bytes);
    CHECK(after.estimated_keys > 0);
    CHECK(after.block_cache_usage_bytes <= after.block_cache_capacity_bytes);
}

TEST_CASE("queries: readers on other threads see whole batches while the partition commits") {
    temp_dir dir;
    auto store = rocks_store::open(test_options(dir.sub("db"), 1'000));
    const std::string account = "ABCD|01|123|45678";
    const std::vector<std::string> cusips{"037833100", "594918104", "30303M102"};
    constexpr std::uint64_t batches = 400;
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> reads{0};
    std::string failure;
    std::thread reader([&] {
        std::uint64_t last = 0;
        while (!done.load()) {
            const auto positions = store->account_positions(0, account);
            if (positions.empty()) continue;
            // One batch writes all three positions at one version: a scan
            // never shows two batches, and versions never go back.
            std::uint64_t v = positions.front().version;
            bool whole = positions.size() == cusips.size();
            for (const auto& p : positions) whole = whole && p.version == v && p.td_qty == decimal::from_units(static_cast<std::int64_t>(v));
            if (!whole || v < last) {
                failure = fmt::format("read {} positions, versions from {} (last {})", positions.size(), v, last);
                return;
            }
            last = v;
            ++reads;
        }
    });
    for (std::uint64_t v = 1; v <= batches; ++v) {
        auto ws = make_ws(0, static_cast<std::int64_t>(v));
        for (const auto& c : cusips) ws.positions.push_back(make_position("45678", c, static_cast<std::int64_t>(v), v));
        ws.applied_ids.push_back(fmt::format("c-{}", v));
        store->commit(ws, {});
    }
    done = true;
    reader.join();
    REQUIRE(failure == "");
    CHECK(reads.load() > 0);
    REQUIRE(store->account_positions(0, account).front().version == batches);
}

TEST_CASE("a date outside base/date.h's range reads back as written, after a restart and a restore") {
    // posd before issue 9 took the business date to 3000-01-01 at an
    // END_OF_DAY 2999-12-31, and could not read it back: every restart and
    // every restore from the changelog stopped on "unreadable value". The
    // engine computes no such date any more (libs/engine/README.md); state
    // already holding one reads back exactly as written.
    temp_dir dir;
    const date far = date::max_value().next_weekday();
    REQUIRE(far.to_string() == "3000-01-01");
    const std::string pk = "ABCD|01|123|45678|1|037833100";
    engine::write_set ws = make_ws(0, 5);
    ws.meta.business_date = far;
    ws.pending_added.push_back(make_pending(far, 1, pk));
    model::position p = make_position("45678", "037833100", 10, 1);
    p.short_exp_date = far;
    ws.positions.push_back(p);
    std::vector<changelog_record> changelog;
    {
        auto store = rocks_store::open(test_options(dir.sub("db"), 10));
        store->commit(ws, {}, &changelog);
    }
    auto check = [&](rocks_store& store) {
        REQUIRE(store.meta(0).has_value());
        CHECK(store.meta(0)->business_date == far);
        model::partition_meta meta;
        REQUIRE(store.partition(0).load_meta(0, meta));
        CHECK(meta.business_date == far);
        std::vector<model::pending_settlement> due;
        store.partition(0).load_pending_due(0, far, due);
        REQUIRE(due.size() == 1);
        CHECK(due[0].settle_date == far);
        const auto back = store.find_position(0, pk);
        REQUIRE(back.has_value());
        CHECK(back->short_exp_date == far);
    };
    SECTION("a restart over the store") {
        auto store = rocks_store::open(test_options(dir.sub("db"), 10));
        check(*store);
    }
    SECTION("a restore from the changelog") {
        auto store = rocks_store::open(test_options(dir.sub("restored"), 10));
        store->drop_partition(0);
        store->apply_changelog(0, changelog);
        check(*store);
    }
}

TEST_CASE("END_OF_DAY 2999-12-31 through the engine and the store: rejected, and the state reads back") {
    // Issue 9 item 8: the business date went to 3000-01-01, which the store
    // wrote and could not read back. Now the engine rejects the END_OF_DAY
    // (DATE_OUT_OF_RANGE) and the partition restarts and restores as usual.
    temp_dir dir;
    engine::reference_data ref;
    for (const std::int32_t days_ahead : {31, 400'000}) { // the default bound, and none to speak of
        INFO("end_of_day_max_days_ahead " << days_ahead);
        engine::engine_config config;
        config.initial_business_date = date::parse("2999-12-30");
        config.end_of_day_max_days_ahead = days_ahead;
        const std::string path = dir.sub(fmt::format("db-{}", days_ahead));
        std::vector<changelog_record> changelog;
        const std::string value = R"({"type":"control","action":"END_OF_DAY","businessDate":"2999-12-31"})";
        {
            auto store = rocks_store::open(test_options(path, 10));
            engine::partition_engine e(0, config, ref);
            std::vector<engine::input_record> batch(1);
            batch[0].offset = 0;
            batch[0].value = value;
            batch[0].decoded = model::control_record{model::control_action::end_of_day, *date::parse("2999-12-31")};
            const engine::write_set ws = e.apply(store->partition(0), batch, timestamp{0});
            CHECK(ws.counts.rejected == 1);
            REQUIRE(ws.events.size() == 1);
            const auto* dl = std::get_if<model::dead_letter>(&ws.events[0]);
            REQUIRE(dl != nullptr);
            CHECK(dl->reject.reason == model::reason::date_out_of_range);
            store->commit(ws, {}, &changelog);
        }
        auto check = [&](rocks_store& store) {
            model::partition_meta meta;
            REQUIRE(store.partition(0).load_meta(0, meta));
            CHECK(meta.business_date == date::parse("2999-12-30"));
            CHECK(meta.next_offset == 1);
        };
        auto reopened = rocks_store::open(test_options(path, 10));
        check(*reopened);
        auto restored = rocks_store::open(test_options(path + "-restored", 10));
        restored->apply_changelog(0, changelog);
        check(*restored);
    }
}

TEST_CASE("logging: RocksDB's lines go to posd's log, never to a LOG file in the state directory") {
    // A LOG file on a full disk aborted posd: the first failed LOG write
    // leaves the file writer in error, and Debian's RocksDB (built with
    // assertions) aborts on the next line instead of returning a status.
    temp_dir dir;
    std::ostringstream out;
    posd::ops::init_logging(posd::ops::log_level::debug, posd::ops::log_format::json, out);
    const posd::ops::library_log_limit limit = posd::ops::get_library_log_limit();
    posd::ops::set_library_log_limit({1e9, 0}); // every line (the options at open alone are hundreds)
    {
        auto store = rocks_store::open(test_options(dir.sub("db"), 10));
        for (std::int64_t i = 1; i <= 2'000; ++i) { // 256 KiB memtables: flushes
            auto ws = make_ws(0, i);
            ws.applied_ids.push_back(fmt::format("log-{}", i));
            store->commit(ws, std::vector<outbox_message>{make_message("t", "k", std::string(200, 'x'))});
        }
    }
    posd::ops::set_library_log_limit(limit);
    posd::ops::init_logging(posd::ops::log_level::info, posd::ops::log_format::json);
    for (const auto& entry : std::filesystem::directory_iterator(dir.sub("db")))
        CHECK(entry.path().filename().string().rfind("LOG", 0) != 0);
    const std::string log = out.str();
    CHECK(log.find(R"("level":"debug","msg":"RocksDB version: )") != std::string::npos); // INFO, at debug
    CHECK(log.find(R"("msg":"DB SUMMARY","source":"rocksdb")") != std::string::npos);
}
