#include "kafka_service.h"

#include "codec/decoder.h"
#include "codec/json_encode.h"
#include "engine/engine.h"
#include "model/keys.h"
#include "ops/log.h"
#include "stream/recovery.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

namespace posd::service {

namespace {

timestamp now_ms() {
    return timestamp{std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()};
}

std::optional<std::string> header(RdKafka::Message& m, const char* name) {
    const RdKafka::Headers* h = m.headers();
    if (!h) return std::nullopt;
    RdKafka::Headers::Header v = h->get_last(name);
    if (v.err() != RdKafka::ERR_NO_ERROR || !v.value()) return std::nullopt;
    return std::string(static_cast<const char*>(v.value()), v.value_size());
}

} // namespace

// One assigned partition: its engine, its publisher and its pending records.
struct partition_state {
    std::int32_t partition = 0;
    std::unique_ptr<engine::partition_engine> engine;
    std::unique_ptr<stream::batch_publisher> publisher;
    std::vector<std::unique_ptr<RdKafka::Message>> pending;
    std::chrono::steady_clock::time_point first_pending{};
    std::uint64_t batch_sequence = 0;
    // Cusips whose price or security changed and are not re-valued here
    // yet, and when the first of them arrived.
    std::set<std::string> revalue_pending;
    std::chrono::steady_clock::time_point first_revalue_pending{};
    // Set when the last batch is in RocksDB but its transaction failed (a
    // rebalance changed the group's generation, say): nothing more of the
    // partition is applied until the stored outbox is published.
    std::optional<std::chrono::steady_clock::time_point> unpublished_since;
    std::chrono::steady_clock::time_point next_publish_attempt{};
};

struct kafka_service::impl : RdKafka::RebalanceCb {
    kafka_service_settings settings;
    const engine::engine_config& config;
    const engine::reference_data& refdata;
    store::rocks_store& store;
    std::atomic<bool>& ready;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer;
    std::map<std::int32_t, partition_state> partitions;
    codec::decoder decoder;
    mutable std::mutex counts_mutex;
    service_counts totals;
    std::string incarnation; // makes batch ids unique across restarts
    // An exception must not unwind through librdkafka's C frames: the
    // rebalance callback parks it here and run() rethrows it.
    std::exception_ptr callback_error;
    std::chrono::steady_clock::time_point next_sample{}; // refdata poll, lag and state size
    const std::atomic<bool>* stop = nullptr;              // run()'s, for long restores

    impl(kafka_service_settings s, const engine::engine_config& c, const engine::reference_data& r,
         store::rocks_store& st, std::atomic<bool>& rd)
        : settings(std::move(s)), config(c), refdata(r), store(st), ready(rd),
          incarnation(fmt::format("{:x}", now_ms().ms)) {}

    ~impl() override {
        if (settings.view) settings.view->clear(); // run() ended by an exception
        for (auto& [p, st] : partitions) st.pending.clear(); // messages die before the consumer
        if (consumer) consumer->close();
    }

