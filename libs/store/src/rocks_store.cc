#include "store/store.h"

#include "store/keys.h"

#include "base/vassert.h"
#include "codec/protobuf.h"
#include "model/keys.h"
#include "ops/log.h"

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>

namespace posd::store {

using keys::tag;

namespace {

std::string_view view_of(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// The first key after every key that starts with `prefix`. Store prefixes
// start with a partition number below 2^31, so the result is never empty.
std::string prefix_end(std::string prefix) {
    while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
    vassert(!prefix.empty(), "prefix without successor");
    prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
    return prefix;
}

// --- outbox message encoding -------------------------------------------------
// version byte 2, then topic, BE32 partition, key, a byte 1 when the value
// is null (a tombstone) else 0, value, BE32 header count and each header's
// name and value; every string is BE32 length + bytes.

constexpr char outbox_format_version = 2;

void append_string(std::string& out, std::string_view s) {
    vassert(s.size() <= std::numeric_limits<std::uint32_t>::max(), "outbox field of {} bytes", s.size());
    keys::append_be32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}

void encode_outbox_message(const outbox_message& m, std::string& out) {
    out.clear();
    out.reserve(32 + m.topic.size() + m.key.size() + m.value.size());
    out.push_back(outbox_format_version);
    append_string(out, m.topic);
    keys::append_be32(out, static_cast<std::uint32_t>(m.partition));
    append_string(out, m.key);
    out.push_back(m.null_value ? 1 : 0);
    append_string(out, m.value);
    vassert(m.headers.size() <= std::numeric_limits<std::uint32_t>::max(), "too many headers");
    keys::append_be32(out, static_cast<std::uint32_t>(m.headers.size()));
    for (const auto& [name, value] : m.headers) {
        append_string(out, name);
        append_string(out, value);
    }
}

class reader {
public:
    explicit reader(std::string_view in) : in_(in) {}
    bool u32(std::uint32_t& v) {
        if (in_.size() < 4) return false;
        v = keys::read_be32(in_);
        in_.remove_prefix(4);
        return true;
    }
    bool str(std::string& s) {
        std::uint32_t n = 0;
        if (!u32(n) || in_.size() < n) return false;
        s.assign(in_.substr(0, n));
        in_.remove_prefix(n);
        return true;
    }
    bool byte(char& c) {
        if (in_.empty()) return false;
        c = in_.front();
        in_.remove_prefix(1);
        return true;
    }
    bool done() const { return in_.empty(); }

private:
    std::string_view in_;
};

bool decode_outbox_message(std::string_view bytes, outbox_message& out) {
    reader r(bytes);
    char version = 0;
    std::uint32_t partition = 0;
    std::uint32_t headers = 0;
    if (!r.byte(version) || version != outbox_format_version) return false;
    char null_value = 0;
    if (!r.str(out.topic) || !r.u32(partition) || !r.str(out.key) || !r.byte(null_value) || null_value > 1 ||
        !r.str(out.value) || !r.u32(headers))
        return false;
    out.null_value = null_value == 1;
    out.partition = static_cast<std::int32_t>(partition);
    out.headers.clear();
    for (std::uint32_t i = 0; i < headers; ++i) {
        auto& h = out.headers.emplace_back();
        if (!r.str(h.first) || !r.str(h.second)) return false;
    }
    return r.done();
}

std::string be64_string(std::uint64_t v) {
    std::string s;
    keys::append_be64(s, v);
    return s;
}

std::string be32_string(std::uint32_t v) {
    std::string s;
    keys::append_be32(s, v);
    return s;
}

// The writes of one commit, reduced to the last write of each key and
// handed to RocksDB in key order. The changelog then carries one record per
// key (an applied id written and trimmed in the same batch is only its
// tombstone), and the WriteBatch and the changelog come from the same list,
// so they cannot disagree. (Key order did not measurably speed up memtable
// inserts; it costs a sort of a few thousand keys per batch.)
class sorted_batch {
public:
    void put(const std::string& key, std::string_view value) { ops_.push_back({key, std::string(value)}); }
    void del(const std::string& key) { ops_.push_back({key, std::nullopt}); }

    // The changelog records of the writes so far (state keys only, without
    // the partition prefix): the last write of each key, in key order.
    void changelog(std::vector<changelog_record>& log) {
        std::stable_sort(ops_.begin(), ops_.end(), [](const op& a, const op& b) { return a.key < b.key; });
        log.clear();
        for (std::size_t i = 0; i < ops_.size(); ++i) {
            if (i + 1 < ops_.size() && ops_[i + 1].key == ops_[i].key) continue; // a later write wins
            const op& o = ops_[i];
            if (keys::is_changelog_tag(o.key[keys::partition_prefix_bytes]))
                log.push_back(changelog_record{o.key.substr(keys::partition_prefix_bytes), o.value});
        }
    }

    // Builds the WriteBatch; moves the changelog records (state keys only,
    // without the partition prefix) into `log` when it is given.
    void finish(rocksdb::WriteBatch& batch, std::vector<changelog_record>* log) {
        // stable: of several writes of one key, the last stays last.
        std::stable_sort(ops_.begin(), ops_.end(), [](const op& a, const op& b) { return a.key < b.key; });
        for (std::size_t i = 0; i < ops_.size(); ++i) {
            if (i + 1 < ops_.size() && ops_[i + 1].key == ops_[i].key) continue; // a later write wins
            op& o = ops_[i];
            vassert(o.key.size() > keys::partition_prefix_bytes, "store key of {} bytes", o.key.size());
            const rocksdb::Status s = o.value ? batch.Put(o.key, *o.value) : batch.Delete(o.key);
            vassert(s.ok(), "WriteBatch refused a write: {}", s.ToString());
            if (log && keys::is_changelog_tag(o.key[keys::partition_prefix_bytes]))
                log->push_back(changelog_record{o.key.substr(keys::partition_prefix_bytes), std::move(o.value)});
        }
    }

private:
    struct op {
        std::string key;
        std::optional<std::string> value;
    };
    std::vector<op> ops_;
};

// RocksDB's own log lines go to posd's log (ops::log_library, source
// "rocksdb") instead of the LOG file in the state directory. Besides one log
// for everything, this removes an abort: Debian's librocksdb is built with
// assertions, and once the disk is full and one LOG line has failed, the next
// LOG line (the error handler logs the failed write) trips
// `WritableFileWriter::AssertFalseAndGetStatusForPrevError` and aborts the
// process instead of letting the write fail with a status.
class rocksdb_log final : public rocksdb::Logger {
public:
    explicit rocksdb_log(rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {}
    using rocksdb::Logger::Logv;
    void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
    void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
        if (level < GetInfoLogLevel()) return;
        const ops::log_level ours = level >= rocksdb::InfoLogLevel::ERROR_LEVEL  ? ops::log_level::error
                                    : level >= rocksdb::InfoLogLevel::WARN_LEVEL ? ops::log_level::warn
                                    : level >= rocksdb::InfoLogLevel::INFO_LEVEL ? ops::log_level::debug
                                                                                 : ops::log_level::trace;
        if (!ops::log_enabled(ours)) return;
        char buf[1024];
        va_list copy;
        va_copy(copy, ap);
        const int n = std::vsnprintf(buf, sizeof buf, format, copy);
        va_end(copy);
        if (n < 0) return;
        std::string text;
        if (static_cast<std::size_t>(n) < sizeof buf) {
            text.assign(buf, static_cast<std::size_t>(n));
        } else {
            text.resize(static_cast<std::size_t>(n) + 1);
            std::vsnprintf(text.data(), text.size(), format, ap);
            text.resize(static_cast<std::size_t>(n));
        }
        ops::log_library("rocksdb", ours, text);
    }
};

} // namespace

class partition_view;

struct rocks_store::impl {
    store_options options;
    std::shared_ptr<rocksdb::Cache> cache;
    std::shared_ptr<rocksdb::Statistics> statistics;
    std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;
    std::unique_ptr<rocksdb::DB> db;
    rocksdb::WriteOptions write_options;
    std::mutex views_mutex;
    std::map<std::int32_t, std::unique_ptr<partition_view>> views;

