#include "kafka_service.h"

#include "codec/dead_letter.h"
#include "codec/decoder.h"
#include "engine/engine.h"
#include "model/keys.h"
#include "model/reason.h"
#include "ops/log.h"
#include "outputs/encode.h"
#include "outputs/routing.h"
#include "stream/admin.h"
#include "stream/recovery.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <vector>

namespace posd::service {

namespace {

// How long the loop waits for input when nothing is pending: a record that
// arrives ends the wait at once, so this only paces the reference-data
// poll and the republish attempts.
constexpr std::chrono::milliseconds idle_poll{10};

// posd's librdkafka defaults for its transactional producer (README.md,
// "Latency"); a kafka.* setting wins.
const std::map<std::string, std::string>& producer_defaults() {
    static const std::map<std::string, std::string> defaults{
        // How long a transaction of a dead instance can hold up the new
        // owner of its partitions (KIP-447; Kafka Streams' EOS default).
        {"transaction.timeout.ms", "10000"},
        // The coordinator answers the first AddPartitionsToTxn or
        // AddOffsetsToTxn of a transaction that follows the previous one
        // closely with CONCURRENT_TRANSACTIONS until that one's markers
        // are written; librdkafka retries after retry.backoff.ms (100 ms),
        // a floor under every transaction of an idle input. The Java
        // producer uses 20 ms for exactly this retry (KAFKA-5477).
        {"retry.backoff.ms", "20"},
    };
    return defaults;
}

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

// The record's Kafka timestamp (create or log-append time), ms since the epoch.
std::optional<std::int64_t> kafka_timestamp_ms(const RdKafka::Message& m) {
    const RdKafka::MessageTimestamp t = m.timestamp();
    if (t.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE || t.timestamp < 0) return std::nullopt;
    return t.timestamp;
}

} // namespace

// One assigned partition: its engine and its pending records.
struct partition_state {
    std::int32_t partition = 0;
    std::unique_ptr<engine::partition_engine> engine;
    std::vector<std::unique_ptr<RdKafka::Message>> pending;
    std::uint64_t batch_sequence = 0;
    // Cusips whose price or security changed and are not re-valued here
    // yet, and when the first of them arrived.
    std::set<std::string> revalue_pending;
    std::chrono::steady_clock::time_point first_revalue_pending{};
    // Set when the partition's last batch is in RocksDB but the transaction
    // of its flush cycle failed (a rebalance changed the group's generation,
    // say): nothing more is applied until the stored outboxes are published.
    bool unpublished = false;
    // Set at an input gap with input.gap=stop: nothing more is applied.
    bool stopped = false;
    // The Kafka timestamps (ms) of the unpublished batch's input records,
    // for the end-to-end latency once its transaction commits.
    std::vector<std::int64_t> unpublished_timestamps_ms;
};

// One partition's batch of a flush cycle: applied, then committed to RocksDB
// with its own batch id and outbox, then published with the cycle's others.
struct cycle_batch {
    partition_state* st = nullptr;
    engine::write_set ws;
    std::vector<std::int64_t> timestamps_ms; // the input records' Kafka timestamps
    std::chrono::steady_clock::duration work{}; // decode, apply, encode and RocksDB commit (posd_batch_seconds)
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
    std::int32_t activity_partition_count = 0;            // the murmur2 modulus, read at each assignment
    std::map<std::string, std::string> producer_kafka;    // settings.kafka + posd's producer defaults and limits
    // The instance's one producer (transactional: one transactional.id per
    // instance, exactly-once v2), created and initialised in start().
    std::unique_ptr<stream::batch_publisher> publisher;
    // When the partitions marked unpublished were first left unpublished,
    // and when to try publishing them again.
    std::optional<std::chrono::steady_clock::time_point> unpublished_since;
    std::chrono::steady_clock::time_point next_publish_attempt{};
    // When the oldest record of the pending (not yet applied) ones arrived.
    std::chrono::steady_clock::time_point first_pending{};

