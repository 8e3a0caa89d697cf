#pragma once
// Shared by the store tests: a temporary directory per test, a runner that
// feeds one generated activity stream through the engine into both
// memory_state (the oracle) and rocks_store, and a comparison of every read
// the engine and the HTTP queries can make.

#include "store/keys.h"
#include "store/partitioner.h"
#include "store/store.h"

#include "codec/decoder.h"
#include "codec/protobuf.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "model/keys.h"
#include "workload/generator.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace posd::store::test {

// A fresh directory under /tmp, removed with everything in it at scope end.
class temp_dir {
public:
    temp_dir() {
        std::string pattern = "/tmp/posd-store-test-XXXXXX";
        const char* made = ::mkdtemp(pattern.data());
        REQUIRE(made != nullptr);
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const { return path_; }
    std::string sub(std::string_view name) const { return path_ + "/" + std::string(name); }

private:
    std::string path_;
};

// Small memtables, so that the tests flush and compact and read from table
// files, not only from the memtable.
inline store_options test_options(const std::string& path, std::size_t applied_ids_retained) {
    store_options o;
    o.path = path;
    o.block_cache_bytes = 4u << 20;
    o.write_buffer_bytes = 256u << 10;
    o.max_write_buffer_number = 2;
    o.applied_ids_retained = applied_ids_retained;
    return o;
}

inline std::int32_t partition_of_position(std::string_view position_key, std::int32_t partitions) {
    return kafka_partition_for_key(model::account_of(model::position_key{std::string(position_key)}).value(),
                                   partitions);
}

// Decimal-exact field-by-field equality is the models' operator==; this
// names the first entity that differs, or returns "" when none does.
class state_comparison {
public:
    state_comparison(engine::memory_state& mem, rocks_store& store, std::int32_t partitions)
        : mem_(mem), store_(store), partitions_(partitions) {}

    // Every read, for every partition. `applied` lists every activity id
    // ever applied with its partition (trimmed ones included: both stores
    // must have forgotten the same ones).
    std::string first_difference(const std::vector<std::pair<std::string, std::int32_t>>& applied) {
        if (auto d = metas(); !d.empty()) return d;
        if (auto d = positions(); !d.empty()) return d;
        if (auto d = managed(); !d.empty()) return d;
        if (auto d = balances(); !d.empty()) return d;
        if (auto d = concentrations(); !d.empty()) return d;
        if (auto d = pending(); !d.empty()) return d;
        if (auto d = cusip_index(); !d.empty()) return d;
        for (const auto& [id, p] : applied) {
            if (mem_.is_applied(p, id) != store_.partition(p).is_applied(p, id))
                return fmt::format("is_applied({}, {}): memory {}, store {}", p, id, mem_.is_applied(p, id),
                                   store_.partition(p).is_applied(p, id));
        }
        for (std::int32_t p = 0; p < partitions_; ++p)
            if (mem_.applied_id_count(p) != store_.applied_id_count(p))
                return fmt::format("partition {} remembers {} ids in memory, {} in the store", p,
                                   mem_.applied_id_count(p), store_.applied_id_count(p));
        return {};
    }

private:
    std::string metas() {
        for (std::int32_t p = 0; p < partitions_; ++p) {
            model::partition_meta a, b;
            const bool in_mem = mem_.load_meta(p, a);
            const bool in_store = store_.partition(p).load_meta(p, b);
            if (in_mem != in_store || (in_mem && !(a == b)))
                return fmt::format("meta of partition {} differs (memory {} next {}, store {} next {})", p, in_mem,
                                   a.next_offset, in_store, b.next_offset);
            const auto direct = store_.meta(p);
            if (direct.has_value() != in_store || (direct && !(*direct == b)))
                return fmt::format("meta({}) differs from the view's load_meta", p);
        }
        return {};
    }

    std::vector<std::string> store_position_keys(std::int32_t p) {
        std::vector<std::string> keys;
        store_.partition(p).for_each_position_key(p, [&](std::string_view k) { keys.emplace_back(k); });
        return keys;
    }