    [[noreturn]] void fail(std::string_view what, const rocksdb::Status& s) const {
        throw store_error(fmt::format("rocks_store at {}: {}: {}", options.path, what, s.ToString()));
    }

    // Reads `key`; false when absent.
    bool get(const std::string& key, rocksdb::PinnableSlice& out) const {
        out.Reset();
        const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), db->DefaultColumnFamily(), key, &out);
        if (s.IsNotFound()) return false;
        if (!s.ok()) fail(fmt::format("read of {}", keys::describe(key)), s);
        return true;
    }

    template <typename T> bool load(const std::string& key, T& out, rocksdb::PinnableSlice& buffer) const {
        if (!get(key, buffer)) return false;
        if (!codec::decode_state(view_of(buffer), out))
            throw store_error(fmt::format("rocks_store at {}: unreadable value of {} ({} bytes)", options.path,
                                          keys::describe(key), buffer.size()));
        return true;
    }

    template <typename T> std::optional<T> load(const std::string& key) const {
        rocksdb::PinnableSlice buffer;
        T value;
        if (!load(key, value, buffer)) return std::nullopt;
        return value;
    }

    // Calls fn(key, value) for every key in [lower, upper), in key order;
    // fn returns false to stop.
    template <typename Fn> void scan(const std::string& lower, const std::string& upper, Fn&& fn) const {
        rocksdb::ReadOptions ro;
        const rocksdb::Slice upper_bound(upper);
        ro.iterate_upper_bound = &upper_bound;
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
        for (it->Seek(lower); it->Valid(); it->Next()) {
            if (!fn(view_of(it->key()), view_of(it->value()))) break;
        }
        if (!it->status().ok()) fail(fmt::format("scan from {}", keys::describe(lower)), it->status());
    }