    void start() {
        auto props = settings.kafka;
        for (const auto& [k, v] : settings.consumer_kafka) props[k] = v;
        props["group.id"] = settings.group_id;
        props["enable.auto.commit"] = "false";
        props["enable.auto.offset.store"] = "false";
        props["auto.offset.reset"] = "earliest";
        props["isolation.level"] = "read_committed";
        props["partition.assignment.strategy"] = "cooperative-sticky";
        props.try_emplace("client.id", settings.instance_id);
        if (!settings.advertised_http.empty())
            props["client.id"] = member_client_id(props["client.id"], settings.advertised_http);
        auto conf = stream::make_conf(props);
        std::string err;
        if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) != RdKafka::Conf::CONF_OK)
            throw std::runtime_error("rebalance_cb: " + err);
        consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
        if (!consumer) throw std::runtime_error("cannot create the consumer: " + err);
        if (RdKafka::ErrorCode e = consumer->subscribe({settings.topics.activity}); e != RdKafka::ERR_NO_ERROR)
            throw std::runtime_error("subscribe to " + settings.topics.activity + ": " + RdKafka::err2str(e));
        // Ready means no assigned partition is being recovered: true with
        // none assigned (an idle member of a large group), false from an
        // assignment until its partitions are recovered.
        set_ready(true);
    }

    // ---- assignment and recovery (README.md, "The exactly-once protocol") ----

    void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& parts) override {
        try {
            rebalance(c, err, parts);
        } catch (...) {
            if (!callback_error) callback_error = std::current_exception();
        }
    }

    void rebalance(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err, std::vector<RdKafka::TopicPartition*>& parts) {
        if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
            set_ready(false);
            for (RdKafka::TopicPartition* tp : parts) tp->set_offset(assign(tp->partition()));
            if (auto e = std::unique_ptr<RdKafka::Error>(c->incremental_assign(parts)))
                throw std::runtime_error("incremental_assign: " + e->str());
            set_ready(true);
        } else if (err == RdKafka::ERR__REVOKE_PARTITIONS) {
            for (RdKafka::TopicPartition* tp : parts) revoke(tp->partition());
            if (auto e = std::unique_ptr<RdKafka::Error>(c->incremental_unassign(parts)))
                throw std::runtime_error("incremental_unassign: " + e->str());
        } else {
            for (RdKafka::TopicPartition* tp : parts) revoke(tp->partition());
            c->unassign();
        }
        if (settings.metrics) settings.metrics->partitions_assigned().Set(static_cast<double>(partitions.size()));
        std::lock_guard lock(counts_mutex);
        totals.partitions_assigned = partitions.size();
    }

    void set_ready(bool r) {
        ready.store(r);
        if (settings.metrics) settings.metrics->ready().Set(r ? 1 : 0);
    }

    // Prepares partition p and returns the offset to start consuming at.
    std::int64_t assign(std::int32_t p) {
        if (settings.view) settings.view->recovering(p); // 503 until recovered
        partition_state st;
        st.partition = p;
        st.engine = std::make_unique<engine::partition_engine>(p, config, refdata);
        st.publisher = std::make_unique<stream::batch_publisher>(
            settings.kafka, fmt::format("{}.{}.{}", settings.group_id, settings.topics.activity, p), settings.mode,
            *consumer);
        st.publisher->init(settings.kafka_timeout); // fences the previous owner
        if (settings.metrics) settings.metrics->restore_progress_ratio(p).Set(0);

        const auto committed =
            stream::fetch_committed(*consumer, settings.topics.activity, p, settings.kafka_timeout);
        auto meta = store.meta(p);
        const std::string local_batch = store.last_batch_id(p);
        const auto outbox_start = store.outbox_start_offset(p);
        const auto outbox_previous = store.outbox_previous_batch_id(p);
        const stream::recovery_decision d = stream::decide_recovery({
            meta ? std::optional(meta->next_offset) : std::nullopt,
            local_batch,
            outbox_start,
            outbox_previous.value_or(""),
            committed ? std::optional(committed->offset) : std::nullopt,
            committed ? std::string_view(committed->metadata) : std::string_view(),
        });
        ops::log_info("partition assigned",
                      {{"partition", p}, {"recovery", stream::to_string(d.action)}, {"why", d.why}});
        switch (d.action) {
        case stream::recovery_action::current: break;
        case stream::recovery_action::republish_outbox: republish_outbox(st); break;
        case stream::recovery_action::restore:
            restore(p);
            meta = store.meta(p);
            break;
        }
        const std::int64_t start = meta ? meta->next_offset : 0;
        if (settings.tables && meta) {
            // Price and security changes this partition's state has not seen.
            for (std::string& c : settings.tables->changed_since(meta->revalued_through))
                st.revalue_pending.insert(std::move(c));
            st.first_revalue_pending = std::chrono::steady_clock::now();
        }
        if (settings.metrics) settings.metrics->restore_progress_ratio(p).Set(1);
        partitions.insert_or_assign(p, std::move(st));
        if (settings.view) settings.view->serving(p);
        return start;
    }

    // Publishes the stored outbox of the partition's last batch again, with
    // its offset and batch id (steps 3 done, 4 not).
    void republish_outbox(partition_state& st) {
        const std::int32_t p = st.partition;
        const auto meta = store.meta(p);
        if (!meta) throw std::runtime_error(fmt::format("partition {}: an outbox without meta", p));
        const auto stored = store.outbox(p);
        std::vector<stream::kafka_message> msgs;
        msgs.reserve(stored.size());
        for (const auto& m : stored) msgs.push_back({m.topic, m.partition, m.key, m.value, m.headers, m.null_value});
        st.publisher->publish(msgs, settings.topics.activity, p, meta->next_offset, store.last_batch_id(p),
                              settings.kafka_timeout);
        std::lock_guard lock(counts_mutex);
        ++totals.republished_batches;
    }

    // After a failed transaction: republishes the outbox, at most every
    // 200 ms. True when nothing is left unpublished. Throws when the batch
    // stays unpublished for kafka_timeout (crash-only from there: the
    // restart's recovery republishes it).
    bool publish_pending(partition_state& st) {
        if (!st.unpublished_since) return true;
        const auto now = std::chrono::steady_clock::now();
        if (now < st.next_publish_attempt) return false;
        try {
            republish_outbox(st);
            ops::log_info("batch republished", {{"partition", st.partition}});
            st.unpublished_since.reset();
            return true;
        } catch (const stream::kafka_error& e) {
            if (now - *st.unpublished_since > settings.kafka_timeout)
                throw std::runtime_error(fmt::format("partition {}: the last batch is unpublished since {} ms: {}",
                                                     st.partition, settings.kafka_timeout.count(), e.what()));
            st.next_publish_attempt = now + std::chrono::milliseconds(200);
            return false;
        }
    }

    // Rebuilds partition p from the changelog topic (read_committed, to the
    // end as of now).
    void restore(std::int32_t p) {
        store.drop_partition(p);
        auto props = settings.kafka;
        props["group.id"] = settings.group_id + ".restore";
        props["enable.auto.commit"] = "false";
        props["enable.partition.eof"] = "true";
        props["isolation.level"] = "read_committed";
        auto conf = stream::make_conf(props);
        std::string err;
        std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf.get(), err));
        if (!reader) throw std::runtime_error("cannot create the restore consumer: " + err);
        std::int64_t low = 0, high = 0;
        if (auto e = reader->query_watermark_offsets(settings.topics.changelog, p, &low, &high,
                                                     static_cast<int>(settings.kafka_timeout.count()));
            e != RdKafka::ERR_NO_ERROR)
            throw std::runtime_error("changelog watermarks: " + RdKafka::err2str(e));
        std::vector<RdKafka::TopicPartition*> tp{RdKafka::TopicPartition::create(settings.topics.changelog, p, low)};
        reader->assign(tp);
        RdKafka::TopicPartition::destroy(tp);
        std::vector<store::changelog_record> chunk;
        std::uint64_t restored = 0;
        std::int64_t position = low;
        const auto deadline = std::chrono::steady_clock::now() + settings.kafka_timeout * 10;
        while (position < high) {
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error(fmt::format("restore of partition {} stalled at {} of {}", p, position, high));
            if (stop && stop->load()) throw std::runtime_error(fmt::format("restore of partition {} interrupted", p));
            std::unique_ptr<RdKafka::Message> m(reader->consume(200));
            // Transaction markers take offsets too: the end may be past the
            // last record, which EOF (or the consumer's position) tells.
            if (m->err() == RdKafka::ERR__PARTITION_EOF) break;
            if (m->err() == RdKafka::ERR__TIMED_OUT) {
                std::vector<RdKafka::TopicPartition*> at{RdKafka::TopicPartition::create(settings.topics.changelog, p)};
                if (reader->position(at) == RdKafka::ERR_NO_ERROR && at.front()->offset() >= high) position = high;
                RdKafka::TopicPartition::destroy(at);
                continue;
            }
            if (m->err() != RdKafka::ERR_NO_ERROR) throw std::runtime_error("restore: " + m->errstr());
            position = m->offset() + 1;
            chunk.push_back({m->key() ? *m->key() : std::string(),
                             m->payload() ? std::optional(std::string(static_cast<const char*>(m->payload()), m->len()))
                                          : std::nullopt});
            if (chunk.size() >= 10'000) {
                store.apply_changelog(p, chunk);
                restored += chunk.size();
                chunk.clear();
                if (settings.metrics && high > low)
                    settings.metrics->restore_progress_ratio(p).Set(static_cast<double>(position - low) /
                                                                    static_cast<double>(high - low));
            }
        }
        store.apply_changelog(p, chunk);
        restored += chunk.size();
        reader->close();
        if (settings.metrics) settings.metrics->restore_records().Increment(static_cast<double>(restored));
        ops::log_info("partition restored", {{"partition", p}, {"changelog_records", restored}});
        std::lock_guard lock(counts_mutex);
        ++totals.restored_partitions;
        totals.changelog_records_restored += restored;
    }

    void revoke(std::int32_t p) {
        if (settings.view) settings.view->leave(p); // no query reads it from here on
        auto it = partitions.find(p);
        if (it == partitions.end()) return;
        flush(it->second); // finish what was consumed before letting go
        partitions.erase(it);
        if (settings.metrics) settings.metrics->forget_partition(p);
    }

    // ---- batches ----

    void flush(partition_state& st) {
        if (st.pending.empty() || !publish_pending(st)) return;
        const auto started = std::chrono::steady_clock::now();
        std::vector<engine::input_record> records;
        records.reserve(st.pending.size());
        for (const auto& m : st.pending) {
            engine::input_record in;
            in.offset = m->offset();
            in.key = m->key() ? std::string_view(*m->key()) : std::string_view();
            in.value = std::string_view(static_cast<const char*>(m->payload()), m->payload() ? m->len() : 0);
            const std::optional<std::string> type = header(*m, "content-type");
            in.decoded = decoder.decode(in.value, codec::content_type_from_header(
                                                      type ? std::optional<std::string_view>(*type) : std::nullopt));
            records.push_back(std::move(in));
        }
        const auto apply_started = std::chrono::steady_clock::now();
        engine::write_set ws = st.engine->apply(store.partition(st.partition), records, now_ms());
        const auto applied = std::chrono::steady_clock::now();
        commit_and_publish(st, ws, started);
        if (ops::service_metrics* mx = settings.metrics) {
            // The engine's time per record of this batch (reads through RocksDB included).
            mx->apply_latency_seconds().Observe(std::chrono::duration<double>(applied - apply_started).count() /
                                                static_cast<double>(std::max<std::size_t>(1, st.pending.size())));
        }
        st.pending.clear();
    }

    // Re-values the partition's pending cusips in one batch.
    void revalue(partition_state& st) {
        flush(st); // records consumed before the change go first
        if (st.unpublished_since) return; // after the republish
        const auto started = std::chrono::steady_clock::now();
        const std::vector<std::string> cusips(st.revalue_pending.begin(), st.revalue_pending.end());
        st.revalue_pending.clear();
        engine::write_set ws = st.engine->revalue(store.partition(st.partition), cusips, now_ms());
        commit_and_publish(st, ws, started);
        ops::log_debug("re-valued", {{"partition", st.partition}, {"cusips", cusips.size()}});
        std::lock_guard lock(counts_mutex);
        ++totals.revalue_batches;
        totals.cusips_revalued += cusips.size();
    }

    // Steps 2-4 of the protocol for one write set: encode, RocksDB, Kafka.
    void commit_and_publish(partition_state& st, engine::write_set& ws, std::chrono::steady_clock::time_point started) {
        // Every change read so far is re-valued here once none is pending.
        if (settings.tables && st.revalue_pending.empty()) ws.meta.revalued_through = settings.tables->marks();

        std::vector<store::outbox_message> outbox;
        outbox.reserve(ws.events.size());
        for (const auto& e : ws.events) {
            store::outbox_message m;
            m.partition = -1;
            m.topic = topic_of(e, settings.topics);
            if (const auto* d = std::get_if<model::dead_letter>(&e)) {
                m.key = d->key;
                m.value = d->value;
                m.headers = codec::dead_letter_headers(*d, settings.topics.activity);
            } else {
                m.key = codec::event_key(e);
                std::visit(
                    [&](const auto& ev) {
                        if constexpr (!std::is_same_v<std::decay_t<decltype(ev)>, model::dead_letter>)
                            codec::encode_json(ev, m.value);
                    },
                    e);
            }
            outbox.push_back(std::move(m));
        }
        const std::string batch_id =
            fmt::format("{}-{}-{}-{}", settings.instance_id, incarnation, st.partition, ++st.batch_sequence);
        std::vector<store::changelog_record> log;
        store.commit(ws, outbox, &log, batch_id);

        std::vector<stream::kafka_message> msgs;
        msgs.reserve(outbox.size() + log.size());
        for (auto& m : outbox) msgs.push_back({std::move(m.topic), m.partition, std::move(m.key), std::move(m.value),
                                               std::move(m.headers), false});
        for (auto& r : log)
            msgs.push_back({settings.topics.changelog, st.partition, std::move(r.key), r.value.value_or(""), {},
                            !r.value.has_value()});
        const auto stored = std::chrono::steady_clock::now();
        try {
            st.publisher->publish(msgs, settings.topics.activity, st.partition, ws.meta.next_offset, batch_id,
                                  settings.kafka_timeout);
        } catch (const stream::kafka_error& e) {
            // Aborted; the batch is in RocksDB with its outbox (a crash
            // between steps 3 and 4, without the crash): publish it again
            // before applying anything more. A fenced publisher throws
            // fenced_error instead, which ends the service.
            ops::log_warn("transaction failed; republishing the batch",
                          {{"partition", st.partition}, {"error", e.what()}});
            st.unpublished_since = std::chrono::steady_clock::now();
            st.next_publish_attempt = *st.unpublished_since + std::chrono::milliseconds(200);
        }
        if (ops::service_metrics* mx = settings.metrics) {
            using seconds = std::chrono::duration<double>;
            const auto published = std::chrono::steady_clock::now();
            mx->records_consumed(st.partition).Increment(static_cast<double>(ws.counts.records_in));
            mx->records_applied().Increment(static_cast<double>(ws.counts.applied));
            mx->records_duplicate().Increment(static_cast<double>(ws.counts.duplicates));
            for (const auto& e : ws.events)
                if (const auto* d = std::get_if<model::dead_letter>(&e))
                    mx->records_rejected(model::reason_code(d->reject.reason)).Increment();
            mx->batch_seconds().Observe(seconds(stored - started).count());
            mx->transaction_commit_seconds().Observe(seconds(published - stored).count());
        }
        std::lock_guard lock(counts_mutex);
        totals.records += ws.counts;
        ++totals.batches;
        totals.outputs += ws.events.size();
    }

    void flush_due(bool all) {
        const auto now = std::chrono::steady_clock::now();
        for (auto& [p, st] : partitions) publish_pending(st);
        for (auto& [p, st] : partitions)
            if (!st.pending.empty() && (all || st.pending.size() >= settings.batch_records_max ||
                                        now - st.first_pending >= settings.batch_wait_max))
                flush(st);
    }

    // Every 50 ms: new reference data (and the re-valuations it makes due),
    // the lag gauges and the state size.
    void sample() {
        const auto now = std::chrono::steady_clock::now();
        if (now < next_sample) return;
        next_sample = now + std::chrono::milliseconds(50);
        if (settings.tables) {
            const std::vector<std::string> changed = settings.tables->poll(std::chrono::milliseconds(0));
            for (auto& [p, st] : partitions) {
                if (changed.empty()) break;
                if (st.revalue_pending.empty()) st.first_revalue_pending = now;
                st.revalue_pending.insert(changed.begin(), changed.end());
            }
            for (auto& [p, st] : partitions)
                if (!st.revalue_pending.empty() && now - st.first_revalue_pending >= settings.revalue_coalesce)
                    revalue(st);
        }
        if (ops::service_metrics* mx = settings.metrics) {
            for (const auto& [p, st] : partitions) {
                std::int64_t low = 0, high = 0;
                if (consumer->get_watermark_offsets(settings.topics.activity, p, &low, &high) != RdKafka::ERR_NO_ERROR ||
                    high < 0)
                    continue;
                const auto meta = store.meta(p);
                const std::int64_t next = meta ? meta->next_offset : low;
                mx->consumer_lag(p).Set(static_cast<double>(std::max<std::int64_t>(0, high - next)));
            }
            const store::store_stats ss = store.stats();
            mx->state_size_bytes().Set(static_cast<double>(ss.approximate_size_bytes));
            mx->state_write_stalls().Set(static_cast<double>(ss.write_stall_count));
        }
    }

    void run(const std::atomic<bool>& stop_flag, const std::function<bool(const service_counts&)>& until) {
        stop = &stop_flag;
        start();
        while (!stop_flag.load()) {
            std::unique_ptr<RdKafka::Message> m(consumer->consume(static_cast<int>(
                std::max<std::int64_t>(1, settings.batch_wait_max.count()))));
            if (callback_error) std::rethrow_exception(callback_error);
            if (m->err() == RdKafka::ERR_NO_ERROR) {
                auto it = partitions.find(m->partition());
                if (it != partitions.end()) {
                    partition_state& st = it->second;
                    if (st.pending.empty()) st.first_pending = std::chrono::steady_clock::now();
                    st.pending.push_back(std::move(m));
                    if (st.pending.size() >= settings.batch_records_max) flush(st);
                }
            } else if (m->err() != RdKafka::ERR__TIMED_OUT && m->err() != RdKafka::ERR__PARTITION_EOF) {
                ops::log_warn("consumer", {{"error", m->errstr()}});
            }
            flush_due(false);
            sample();
            if (until && until(counts())) break;
        }
        flush_due(true);
        for (auto& [p, st] : partitions) st.pending.clear();
        consumer->close(); // leaves the group (revocation flushes nothing left)
        consumer.reset();
        if (settings.view) settings.view->clear();
    }

    service_counts counts() const {
        std::lock_guard lock(counts_mutex);
        return totals;
    }
};

kafka_service::kafka_service(kafka_service_settings settings, const engine::engine_config& config,
                             const engine::reference_data& refdata, store::rocks_store& store)
    : impl_(std::make_unique<impl>(std::move(settings), config, refdata, store, ready_)) {}

kafka_service::~kafka_service() = default;

void kafka_service::run(const std::atomic<bool>& stop, const std::function<bool(const service_counts&)>& until) {
    impl_->run(stop, until);
}

service_counts kafka_service::counts() const { return impl_->counts(); }

} // namespace posd::service