    std::string positions() {
        for (const auto& [key, pos] : mem_.positions()) {
            const std::int32_t p = partition_of_position(key, partitions_);
            model::position got;
            if (!store_.partition(p).load_position(key, got)) return fmt::format("position {} missing", key);
            if (!(got == pos)) return fmt::format("position {} differs (version {} vs {})", key, pos.version, got.version);
            const auto direct = store_.find_position(p, key);
            if (!direct || !(*direct == pos)) return fmt::format("find_position({}) differs", key);
        }
        std::map<std::string, std::vector<model::position>> by_account;
        for (std::int32_t p = 0; p < partitions_; ++p) {
            std::vector<std::string> in_mem;
            mem_.for_each_position_key(p, [&](std::string_view k) { in_mem.emplace_back(k); });
            std::vector<std::string> in_store = store_position_keys(p);
            std::sort(in_mem.begin(), in_mem.end());
            if (in_mem != in_store)
                return fmt::format("partition {} lists {} positions in memory, {} in the store", p, in_mem.size(),
                                   in_store.size());
        }
        for (const auto& [key, pos] : mem_.positions()) by_account[pos.account().value()].push_back(pos);
        for (auto& [account, list] : by_account) {
            std::sort(list.begin(), list.end(),
                      [](const model::position& a, const model::position& b) { return a.key() < b.key(); });
            const auto got = store_.account_positions(kafka_partition_for_key(account, partitions_), account);
            if (got != list)
                return fmt::format("account_positions({}) has {} positions, expected {}", account, got.size(),
                                   list.size());
        }
        return {};
    }

    std::string managed() {
        for (const auto& [key, m] : mem_.managed_positions()) {
            const std::int32_t p = partition_of_position(key, partitions_);
            model::managed_position got;
            if (!store_.partition(p).load_managed_position(key, got) || !(got == m))
                return fmt::format("managed position {} missing or different", key);
            const auto direct = store_.find_managed_position(p, key);
            if (!direct || !(*direct == m)) return fmt::format("find_managed_position({}) differs", key);
        }
        for (const auto& [key, pos] : mem_.positions()) {
            if (mem_.managed_positions().contains(key)) continue;
            model::managed_position got;
            if (store_.partition(partition_of_position(key, partitions_)).load_managed_position(key, got))
                return fmt::format("the store has a managed position {} that memory has not", key);
        }
        return {};
    }

    std::string balances() {
        for (const auto& [account, b] : mem_.balances()) {
            const std::int32_t p = kafka_partition_for_key(account, partitions_);
            model::margin_balance got;
            if (!store_.partition(p).load_balance(account, got) || !(got == b))
                return fmt::format("balance {} missing or different", account);
            const auto direct = store_.find_balance(p, account);
            if (!direct || !(*direct == b)) return fmt::format("find_balance({}) differs", account);
        }
        for (const auto& [key, pos] : mem_.positions()) {
            const std::string account = pos.account().value();
            if (mem_.balances().contains(account)) continue;
            if (store_.find_balance(kafka_partition_for_key(account, partitions_), account))
                return fmt::format("the store has a balance {} that memory has not", account);
        }
        return {};
    }

    std::string concentrations() {
        for (const auto& [account, by_cusip] : mem_.concentrations()) {
            const std::int32_t p = kafka_partition_for_key(account, partitions_);
            std::vector<model::portfolio_concentration> expected;
            for (const auto& [cusip, c] : by_cusip) {
                model::portfolio_concentration got;
                if (!store_.partition(p).load_concentration(account, cusip, got) || !(got == c))
                    return fmt::format("concentration {} {} missing or different", account, cusip);
                expected.push_back(c);
            }
            if (store_.account_concentrations(p, account) != expected)
                return fmt::format("account_concentrations({}) differs", account);
        }
        for (const auto& [key, pos] : mem_.positions()) {
            const std::string account = pos.account().value();
            if (mem_.concentrations().contains(account)) continue;
            if (!store_.account_concentrations(kafka_partition_for_key(account, partitions_), account).empty())
                return fmt::format("the store has concentrations of {} that memory has not", account);
        }
        return {};
    }

    std::string pending() {
        for (std::int32_t p = 0; p < partitions_; ++p) {
            std::vector<date> throughs{date::from_days(std::numeric_limits<std::int32_t>::max())};
            model::partition_meta meta;
            if (mem_.load_meta(p, meta) && meta.business_date) {
                throughs.push_back(*meta.business_date);
                throughs.push_back(meta.business_date->plus_days(1));
                throughs.push_back(meta.business_date->plus_days(3));
            }
            for (date through : throughs) {
                std::vector<model::pending_settlement> a, b;
                mem_.load_pending_due(p, through, a);
                store_.partition(p).load_pending_due(p, through, b);
                if (a != b)
                    return fmt::format("partition {} pending due through {}: {} in memory, {} in the store", p,
                                       through.days(), a.size(), b.size());
            }
        }
        return {};
    }