    template <typename Fn> void scan_prefix(const std::string& prefix, Fn&& fn) const {
        scan(prefix, prefix_end(prefix), std::forward<Fn>(fn));
    }

    void write(rocksdb::WriteBatch& batch, std::string_view what) {
        const rocksdb::Status s = db->Write(write_options, &batch);
        if (!s.ok()) fail(what, s);
    }

    // (first, next) ordinals of partition p's applied ids.
    std::pair<std::uint64_t, std::uint64_t> applied_range(std::int32_t p) const {
        std::string key;
        keys::write_key(key, p, tag::applied_range);
        rocksdb::PinnableSlice buffer;
        if (!get(key, buffer)) return {0, 0};
        if (buffer.size() != 16)
            throw store_error(fmt::format("rocks_store at {}: unreadable value of {} ({} bytes)", options.path,
                                          keys::describe(key), buffer.size()));
        const std::string_view v = view_of(buffer);
        const std::uint64_t first = keys::read_be64(v);
        const std::uint64_t next = keys::read_be64(v.substr(8));
        vassert(first <= next, "applied id range [{}, {}) of partition {} is inverted", first, next, p);
        return {first, next};
    }

    struct outbox_header {
        std::int64_t start_offset = 0;
        std::uint32_t count = 0;
        std::string previous_batch_id;
    };
    std::optional<outbox_header> read_outbox_header(std::int32_t p) const {
        std::string key;
        keys::write_key(key, p, tag::outbox_header);
        rocksdb::PinnableSlice buffer;
        if (!get(key, buffer)) return std::nullopt;
        if (buffer.size() < 12)
            throw store_error(fmt::format("rocks_store at {}: unreadable value of {} ({} bytes)", options.path,
                                          keys::describe(key), buffer.size()));
        const std::string_view v = view_of(buffer);
        return outbox_header{static_cast<std::int64_t>(keys::read_be64(v)), keys::read_be32(v.substr(8)),
                             std::string(v.substr(12))};
    }

    std::string read_batch_id(std::int32_t p) const {
        std::string key;
        keys::write_key(key, p, tag::batch_id);
        rocksdb::PinnableSlice buffer;
        if (!get(key, buffer)) return {};
        return std::string(view_of(buffer));
    }
};

// The engine's view of one partition. Holds only scratch buffers: every read
// goes to RocksDB, so nothing here can go stale after a restore.
class partition_view final : public engine::state_reader {
public:
    partition_view(const rocks_store::impl& store, std::int32_t p) : store_(store), p_(p) {}