    impl(kafka_service_settings s, const engine::engine_config& c, const engine::reference_data& r,
         store::rocks_store& st, std::atomic<bool>& rd)
        : settings(std::move(s)), config(c), refdata(r), store(st), ready(rd),
          incarnation(fmt::format("{:x}", now_ms().ms)) {
        if (ops::service_metrics* mx = settings.metrics) {
            // Every series a reject or an output may add exists from the
            // start, at 0, so rate() and increase() see its first change.
            for (std::uint16_t code = 1; code <= model::reason_max; ++code)
                (void)mx->records_rejected(model::reason_code(static_cast<model::reason>(code)));
            const topic_names& t = settings.topics;
            for (const std::string* topic :
                 {&t.position_updated, &t.market_value, &t.margin_updated, &t.dead_letter, &t.changelog})
                (void)mx->outputs(*topic);
        }
    }

    ~impl() override {
        if (settings.view) settings.view->clear(); // run() ended by an exception
        for (auto& [p, st] : partitions) st.pending.clear(); // messages die before the consumer
        publisher.reset();
        if (consumer) consumer->close();
    }

    void start() {
        auto props = settings.kafka;
        for (const auto& [k, v] : settings.consumer_kafka) props[k] = v;
        props["group.id"] = settings.group_id;
        props["enable.auto.commit"] = "false";
        props["enable.auto.offset.store"] = "false";
        // An offset gone from the log is an input gap, handled by input_gap();
        // a partition with no offset starts at OFFSET_BEGINNING (assign()).
        props["auto.offset.reset"] = "error";
        props["isolation.level"] = "read_committed";
        props["partition.assignment.strategy"] = "cooperative-sticky";
        props.try_emplace("client.id", settings.instance_id);
        set_producer_limits();
        set_fetch_limit(props);
        if (!settings.advertised_http.empty())
            props["client.id"] = member_client_id(props["client.id"], settings.advertised_http);
        auto conf = stream::make_conf(props);
        std::string err;
        if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) != RdKafka::Conf::CONF_OK)
            throw std::runtime_error("rebalance_cb: " + err);
        consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
        if (!consumer) throw std::runtime_error("cannot create the consumer: " + err);
        // One producer for every partition this instance will own; its
        // init_transactions fences this instance's previous incarnation and
        // aborts the transaction it left open (README.md).
        publisher = std::make_unique<stream::batch_publisher>(producer_kafka, transactional_id(), settings.mode,
                                                              *consumer);
        publisher->init(settings.kafka_timeout);
        if (RdKafka::ErrorCode e = consumer->subscribe({settings.topics.activity}); e != RdKafka::ERR_NO_ERROR)
            throw std::runtime_error("subscribe to " + settings.topics.activity + ": " + RdKafka::err2str(e));
        // Ready means no assigned partition is being recovered: true with
        // none assigned (an idle member of a large group), false from an
        // assignment until its partitions are recovered.
        set_ready(true);
    }

    // The consumer's max.partition.fetch.bytes at least the activity
    // topic's max.message.bytes (unless set explicitly): a record larger
    // than the per-partition fetch size is returned only when its partition
    // comes first in a fetch, and a test saw such a partition go unread for
    // 60 s on a loaded machine. Without DescribeConfigs, librdkafka's default.
    void set_fetch_limit(std::map<std::string, std::string>& props) {
        if (settings.mode == stream::delivery_mode::at_least_once || props.contains("max.partition.fetch.bytes"))
            return;
        try {
            const std::vector<std::string> activity{settings.topics.activity};
            const std::int64_t bytes =
                stream::topic_max_message_bytes(settings.kafka, activity, settings.kafka_timeout).at(settings.topics.activity);
            if (bytes > 1'048'576) props["max.partition.fetch.bytes"] = std::to_string(bytes);
        } catch (const stream::kafka_error& e) {
            ops::log_warn("cannot read the activity topic's max.message.bytes; the consumer keeps librdkafka's "
                          "max.partition.fetch.bytes (1048576)",
                          {{"error", e.what()}});
        }
    }

    // The producers' message.max.bytes and batch.size from the output
    // topics' max.message.bytes (the smallest), unless set explicitly; and
    // a dead letter's bound must fit the dead-letter topic. Without
    // DescribeConfigs (permissions) librdkafka's defaults stay, which fit
    // Kafka's default topic limit; so on the embedded mock cluster (the
    // at-least-once mode), which answers DescribeConfigs only by timing out.
    void set_producer_limits() {
        producer_kafka = settings.kafka;
        if (settings.mode == stream::delivery_mode::at_least_once) return;
        // posd's producer defaults (services/posd/README.md, "Latency");
        // kafka.* settings win.
        for (const auto& [k, v] : producer_defaults()) producer_kafka.try_emplace(k, v);
        const std::vector<std::string> outputs{settings.topics.position_updated, settings.topics.market_value,
                                               settings.topics.margin_updated, settings.topics.dead_letter,
                                               settings.topics.changelog};
        std::map<std::string, std::int64_t> limits;
        try {
            limits = stream::topic_max_message_bytes(settings.kafka, outputs, settings.kafka_timeout);
        } catch (const stream::kafka_error& e) {
            ops::log_warn("cannot read the output topics' max.message.bytes; the producers keep librdkafka's "
                          "limits (message.max.bytes, batch.size: 1000000)",
                          {{"error", e.what()}});
            return;
        }
        const auto dlq = limits.at(settings.topics.dead_letter);
        if (dlq < static_cast<std::int64_t>(codec::dead_letter_bytes_max))
            throw std::runtime_error(fmt::format("topic {} has max.message.bytes={}, below the {} bytes a dead letter "
                                                 "may take; raise it",
                                                 settings.topics.dead_letter, dlq, codec::dead_letter_bytes_max));
        std::int64_t smallest = dlq;
        for (const auto& [topic, bytes] : limits) smallest = std::min(smallest, bytes);
        producer_kafka.try_emplace("message.max.bytes", std::to_string(smallest));
        producer_kafka.try_emplace("batch.size", std::to_string(std::min<std::int64_t>(smallest, 1'000'000)));
        ops::log_info("producer limits", {{"message.max.bytes", producer_kafka["message.max.bytes"]},
                                          {"batch.size", producer_kafka["batch.size"]},
                                          {"smallest_topic_max_message_bytes", smallest}});
    }

    // <group.id>.<instance.id>: stable across restarts of this instance, so
    // that its restart fences its previous incarnation.
    std::string transactional_id() const { return fmt::format("{}.{}", settings.group_id, settings.instance_id); }

    // How long the committed-offset read of a newly assigned partition may
    // wait: a read_committed OffsetFetch waits while another instance's
    // transaction holds offsets of the group (KIP-447 require_stable), and a
    // dead instance's transaction ends only when the coordinator aborts it:
    // transaction.timeout.ms plus up to the broker's 10 s abort scan.
    std::chrono::milliseconds committed_offset_timeout() const {
        std::chrono::milliseconds transaction{60'000}; // librdkafka's default
        if (const auto it = producer_kafka.find("transaction.timeout.ms"); it != producer_kafka.end())
            transaction = std::chrono::milliseconds(std::stoll(it->second));
        return std::max(settings.kafka_timeout, transaction + std::chrono::seconds(15));
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
            activity_partition_count = stream::partitions_of(*c, settings.topics.activity);
            for (RdKafka::TopicPartition* tp : parts) tp->set_offset(assign(tp->partition()));
            if (auto e = std::unique_ptr<RdKafka::Error>(c->incremental_assign(parts)))
                throw std::runtime_error("incremental_assign: " + e->str());
            set_ready(true);
        } else if (err == RdKafka::ERR__REVOKE_PARTITIONS) {
            for (RdKafka::TopicPartition* tp : parts) revoke(tp->partition());
            if (auto e = std::unique_ptr<RdKafka::Error>(c->incremental_unassign(parts)))
                throw std::runtime_error("incremental_unassign: " + e->str());
            set_ready(true);
        } else {
            for (RdKafka::TopicPartition* tp : parts) revoke(tp->partition());
            c->unassign();
        }
        if (settings.metrics) settings.metrics->partitions_assigned().Set(static_cast<double>(partitions.size()));
        std::lock_guard lock(counts_mutex);
        totals.partitions_assigned = partitions.size();
    }

    // Ready unless recovering (r false) or a partition is stopped at a gap.
    void set_ready(bool r) {
        std::uint64_t stopped = 0;
        for (const auto& [p, st] : partitions) stopped += st.stopped ? 1 : 0;
        r = r && stopped == 0;
        if (settings.metrics) settings.metrics->partitions_stopped().Set(static_cast<double>(stopped));
        {
            std::lock_guard lock(counts_mutex);
            totals.partitions_stopped = stopped;
        }
        ready.store(r);
        if (settings.metrics) settings.metrics->ready().Set(r ? 1 : 0);
    }

    // Prepares partition p and returns the offset to start consuming at.
    std::int64_t assign(std::int32_t p) {
        if (settings.view) settings.view->recovering(p); // 503 until recovered
        partition_state st;
        st.partition = p;
        st.engine = std::make_unique<engine::partition_engine>(p, config, refdata);
        if (settings.metrics) settings.metrics->restore_progress_ratio(p).Set(0);

        // read_committed: waits while a transaction of another instance
        // (a zombie, or one that died) holds offsets of this partition.
        const auto committed =
            stream::fetch_committed(*consumer, settings.topics.activity, p, committed_offset_timeout());
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
        case stream::recovery_action::republish_outbox: {
            partition_state* one[] = {&st};
            republish(one);
            break;
        }
        case stream::recovery_action::restore:
            restore(p);
            meta = store.meta(p);
            break;
        }
        // A partition with nothing applied starts at the log's beginning
        // (whatever retention left); one with state at its next offset,
        // unless retention deleted it.
        std::int64_t start = meta ? meta->next_offset : RdKafka::Topic::OFFSET_BEGINNING;
        if (meta) {
            std::int64_t low = 0, high = 0;
            if (auto e = consumer->query_watermark_offsets(settings.topics.activity, p, &low, &high,
                                                           static_cast<int>(settings.kafka_timeout.count()));
                e != RdKafka::ERR_NO_ERROR)
                throw std::runtime_error(fmt::format("partition {}: watermarks: {}", p, RdKafka::err2str(e)));
            if (start < low && input_gap(st, start, low)) start = low;
        }
        if (settings.tables && meta) {
            // Price and security changes this partition's state has not seen.
            for (std::string& c : settings.tables->changed_since(meta->revalued_through))
                st.revalue_pending.insert(std::move(c));
            st.first_revalue_pending = std::chrono::steady_clock::now();
        }
        if (ops::service_metrics* mx = settings.metrics) {
            mx->restore_progress_ratio(p).Set(1);
            (void)mx->end_of_day_records_applied(p);
            if (meta) set_business_date(p, *meta);
        }
        partitions.insert_or_assign(p, std::move(st));
        if (settings.view) settings.view->serving(p);
        return start;
    }

    // Publishes the stored outboxes of the partitions' last batches again,
    // each with its offset and batch id, in one transaction (step 3 done,
    // step 4 not). Throws what the publisher throws.
    void republish(std::span<partition_state* const> sts) {
        std::vector<stream::kafka_message> msgs;
        std::vector<stream::partition_offset> offsets;
        for (partition_state* st : sts) {
            const std::int32_t p = st->partition;
            const auto meta = store.meta(p);
            if (!meta) throw std::runtime_error(fmt::format("partition {}: an outbox without meta", p));
            for (auto& m : store.outbox(p))
                msgs.push_back({std::move(m.topic), m.partition, std::move(m.key), std::move(m.value),
                                std::move(m.headers), m.null_value});
            offsets.push_back({p, meta->next_offset, store.last_batch_id(p)});
        }
        publisher->publish(msgs, settings.topics.activity, offsets, settings.kafka_timeout);
        count_outputs(msgs);
        std::lock_guard lock(counts_mutex);
        totals.republished_batches += sts.size();
    }

    // posd_outputs_total: the messages of a committed transaction.
    void count_outputs(std::span<const stream::kafka_message> msgs) {
        ops::service_metrics* mx = settings.metrics;
        if (!mx || msgs.empty()) return;
        // Batches hold runs of one topic: count each run at once.
        std::size_t run = 0;
        for (std::size_t i = 1; i <= msgs.size(); ++i)
            if (i == msgs.size() || msgs[i].topic != msgs[run].topic) {
                mx->outputs(msgs[run].topic).Increment(static_cast<double>(i - run));
                run = i;
            }
    }

    void set_business_date(std::int32_t p, const model::partition_meta& meta) {
        if (settings.metrics && meta.business_date)
            settings.metrics->business_date_seconds(p).Set(static_cast<double>(meta.business_date->days()) * 86'400);
    }

    // posd_end_to_end_latency_seconds: each input record's Kafka timestamp
    // to now, the commit of its transaction.
    void observe_end_to_end(std::span<const std::int64_t> timestamps_ms) {
        if (!settings.metrics || timestamps_ms.empty()) return;
        const std::int64_t committed = now_ms().ms;
        std::vector<double> seconds;
        seconds.reserve(timestamps_ms.size());
        for (std::int64_t t : timestamps_ms) seconds.push_back(static_cast<double>(committed - t) / 1000.0);
        settings.metrics->observe_end_to_end_latency(seconds);
    }

    // After a failed transaction: republishes the outboxes of every
    // partition the failed cycles left unpublished, together, at most every
    // 200 ms. True when nothing is left unpublished. Throws when they stay
    // unpublished for kafka_timeout (crash-only from there: the restart's
    // recovery republishes them).
    bool publish_unpublished() {
        if (!unpublished_since) return true;
        std::vector<partition_state*> sts;
        for (auto& [p, st] : partitions)
            if (st.unpublished) sts.push_back(&st);
        if (sts.empty()) { // revoked meanwhile: the new owners republish them
            unpublished_since.reset();
            return true;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now < next_publish_attempt) return false;
        try {
            republish(sts);
            ops::log_info("batches republished", {{"partitions", sts.size()}});
            for (partition_state* st : sts) {
                st->unpublished = false;
                observe_end_to_end(st->unpublished_timestamps_ms);
                st->unpublished_timestamps_ms.clear();
            }
            unpublished_since.reset();
            return true;
        } catch (const stream::kafka_error& e) {
            if (settings.metrics) settings.metrics->transaction_aborts().Increment();
            if (now - *unpublished_since > settings.kafka_timeout)
                throw std::runtime_error(fmt::format("{} partitions' last batches are unpublished since {} ms: {}",
                                                     sts.size(), settings.kafka_timeout.count(), e.what()));
            next_publish_attempt = now + std::chrono::milliseconds(200);
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
        flush_cycle(); // finish what was consumed before letting go
        partitions.erase(p);
        if (settings.metrics) settings.metrics->forget_partition(p);
    }

    // ---- flush cycles: batches of several partitions, one transaction ----

    std::size_t pending_records() const {
        std::size_t n = 0;
        for (const auto& [p, st] : partitions) n += st.pending.size();
        return n;
    }

    // Applies every partition's pending records, each partition's batch to
    // its own RocksDB commit, and publishes them all in one transaction.
    void flush_cycle() {
        for (auto& [p, st] : partitions)
            if (st.stopped) st.pending.clear();
        if (pending_records() == 0 || !publish_unpublished()) return;
        std::vector<cycle_batch> batches;
        for (auto& [p, st] : partitions)
            if (!st.pending.empty()) batches.push_back(apply_pending(st));
        commit_cycle(batches);
    }

    // Decodes and applies the partition's pending records (step 1).
    cycle_batch apply_pending(partition_state& st) {
        const auto started = std::chrono::steady_clock::now();
        cycle_batch b;
        b.st = &st;
        std::vector<engine::input_record> records;
        records.reserve(st.pending.size());
        b.timestamps_ms.reserve(st.pending.size());
        for (const auto& m : st.pending) {
            if (const auto t = kafka_timestamp_ms(*m)) b.timestamps_ms.push_back(*t);
            engine::input_record in;
            in.offset = m->offset();
            in.key = m->key() ? std::string_view(*m->key()) : std::string_view();
            in.value = std::string_view(static_cast<const char*>(m->payload()), m->payload() ? m->len() : 0);
            const std::optional<std::string> type = header(*m, "content-type");
            in.decoded = decoder.decode(in.value, codec::content_type_from_header(
                                                      type ? std::optional<std::string_view>(*type) : std::nullopt));
            if (auto wrong = outputs::partition_check(in.decoded, in.key, st.partition, activity_partition_count))
                in.decoded = std::move(*wrong);
            records.push_back(std::move(in));
        }
        const auto apply_started = std::chrono::steady_clock::now();
        b.ws = st.engine->apply(store.partition(st.partition), records, now_ms());
        if (ops::service_metrics* mx = settings.metrics) {
            // The engine applies the batch at once: each record counts the
            // batch's engine time (RocksDB reads included) divided evenly.
            const std::size_t n = st.pending.size();
            mx->observe_apply_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - apply_started)
                                              .count() /
                                          static_cast<double>(n),
                                      n);
        }
        b.work = std::chrono::steady_clock::now() - started;
        return b;
    }

    // Re-values the pending cusips of `due` partitions, each in one batch,
    // in one flush cycle of their own (after the records consumed before).
    void revalue(std::span<partition_state* const> due) {
        flush_cycle(); // records consumed before the change go first
        if (unpublished_since) return; // after the republish
        std::vector<cycle_batch> batches;
        std::size_t cusip_count = 0;
        for (partition_state* st : due) {
            const std::vector<std::string> cusips(st->revalue_pending.begin(), st->revalue_pending.end());
            st->revalue_pending.clear();
            cusip_count += cusips.size();
            const auto started = std::chrono::steady_clock::now();
            cycle_batch b;
            b.st = st;
            b.ws = st->engine->revalue(store.partition(st->partition), cusips, now_ms());
            b.work = std::chrono::steady_clock::now() - started;
            batches.push_back(std::move(b));
            ops::log_debug("re-valued", {{"partition", st->partition}, {"cusips", cusips.size()}});
        }
        commit_cycle(batches);
        std::lock_guard lock(counts_mutex);
        totals.revalue_batches += due.size();
        totals.cusips_revalued += cusip_count;
    }

    // Encodes a write set's events as the outbox's Kafka messages (step 2).
    std::vector<store::outbox_message> outbox_of(const partition_state& st, const engine::write_set& ws) const {
        std::vector<store::outbox_message> outbox;
        outbox.reserve(ws.events.size());
        for (const auto& e : ws.events) {
            const auto* d = std::get_if<model::dead_letter>(&e);
            stream::kafka_message m =
                outputs::encode(e, settings.topics, d ? source_content_type(st, d->offset) : std::nullopt);
            outbox.push_back({std::move(m.topic), -1, std::move(m.key), std::move(m.value), false, std::move(m.headers)});
        }
        return outbox;
    }

    // Steps 2-4 of the protocol for one flush cycle: each partition's batch
    // encoded and committed to RocksDB with its own batch id and outbox,
    // then one Kafka transaction with every batch's messages and every
    // partition's offset and batch id. When the transaction fails, every
    // partition of the cycle is unpublished: nothing more is applied until
    // publish_unpublished() has published their stored outboxes.
    void commit_cycle(std::vector<cycle_batch>& batches) {
        if (batches.empty()) return;
        std::vector<stream::kafka_message> msgs;
        std::vector<stream::partition_offset> offsets;
        offsets.reserve(batches.size());
        for (cycle_batch& b : batches) {
            partition_state& st = *b.st;
            const auto started = std::chrono::steady_clock::now();
            // Every change read so far is re-valued here once none is pending.
            if (settings.tables && st.revalue_pending.empty()) b.ws.meta.revalued_through = settings.tables->marks();
            std::vector<store::outbox_message> outbox = outbox_of(st, b.ws);
            std::string batch_id =
                fmt::format("{}-{}-{}-{}", settings.instance_id, incarnation, st.partition, ++st.batch_sequence);
            std::vector<store::changelog_record> log;
            store.commit(b.ws, outbox, &log, batch_id);
            for (auto& m : outbox)
                msgs.push_back({std::move(m.topic), m.partition, std::move(m.key), std::move(m.value),
                                std::move(m.headers), false});
            for (auto& r : log)
                msgs.push_back({settings.topics.changelog, st.partition, std::move(r.key), r.value.value_or(""), {},
                                !r.value.has_value()});
            offsets.push_back({st.partition, b.ws.meta.next_offset, std::move(batch_id)});
            set_business_date(st.partition, b.ws.meta);
            st.pending.clear();
            b.work += std::chrono::steady_clock::now() - started;
        }
        const auto stored = std::chrono::steady_clock::now();
        bool committed = true;
        try {
            publisher->publish(msgs, settings.topics.activity, offsets, settings.kafka_timeout);
            count_outputs(msgs);
        } catch (const stream::kafka_error& e) {
            committed = false;
            if (settings.metrics) settings.metrics->transaction_aborts().Increment();
            // Aborted; every batch of the cycle is in RocksDB with its outbox
            // (a crash between steps 3 and 4, without the crash): publish
            // them again before applying anything more. A fenced publisher
            // throws fenced_error instead, which ends the service.
            ops::log_warn("transaction failed; republishing the cycle's batches",
                          {{"partitions", batches.size()}, {"error", e.what()}});
            for (cycle_batch& b : batches) {
                b.st->unpublished = true;
                b.st->unpublished_timestamps_ms = std::move(b.timestamps_ms);
            }
            unpublished_since = std::chrono::steady_clock::now();
            next_publish_attempt = *unpublished_since + std::chrono::milliseconds(200);
        }
        if (committed)
            for (const cycle_batch& b : batches) observe_end_to_end(b.timestamps_ms);
        engine::batch_counts counts;
        std::size_t outputs = 0;
        for (const cycle_batch& b : batches) {
            counts += b.ws.counts;
            outputs += b.ws.events.size();
        }
        if (ops::service_metrics* mx = settings.metrics) {
            using seconds = std::chrono::duration<double>;
            const auto published = std::chrono::steady_clock::now();
            for (const cycle_batch& b : batches) {
                mx->records_consumed(b.st->partition).Increment(static_cast<double>(b.ws.counts.records_in));
                mx->end_of_day_records_applied(b.st->partition).Increment(static_cast<double>(b.ws.counts.controls));
                for (const auto& e : b.ws.events)
                    if (const auto* d = std::get_if<model::dead_letter>(&e))
                        mx->records_rejected(model::reason_code(d->reject.reason)).Increment();
                mx->batch_seconds().Observe(seconds(b.work).count());
            }
            mx->records_applied().Increment(static_cast<double>(counts.applied));
            mx->records_duplicate().Increment(static_cast<double>(counts.duplicates));
            mx->transaction_commit_seconds().Observe(seconds(published - stored).count());
        }
        std::lock_guard lock(counts_mutex);
        totals.records += counts;
        totals.batches += batches.size();
        totals.outputs += outputs;
    }

    // The content-type header of the pending record at `offset`, which a
    // dead letter keeps so that it can be produced again as it is.
    static std::optional<std::string> source_content_type(const partition_state& st, std::int64_t offset) {
        const auto it = std::lower_bound(st.pending.begin(), st.pending.end(), offset,
                                         [](const auto& m, std::int64_t o) { return m->offset() < o; });
        if (it == st.pending.end() || (*it)->offset() != offset) return std::nullopt;
        return header(**it, "content-type");
    }

    // Offsets [from, to) of the partition are gone from the log before they
    // were applied (retention, or records deleted): logged and counted; with
    // input.gap=skip the partition goes on at `to` (returns true), else it
    // stops: nothing more of it is applied and readyz fails until an
    // operator decides (services/posd/README.md, "Input gaps").
    bool input_gap(partition_state& st, std::int64_t from, std::int64_t to) {
        const std::int32_t p = st.partition;
        const bool skip = settings.input_gap_skip;
        ops::log_error("input gap: activity records were deleted from the log before posd applied them",
                       {{"partition", p},
                        {"from_offset", from},
                        {"to_offset", to},
                        {"records", to - from},
                        {"action", skip ? "skipped (input.gap=skip)"
                                        : "partition stopped (input.gap=stop; restart with input.gap=skip to "
                                          "go on at the log start)"}});
        if (settings.metrics) {
            settings.metrics->input_gaps(p).Increment();
            settings.metrics->input_gap_records(p).Increment(static_cast<double>(to - from));
        }
        {
            std::lock_guard lock(counts_mutex);
            ++totals.input_gaps;
            totals.input_gap_records += static_cast<std::uint64_t>(to - from);
        }
        if (skip) return true;
        st.stopped = true;
        st.pending.clear();
        return false;
    }

    // The consumer found its position gone from the log while running (a
    // partition that fell behind retention): the same gap, found later.
    void offset_out_of_range(std::int32_t p, std::int64_t offset) {
        auto it = partitions.find(p);
        if (it == partitions.end() || it->second.stopped) return;
        partition_state& st = it->second;
        flush_cycle();
        const auto meta = store.meta(p);
        const std::int64_t next = meta ? meta->next_offset : offset;
        std::int64_t low = 0, high = 0;
        if (auto e = consumer->query_watermark_offsets(settings.topics.activity, p, &low, &high,
                                                       static_cast<int>(settings.kafka_timeout.count()));
            e != RdKafka::ERR_NO_ERROR)
            throw std::runtime_error(fmt::format("partition {}: watermarks: {}", p, RdKafka::err2str(e)));
        std::int64_t resume = next;
        if (next > high) {
            ops::log_error("the partition's next offset is past the log end (topic deleted and created again?)",
                           {{"partition", p}, {"next_offset", next}, {"log_end_offset", high}});
            st.stopped = true;
        } else if (next < low && input_gap(st, next, low)) {
            resume = low;
        }
        if (!st.stopped) {
            // The fetcher stopped at the error: assign the partition again at `resume`.
            std::vector<RdKafka::TopicPartition*> tp{RdKafka::TopicPartition::create(settings.topics.activity, p)};
            if (auto e = std::unique_ptr<RdKafka::Error>(consumer->incremental_unassign(tp)))
                throw std::runtime_error("incremental_unassign: " + e->str());
            tp.front()->set_offset(resume);
            if (auto e = std::unique_ptr<RdKafka::Error>(consumer->incremental_assign(tp)))
                throw std::runtime_error("incremental_assign: " + e->str());
            RdKafka::TopicPartition::destroy(tp);
        }
        set_ready(true);
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
            std::vector<partition_state*> due;
            for (auto& [p, st] : partitions)
                if (!st.stopped && !st.revalue_pending.empty() &&
                    now - st.first_revalue_pending >= settings.revalue_coalesce)
                    due.push_back(&st);
            if (!due.empty()) revalue(due);
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
            mx->sample_state_write_stalls(ss.write_stall_count, ss.write_stall_micros);
        }
    }

    // One consumed message: a record joins its partition's pending ones.
    void take(std::unique_ptr<RdKafka::Message> m) {
        if (m->err() == RdKafka::ERR_NO_ERROR) {
            auto it = partitions.find(m->partition());
            if (it == partitions.end()) return;
            if (pending_records() == 0) first_pending = std::chrono::steady_clock::now();
            it->second.pending.push_back(std::move(m));
        } else if (m->err() == RdKafka::ERR__AUTO_OFFSET_RESET) {
            offset_out_of_range(m->partition(), m->offset());
        } else if (m->err() != RdKafka::ERR__TIMED_OUT && m->err() != RdKafka::ERR__PARTITION_EOF) {
            ops::log_warn("consumer", {{"error", m->errstr()}});
        }
    }

    // Latency-aware batching (README.md, "Batches"): wait for input, take
    // everything already consumed (up to batch.max-records), and flush at
    // once — unless batch.max-wait-ms asks to wait for more. Records that
    // arrive while a cycle commits form the next cycle, so batches grow only
    // under load.
    void run(const std::atomic<bool>& stop_flag, const std::function<bool(const service_counts&)>& until) {
        stop = &stop_flag;
        start();
        while (!stop_flag.load()) {
            // Idle (or waiting to republish): wait for input. With records
            // pending: only what is left of batch.max-wait-ms.
            std::chrono::milliseconds wait = idle_poll;
            if (pending_records() > 0 && !unpublished_since) {
                const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - first_pending);
                wait = std::clamp(settings.batch_wait_max - waited, std::chrono::milliseconds(0), idle_poll);
            }
            take(std::unique_ptr<RdKafka::Message>(consumer->consume(static_cast<int>(wait.count()))));
            if (callback_error) std::rethrow_exception(callback_error);
            // Everything already consumed, without waiting.
            while (pending_records() > 0 && pending_records() < settings.batch_records_max) {
                std::unique_ptr<RdKafka::Message> m(consumer->consume(0));
                if (callback_error) std::rethrow_exception(callback_error);
                if (m->err() == RdKafka::ERR__TIMED_OUT) break;
                take(std::move(m));
            }
            if (const std::size_t n = pending_records();
                n >= settings.batch_records_max ||
                (n > 0 && std::chrono::steady_clock::now() - first_pending >= settings.batch_wait_max))
                flush_cycle();
            else if (n == 0)
                publish_unpublished();
            sample();
            if (until && until(counts())) break;
        }
        flush_cycle();
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