    std::string cusip_index() {
        std::set<std::string> cusips;
        for (const auto& [key, pos] : mem_.positions()) cusips.insert(pos.cusip);
        cusips.insert("NOSUCHCUS");
        for (std::int32_t p = 0; p < partitions_; ++p) {
            for (const auto& cusip : cusips) {
                std::vector<std::string> a, b;
                mem_.for_each_position_key_in_cusip(p, cusip, [&](std::string_view k) { a.emplace_back(k); });
                store_.partition(p).for_each_position_key_in_cusip(p, cusip,
                                                                   [&](std::string_view k) { b.emplace_back(k); });
                std::sort(a.begin(), a.end());
                std::sort(b.begin(), b.end());
                if (a != b)
                    return fmt::format("partition {} cusip '{}': {} positions in memory, {} in the store", p, cusip,
                                       a.size(), b.size());
            }
        }
        return {};
    }

    engine::memory_state& mem_;
    rocks_store& store_;
    std::int32_t partitions_;
};

// The stream's Kafka messages as an outbox (protobuf values, one header).
inline std::vector<outbox_message> outbox_of(const engine::write_set& ws) {
    std::vector<outbox_message> out;
    for (const auto& e : ws.events) {
        outbox_message m;
        m.partition = ws.partition;
        m.key = fmt::format("event-{}", out.size());
        m.headers.emplace_back("content-type", "application/x-protobuf");
        std::visit(
            [&](const auto& ev) {
                using T = std::decay_t<decltype(ev)>;
                if constexpr (std::is_same_v<T, model::position_updated>) m.topic = "position.updated";
                else if constexpr (std::is_same_v<T, model::market_value_event>) m.topic = "market-value";
                else if constexpr (std::is_same_v<T, model::margin_updated>) m.topic = "margin.updated";
                else m.topic = "activity.dlq";
                m.value = codec::encode_protobuf(ev);
            },
            e);
        out.push_back(std::move(m));
    }
    return out;
}

// Runs a generated stream over `partitions` partitions (activity records by
// Kafka's partitioner on their key, END_OF_DAY to every partition, price
// updates re-valuing every partition), one batch at a time, into a
// memory_state and a rocks_store. Batch sizes are drawn from the seed.
class twin_runner {
public:
    twin_runner(std::uint64_t seed, std::int32_t partitions, std::size_t applied_ids_retained, std::size_t items)
        : mem(applied_ids_retained), partitions_(partitions), rng_(seed ^ 0x5eedu) {
        workload::workload_config cfg;
        cfg.seed = seed;
        cfg.account_count = 120;
        cfg.hot_account_count = 4;
        cfg.cusip_count = 50;
        cfg.end_of_day_every = 300;
        cfg.price_update_every = 90;
        cfg.duplicate_per_mille = 40;
        cfg.bad_per_mille = 20;
        workload::activity_generator gen(cfg);
        gen.reference().load_into(ref_);
        items_ = gen.take(items);
        config_.initial_business_date = cfg.start_business_date;
        config_.applied_ids_retained = applied_ids_retained;
        for (std::int32_t p = 0; p < partitions; ++p) engines_.emplace_back(p, config_, ref_);
        pending_.resize(static_cast<std::size_t>(partitions));
        next_offset_.resize(static_cast<std::size_t>(partitions), 0);
        targets_.resize(static_cast<std::size_t>(partitions));
        for (auto& t : targets_) t = draw_target();
    }

    // Commits the next batch of some partition into both stores (and, when
    // `changelog` is given, appends the batch's changelog to
    // (*changelog)[partition]). False when the stream is exhausted.
    bool step(rocks_store& store, std::vector<std::vector<changelog_record>>* changelog = nullptr) {
        while (actions_.empty() && next_item_ < items_.size()) feed(items_[next_item_++]);
        if (actions_.empty()) {
            for (std::int32_t p = 0; p < partitions_; ++p)
                if (!pending_[static_cast<std::size_t>(p)].empty()) actions_.push_back(flush_action{p});
        }
        while (!actions_.empty()) {
            action a = std::move(actions_.front());
            actions_.pop_front();
            if (auto* u = std::get_if<model::price>(&a)) {
                ref_.upsert(*u);
                continue;
            }
            if (auto* f = std::get_if<flush_action>(&a)) {
                auto& batch = pending_[static_cast<std::size_t>(f->partition)];
                if (batch.empty()) continue;
                run(store, f->partition, changelog, [&](engine::state_reader& s) {
                    return engines_[static_cast<std::size_t>(f->partition)].apply(s, batch, now_);
                });
                batch.clear();
                return true;
            }
            const auto& r = std::get<revalue_action>(a);
            run(store, r.partition, changelog, [&](engine::state_reader& s) {
                return engines_[static_cast<std::size_t>(r.partition)].revalue(s, r.cusip, now_);
            });
            return true;
        }
        return false;
    }