    bool load_meta(std::int32_t partition, model::partition_meta& out) override {
        check(partition);
        keys::write_key(key_, p_, tag::meta);
        return store_.load(key_, out, value_);
    }
    bool load_position(std::string_view position_key, model::position& out) override {
        keys::write_key(key_, p_, tag::position, position_key);
        return store_.load(key_, out, value_);
    }
    bool load_managed_position(std::string_view position_key, model::managed_position& out) override {
        keys::write_key(key_, p_, tag::managed_position, position_key);
        return store_.load(key_, out, value_);
    }
    bool load_balance(std::string_view account_key, model::margin_balance& out) override {
        keys::write_key(key_, p_, tag::balance, account_key);
        return store_.load(key_, out, value_);
    }
    bool load_concentration(std::string_view account_key, std::string_view cusip,
                            model::portfolio_concentration& out) override {
        keys::write_key(key_, p_, tag::concentration, account_key);
        key_.push_back('\0');
        key_.append(cusip);
        return store_.load(key_, out, value_);
    }
    bool is_applied(std::int32_t partition, std::string_view activity_id) override {
        check(partition);
        keys::write_key(key_, p_, tag::applied_id, activity_id);
        return store_.get(key_, value_);
    }
    void load_pending_due(std::int32_t partition, date through,
                          std::vector<model::pending_settlement>& out) override {
        check(partition);
        std::string prefix;
        keys::write_key(prefix, p_, tag::pending);
        // Keys sort by (settle date, sequence): stop at the first one past `through`.
        const std::string upper = through.days() == std::numeric_limits<std::int32_t>::max()
                                      ? prefix_end(prefix)
                                      : prefix + keys::pending_suffix(through.plus_days(1), 0);
        store_.scan(prefix, upper, [&](std::string_view key, std::string_view value) {
            model::pending_settlement s;
            if (!codec::decode_state(value, s))
                throw store_error(fmt::format("rocks_store at {}: unreadable value of {}", store_.options.path,
                                              keys::describe(key)));
            vassert(s.settle_date <= through, "pending settlement {} due {} listed through {}", s.sequence,
                    s.settle_date.to_string(), through.to_string());
            out.push_back(std::move(s));
            return true;
        });
    }
    void for_each_position_key(std::int32_t partition,
                               const std::function<void(std::string_view)>& fn) override {
        check(partition);
        std::string prefix;
        keys::write_key(prefix, p_, tag::position);
        store_.scan_prefix(prefix, [&](std::string_view key, std::string_view) {
            fn(key.substr(prefix.size()));
            return true;
        });
    }
    void for_each_position_key_in_cusip(std::int32_t partition, std::string_view cusip,
                                        const std::function<void(std::string_view)>& fn) override {
        check(partition);
        std::string prefix;
        keys::write_key(prefix, p_, tag::cusip_index, cusip);
        prefix.push_back('\0');
        store_.scan_prefix(prefix, [&](std::string_view key, std::string_view) {
            fn(key.substr(prefix.size()));
            return true;
        });
    }

private:
    void check(std::int32_t partition) const {
        vassert(partition == p_, "the state view of partition {} was asked about partition {}", p_, partition);
    }
    const rocks_store::impl& store_;
    std::int32_t p_;
    std::string key_;
    rocksdb::PinnableSlice value_;
};

// ---------------------------------------------------------------- lifecycle

rocks_store::rocks_store(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

rocks_store::~rocks_store() {
    if (impl_ && impl_->db) {
        // Close() flushes nothing we rely on (the WAL has every commit); its
        // status only says whether background work ended cleanly.
        const rocksdb::Status s = impl_->db->Close();
        (void)s;
    }
}

std::unique_ptr<rocks_store> rocks_store::open(const store_options& options) {
    if (options.path.empty()) throw store_error("rocks_store: no path configured");
    if (options.block_cache_bytes == 0 || options.write_buffer_bytes == 0 || options.max_write_buffer_number < 2)
        throw store_error(fmt::format(
            "rocks_store at {}: block_cache_bytes and write_buffer_bytes must be positive and "
            "max_write_buffer_number at least 2",
            options.path));
    std::error_code ec;
    std::filesystem::create_directories(options.path, ec);
    if (ec) throw store_error(fmt::format("rocks_store: cannot create directory {}: {}", options.path, ec.message()));

    auto i = std::make_unique<impl>();
    i->options = options;
    i->cache = rocksdb::NewLRUCache(options.block_cache_bytes);
    i->write_buffers = std::make_shared<rocksdb::WriteBufferManager>(
        options.write_buffer_bytes * static_cast<std::size_t>(options.max_write_buffer_number));
    i->statistics = rocksdb::CreateDBStatistics();
    // Tickers and histograms without per-operation clock reads.
    i->statistics->set_stats_level(rocksdb::StatsLevel::kExceptTimers);

    rocksdb::BlockBasedTableOptions table;
    table.block_cache = i->cache;
    // Index and filter blocks are charged to the block cache, so the cache
    // size bounds them too (L0's stay pinned: they are read on every Get).
    table.cache_index_and_filter_blocks = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    // is_applied and the lookups of new keys mostly miss: a Bloom filter
    // answers those without reading a data block.
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = true;
    table.format_version = 5;
    // Partitioned index and filters: a large file's filter (2 MiB at a
    // million positions) does not fit one of the cache's 1 MiB shards, so
    // unpartitioned it was read and checksummed again on every lookup (65%
    // of the CPU at 1M positions with a 64 MiB cache); in 4 KiB partitions
    // only the ones a lookup needs are cached (235 -> 1,750 records/s
    // through the service at 1M positions, bench/README.md).
    table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
    table.partition_filters = true;
    table.metadata_block_size = 4096;

    rocksdb::Options o;
    o.create_if_missing = true;
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    o.write_buffer_size = options.write_buffer_bytes;
    o.max_write_buffer_number = options.max_write_buffer_number;
    o.write_buffer_manager = i->write_buffers;
    o.max_open_files = options.max_open_files;
    o.memtable_whole_key_filtering = true;
    o.memtable_prefix_bloom_size_ratio = 0.02;
    o.level_compaction_dynamic_level_bytes = true;
    o.max_background_jobs = 2;
    o.bytes_per_sync = 1u << 20;
    o.statistics = i->statistics;
    // No LOG file (see rocksdb_log); RocksDB's INFO lines (every flush and
    // compaction) only when posd logs at debug.
    const rocksdb::InfoLogLevel rocks_level = ops::log_enabled(ops::log_level::debug)
                                                  ? rocksdb::InfoLogLevel::INFO_LEVEL
                                                  : rocksdb::InfoLogLevel::WARN_LEVEL;
    o.info_log = std::make_shared<rocksdb_log>(rocks_level);
    o.info_log_level = rocks_level;
    const auto supported = rocksdb::GetSupportedCompressions();
    if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end())
        o.compression = rocksdb::kLZ4Compression;
    else if (std::find(supported.begin(), supported.end(), rocksdb::kSnappyCompression) != supported.end())
        o.compression = rocksdb::kSnappyCompression;
    else
        o.compression = rocksdb::kNoCompression;

    rocksdb::DB* raw = nullptr;
    const rocksdb::Status s = rocksdb::DB::Open(o, options.path, &raw);
    if (!s.ok()) throw store_error(fmt::format("rocks_store: cannot open RocksDB at {}: {}", options.path, s.ToString()));
    i->db.reset(raw);
    i->write_options.sync = options.sync;
    return std::unique_ptr<rocks_store>(new rocks_store(std::move(i)));
}

const store_options& rocks_store::options() const { return impl_->options; }

engine::state_reader& rocks_store::partition(std::int32_t p) {
    vassert(p >= 0, "partition {} is negative", p);
    std::lock_guard lock(impl_->views_mutex);
    auto& v = impl_->views[p];
    if (!v) v = std::make_unique<partition_view>(*impl_, p);
    return *v;
}

// ---------------------------------------------------------------- commit

void rocks_store::commit(const engine::write_set& ws, std::span<const outbox_message> outbox,
                         std::vector<changelog_record>* changelog_out, std::string_view batch_id) {
    impl& s = *impl_;
    const std::int32_t p = ws.partition;
    vassert(p >= 0, "partition {} is negative", p);
    vassert(ws.meta.partition == p, "write set for partition {} carries meta of {}", p, ws.meta.partition);
    vassert(outbox.size() <= std::numeric_limits<std::uint32_t>::max(), "outbox of {} messages", outbox.size());

    sorted_batch batch;
    std::string key;
    std::string natural;
    std::string value;
    rocksdb::PinnableSlice buffer;

    // Meta, after checking that the offset only moves forward.
    keys::write_key(key, p, tag::meta);
    model::partition_meta before;
    const bool had_meta = s.load(key, before, buffer);
    vassert(!had_meta || ws.meta.next_offset >= before.next_offset,
            "partition {} offset would go back from {} to {}", p, before.next_offset, ws.meta.next_offset);
    const std::int64_t outbox_start = had_meta ? before.next_offset : model::partition_meta{}.next_offset;
    codec::encode_state(ws.meta, value);
    batch.put(key, value);

    // Positions. A position the store has not seen also gets its entry in
    // the cusip index; positions are never deleted, nor do they change cusip.
    if (!ws.positions.empty()) {
        const std::size_t n = ws.positions.size();
        std::vector<std::string> naturals(n);
        std::vector<std::string> full(n);
        for (std::size_t i = 0; i < n; ++i) {
            const model::position& pos = ws.positions[i];
            model::write_position_key(naturals[i], pos.firm_postrmt, pos.ledger_postrmt, pos.branch_postrmt,
                                      pos.base_postrmt, pos.sub_acct_key, pos.cusip);
            keys::write_key(full[i], p, tag::position, naturals[i]);
        }
        std::vector<rocksdb::Slice> slices(full.begin(), full.end());
        std::vector<rocksdb::PinnableSlice> existing(n);
        std::vector<rocksdb::Status> statuses(n);
        s.db->MultiGet(rocksdb::ReadOptions(), s.db->DefaultColumnFamily(), n, slices.data(), existing.data(),
                       statuses.data());
        for (std::size_t i = 0; i < n; ++i) {
            const model::position& pos = ws.positions[i];
            if (statuses[i].IsNotFound()) {
                keys::write_key(key, p, tag::cusip_index, pos.cusip);
                key.push_back('\0');
                key.append(naturals[i]);
                batch.put(key, {});
            } else if (!statuses[i].ok()) {
                s.fail(fmt::format("read of {}", keys::describe(full[i])), statuses[i]);
            }
            codec::encode_state(pos, value);
            batch.put(full[i], value);
        }
    }
    for (const model::managed_position& m : ws.managed_positions) {
        model::write_position_key(natural, m.firm_prodpc, m.ledger_prodpc, m.branch_prodpc, m.base_prodpc,
                                  m.sub_acct_prodpc, m.cusip);
        keys::write_key(key, p, tag::managed_position, natural);
        codec::encode_state(m, value);
        batch.put(key, value);
    }
    for (const model::margin_balance& b : ws.balances) {
        model::write_account_key(natural, b.firm, b.ledger, b.branch, b.base);
        keys::write_key(key, p, tag::balance, natural);
        codec::encode_state(b, value);
        batch.put(key, value);
    }
    for (const model::portfolio_concentration& c : ws.concentrations) {
        keys::write_key(key, p, tag::concentration, keys::concentration_suffix(c.account, c.cusip));
        codec::encode_state(c, value);
        batch.put(key, value);
    }

    // Pending settlements (few per batch: a Get each keeps the pair
    // assertions memory_state makes).
    for (const model::pending_settlement& ps : ws.pending_released) {
        keys::write_key(key, p, tag::pending, keys::pending_suffix(ps.settle_date, ps.sequence));
        vassert(s.get(key, buffer), "released pending settlement {} not found", ps.sequence);
        batch.del(key);
    }
    for (const model::pending_settlement& ps : ws.pending_added) {
        keys::write_key(key, p, tag::pending, keys::pending_suffix(ps.settle_date, ps.sequence));
        vassert(!s.get(key, buffer), "pending settlement {} added twice", ps.sequence);
        codec::encode_state(ps, value);
        batch.put(key, value);
    }

    // Applied ids: id -> empty, plus ordinal -> id so that the oldest can be
    // trimmed beyond the retention, exactly as memory_state does per insert.
    if (!ws.applied_ids.empty()) {
        auto [first, next] = s.applied_range(p);
        const std::uint64_t old_next = next;
        for (const std::string& id : ws.applied_ids) {
            keys::write_key(key, p, tag::applied_id, id);
            batch.put(key, {});
            keys::write_key(key, p, tag::applied_order, be64_string(next));
            batch.put(key, id);
            ++next;
        }
        const std::uint64_t retained = s.options.applied_ids_retained;
        if (next - first > retained) {
            const std::uint64_t trim_to = next - retained;
            const std::uint64_t stored_end = std::min(trim_to, old_next);
            auto drop = [&](std::uint64_t ordinal, std::string_view id) {
                keys::write_key(key, p, tag::applied_order, be64_string(ordinal));
                batch.del(key);
                keys::write_key(key, p, tag::applied_id, id);
                batch.del(key);
            };
            if (first < stored_end) {
                std::string lower;
                std::string upper;
                keys::write_key(lower, p, tag::applied_order, be64_string(first));
                keys::write_key(upper, p, tag::applied_order, be64_string(stored_end));
                std::uint64_t expected = first;
                std::vector<std::pair<std::uint64_t, std::string>> old_ids;
                s.scan(lower, upper, [&](std::string_view k, std::string_view v) {
                    const std::uint64_t ordinal = keys::read_be64(k.substr(keys::partition_prefix_bytes + 1));
                    vassert(ordinal == expected, "partition {} applied id ordinal {} where {} was expected", p,
                            ordinal, expected);
                    old_ids.emplace_back(ordinal, std::string(v));
                    ++expected;
                    return true;
                });
                vassert(expected == stored_end, "partition {} applied ids end at ordinal {}, not {}", p, expected,
                        stored_end);
                for (const auto& [ordinal, id] : old_ids) drop(ordinal, id);
            }
            for (std::uint64_t ordinal = std::max(first, old_next); ordinal < trim_to; ++ordinal)
                drop(ordinal, ws.applied_ids[static_cast<std::size_t>(ordinal - old_next)]);
            first = trim_to;
        }
        keys::write_key(key, p, tag::applied_range);
        batch.put(key, be64_string(first) + be64_string(next));
    }

    // The batch id is state (the changelog carries it); the previous one
    // goes into the outbox header.
    const std::string previous_batch_id = s.read_batch_id(p);
    if (!batch_id.empty()) {
        keys::write_key(key, p, tag::batch_id);
        batch.put(key, batch_id);
    }

    // The outbox replaces the previous one: overwrite, then delete the
    // leftover tail. The header says where the batch started and how many
    // messages it has (0 is a valid outbox: a batch that produced nothing).
    std::uint32_t old_count = 0;
    if (auto h = s.read_outbox_header(p)) old_count = h->count;
    std::vector<changelog_record> log;
    const bool log_in_outbox = !s.options.changelog_topic.empty();
    if (changelog_out || log_in_outbox) batch.changelog(log); // every key but the outbox's, written so far
    std::uint32_t count = static_cast<std::uint32_t>(outbox.size());
    for (std::uint32_t i = 0; i < count; ++i) {
        keys::write_key(key, p, tag::outbox_entry, be32_string(i));
        encode_outbox_message(outbox[i], value);
        batch.put(key, value);
    }
    if (log_in_outbox) {
        outbox_message m;
        m.topic = s.options.changelog_topic;
        m.partition = p;
        for (const changelog_record& r : log) {
            m.key = r.key;
            m.null_value = !r.value;
            m.value = r.value.value_or(std::string());
            keys::write_key(key, p, tag::outbox_entry, be32_string(count++));
            encode_outbox_message(m, value);
            batch.put(key, value);
        }
    }
    for (std::uint32_t i = count; i < old_count; ++i) {
        keys::write_key(key, p, tag::outbox_entry, be32_string(i));
        batch.del(key);
    }
    keys::write_key(key, p, tag::outbox_header);
    batch.put(key, be64_string(static_cast<std::uint64_t>(outbox_start)) + be32_string(count) + previous_batch_id);

    rocksdb::WriteBatch write;
    batch.finish(write, nullptr);
    if (s.options.fault_hook) s.options.fault_hook("before_write");
    s.write(write, fmt::format("commit of partition {}", p));
    if (s.options.fault_hook) s.options.fault_hook("after_write");
    if (changelog_out) *changelog_out = std::move(log);
}