    engine::memory_state mem;
    // Every activity id applied, with its partition.
    std::vector<std::pair<std::string, std::int32_t>> applied;
    // The outbox each partition committed last.
    std::map<std::int32_t, std::vector<outbox_message>> last_outbox;
    std::uint64_t batches = 0;
    std::uint64_t applied_records = 0;
    std::uint64_t end_of_days = 0;
    std::uint64_t pending_released = 0;
    std::uint64_t revalues = 0;

private:
    struct flush_action {
        std::int32_t partition;
    };
    struct revalue_action {
        std::int32_t partition;
        std::string cusip;
    };
    using action = std::variant<flush_action, model::price, revalue_action>;

    std::size_t draw_target() { return static_cast<std::size_t>(rng_.between(1, 40)); }

    void add(std::int32_t p, const workload::item& it) {
        auto& batch = pending_[static_cast<std::size_t>(p)];
        const auto type = codec::content_type_from_header(
            it.content_type.empty() ? std::nullopt : std::optional<std::string_view>(it.content_type));
        batch.push_back(engine::input_record{next_offset_[static_cast<std::size_t>(p)]++, it.key, it.value,
                                             decoder_.decode(it.value, type)});
        if (batch.size() >= targets_[static_cast<std::size_t>(p)]) {
            targets_[static_cast<std::size_t>(p)] = draw_target();
            actions_.push_back(flush_action{p});
        }
    }

    void feed(const workload::item& it) {
        now_ = it.event_time;
        switch (it.kind) {
        case workload::item_kind::activity: add(kafka_partition_for_key(it.key, partitions_), it); break;
        case workload::item_kind::control:
            for (std::int32_t p = 0; p < partitions_; ++p) add(p, it);
            break;
        case workload::item_kind::price_update:
            for (std::int32_t p = 0; p < partitions_; ++p) actions_.push_back(flush_action{p});
            actions_.push_back(*it.price);
            for (std::int32_t p = 0; p < partitions_; ++p) actions_.push_back(revalue_action{p, it.price->cusip});
            break;
        }
    }

    template <typename Apply>
    void run(rocks_store& store, std::int32_t p, std::vector<std::vector<changelog_record>>* changelog,
             Apply&& apply) {
        engine::write_set in_memory = apply(mem);
        engine::write_set in_store = apply(store.partition(p));
        REQUIRE(in_memory.counts == in_store.counts);
        REQUIRE(in_memory.events.size() == in_store.events.size());
        REQUIRE(in_memory.applied_ids == in_store.applied_ids);
        for (const auto& id : in_store.applied_ids) applied.emplace_back(id, p);
        ++batches;
        applied_records += in_store.counts.applied;
        end_of_days += in_store.counts.controls;
        pending_released += in_store.pending_released.size();
        if (in_store.counts.records_in == 0) ++revalues;
        mem.apply(std::move(in_memory));
        auto outbox = outbox_of(in_store);
        std::vector<changelog_record> log;
        store.commit(in_store, outbox, changelog ? &log : nullptr);
        if (changelog) {
            auto& to = (*changelog)[static_cast<std::size_t>(p)];
            to.insert(to.end(), std::make_move_iterator(log.begin()), std::make_move_iterator(log.end()));
        }
        last_outbox[p] = std::move(outbox);
    }

    engine::reference_data ref_;
    engine::engine_config config_;
    codec::decoder decoder_;
    std::vector<engine::partition_engine> engines_;
    std::vector<workload::item> items_;
    std::size_t next_item_ = 0;
    std::int32_t partitions_;
    workload::rng rng_;
    timestamp now_;
    std::vector<std::vector<engine::input_record>> pending_;
    std::vector<std::int64_t> next_offset_;
    std::vector<std::size_t> targets_;
    std::deque<action> actions_;
};

} // namespace posd::store::test