// ---------------------------------------------------------------- outbox, meta

std::vector<outbox_message> rocks_store::outbox(std::int32_t p) {
    std::vector<outbox_message> out;
    const auto header = impl_->read_outbox_header(p);
    if (!header) return out;
    out.reserve(header->count);
    std::string prefix;
    keys::write_key(prefix, p, tag::outbox_entry);
    impl_->scan_prefix(prefix, [&](std::string_view key, std::string_view value) {
        const std::uint32_t index = keys::read_be32(key.substr(prefix.size()));
        vassert(index == out.size(), "partition {} outbox entry {} where {} was expected", p, index, out.size());
        if (!decode_outbox_message(value, out.emplace_back()))
            throw store_error(fmt::format("rocks_store at {}: unreadable value of {}", impl_->options.path,
                                          keys::describe(key)));
        return true;
    });
    vassert(out.size() == header->count, "partition {} outbox has {} messages, its header says {}", p, out.size(),
            header->count);
    return out;
}

std::optional<std::int64_t> rocks_store::outbox_start_offset(std::int32_t p) {
    const auto header = impl_->read_outbox_header(p);
    if (!header) return std::nullopt;
    return header->start_offset;
}

std::optional<std::string> rocks_store::outbox_previous_batch_id(std::int32_t p) {
    auto header = impl_->read_outbox_header(p);
    if (!header) return std::nullopt;
    return std::move(header->previous_batch_id);
}

std::string rocks_store::last_batch_id(std::int32_t p) { return impl_->read_batch_id(p); }

void rocks_store::clear_outbox(std::int32_t p) {
    const auto header = impl_->read_outbox_header(p);
    if (!header) return;
    rocksdb::WriteBatch batch;
    std::string key;
    for (std::uint32_t i = 0; i < header->count; ++i) {
        keys::write_key(key, p, tag::outbox_entry, be32_string(i));
        batch.Delete(key);
    }
    keys::write_key(key, p, tag::outbox_header);
    batch.Delete(key);
    impl_->write(batch, fmt::format("clearing the outbox of partition {}", p));
}

std::optional<model::partition_meta> rocks_store::meta(std::int32_t p) {
    std::string key;
    keys::write_key(key, p, tag::meta);
    return impl_->load<model::partition_meta>(key);
}

// ---------------------------------------------------------------- restore

void rocks_store::drop_partition(std::int32_t p) {
    rocksdb::WriteBatch batch;
    const rocksdb::Status s =
        batch.DeleteRange(impl_->db->DefaultColumnFamily(), keys::partition_prefix(p), keys::partition_end(p));
    if (!s.ok()) impl_->fail(fmt::format("dropping partition {}", p), s);
    impl_->write(batch, fmt::format("dropping partition {}", p));
}

void rocks_store::apply_changelog(std::int32_t p, std::span<const changelog_record> records) {
    const std::string prefix = keys::partition_prefix(p);
    for (std::size_t i = 0; i < records.size(); ++i) {
        const std::string& k = records[i].key;
        if (k.empty() || !keys::is_changelog_tag(k.front()))
            throw store_error(fmt::format("rocks_store at {}: changelog record {} of partition {} has no state key "
                                          "(tag {})",
                                          impl_->options.path, i, p,
                                          k.empty() ? std::string("none") : fmt::format("{:#04x}", static_cast<unsigned char>(k.front()))));
    }
    rocksdb::WriteBatch batch;
    std::string key;
    for (const changelog_record& r : records) {
        key.assign(prefix);
        key.append(r.key);
        if (r.value) batch.Put(key, *r.value);
        else batch.Delete(key);
    }
    impl_->write(batch, fmt::format("applying the changelog of partition {}", p));
}

// ---------------------------------------------------------------- queries

std::optional<model::position> rocks_store::find_position(std::int32_t p, std::string_view position_key) const {
    std::string key;
    keys::write_key(key, p, tag::position, position_key);
    return impl_->load<model::position>(key);
}

std::optional<model::managed_position> rocks_store::find_managed_position(std::int32_t p,
                                                                          std::string_view position_key) const {
    std::string key;
    keys::write_key(key, p, tag::managed_position, position_key);
    return impl_->load<model::managed_position>(key);
}

namespace {
// Every value under one account's keys of a tag: the account key, then the
// separator that ends it ('|' before a position key's sub-account, '\0'
// before a concentration's cusip), so that base 45678 never matches 456789.
template <typename T, typename Impl>
std::vector<T> account_values(const Impl& s, std::int32_t p, keys::tag t, std::string_view account_key,
                              char separator) {
    std::vector<T> out;
    std::string prefix;
    keys::write_key(prefix, p, t, account_key);
    prefix.push_back(separator);
    s.scan_prefix(prefix, [&](std::string_view key, std::string_view value) {
        if (!codec::decode_state(value, out.emplace_back()))
            throw store_error(
                fmt::format("rocks_store at {}: unreadable value of {}", s.options.path, keys::describe(key)));
        return true;
    });
    return out;
}
} // namespace

std::vector<model::position> rocks_store::account_positions(std::int32_t p, std::string_view account_key) const {
    return account_values<model::position>(*impl_, p, tag::position, account_key, '|');
}

std::optional<model::margin_balance> rocks_store::find_balance(std::int32_t p, std::string_view account_key) const {
    std::string key;
    keys::write_key(key, p, tag::balance, account_key);
    return impl_->load<model::margin_balance>(key);
}

std::vector<model::portfolio_concentration> rocks_store::account_concentrations(std::int32_t p,
                                                                                std::string_view account_key) const {
    return account_values<model::portfolio_concentration>(*impl_, p, tag::concentration, account_key, '\0');
}

std::size_t rocks_store::applied_id_count(std::int32_t p) const {
    const auto [first, next] = impl_->applied_range(p);
    return static_cast<std::size_t>(next - first);
}

// ---------------------------------------------------------------- stats

store_stats rocks_store::stats() const {
    store_stats out;
    rocksdb::DB& db = *impl_->db;
    auto prop = [&](const std::string& name) {
        std::uint64_t v = 0;
        return db.GetIntProperty(name, &v) ? v : 0;
    };
    using props = rocksdb::DB::Properties;
    out.sst_bytes = prop(props::kTotalSstFilesSize);
    out.memtable_bytes = prop(props::kCurSizeAllMemTables);
    out.approximate_size_bytes = out.sst_bytes + out.memtable_bytes;
    out.estimated_live_data_bytes = prop(props::kEstimateLiveDataSize);
    out.pending_compaction_bytes = prop(props::kEstimatePendingCompactionBytes);
    out.running_compactions = prop(props::kNumRunningCompactions);
    out.write_stopped = prop(props::kIsWriteStopped) != 0;
    out.delayed_write_rate = prop(props::kActualDelayedWriteRate);
    out.estimated_keys = prop(props::kEstimateNumKeys);
    rocksdb::HistogramData stalls;
    impl_->statistics->histogramData(rocksdb::WRITE_STALL, &stalls);
    out.write_stall_count = stalls.count;
    out.write_stall_micros = impl_->statistics->getTickerCount(rocksdb::STALL_MICROS);
    out.block_cache_usage_bytes = impl_->cache->GetUsage();
    out.block_cache_pinned_bytes = impl_->cache->GetPinnedUsage();
    out.block_cache_capacity_bytes = impl_->cache->GetCapacity();
    return out;
}

} // namespace posd::store
