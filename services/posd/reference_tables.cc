#include "reference_tables.h"

#include "codec/json_decode.h"
#include "model/reason.h"
#include "ops/log.h"
#include "stream/batch_publisher.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>

namespace posd::service {

std::string reference_key(const model::bookkeeping_rule& r) { return r.maxx_key_code; }
std::string reference_key(const model::product_definition& p) { return p.prodline; }
std::string reference_key(const model::security& s) { return s.cusip; }
std::string reference_key(const model::price& p) { return p.cusip; }
std::string reference_key(const model::margin_rule& r) { return fmt::format("{}|{}", r.nyrs_mgn_rule, r.nyrs_mgn_seq); }
std::string reference_key(const model::fx_rate& r) { return r.currency + "/" + r.base_currency; }

namespace {

enum class kind : std::uint8_t { bookkeeping_rules, products, securities, margin_rules, prices, fx_rates };

// The reason of a margin-rule tombstone whose key is not nyrsMgnRule|nyrsMgnSeq.
constexpr std::string_view bad_key = "BAD_KEY";

std::int32_t partition_count(RdKafka::KafkaConsumer& c, const std::string& topic, int timeout_ms) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&c, topic, nullptr, err));
    if (!handle) throw std::runtime_error("reference topic " + topic + ": " + err);
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode e = c.metadata(false, handle.get(), &raw, timeout_ms);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (e != RdKafka::ERR_NO_ERROR || !md || md->topics()->empty())
        throw std::runtime_error(fmt::format("reference topic {}: no metadata ({})", topic, RdKafka::err2str(e)));
    const RdKafka::TopicMetadata* t = md->topics()->front();
    if (t->err() != RdKafka::ERR_NO_ERROR || t->partitions()->empty())
        throw std::runtime_error(
            fmt::format("reference topic {} does not exist ({})", topic, RdKafka::err2str(t->err())));
    return static_cast<std::int32_t>(t->partitions()->size());
}

} // namespace

struct reference_tables::impl {
    struct source {
        kind what;
        std::string topic;
        std::int32_t partitions = 0;
        std::size_t first_slot = 0; // in next_ (every source has a slot per partition)
    };
    // Where the latest price and security record of a cusip sit: a slot of
    // the marks (prices partitions, then securities partitions) and offset.
    struct cusip_marks {
        std::int64_t price_slot = -1, price_offset = 0;
        std::int64_t security_slot = -1, security_offset = 0;
    };

    reference_topics topics;
    std::chrono::milliseconds timeout;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer;
    std::vector<source> sources;             // prices, securities first: their slots are the marks
    std::vector<std::int64_t> next;          // next offset per slot
    std::size_t mark_slots = 0;              // slots of prices + securities
    std::map<std::string, std::size_t> source_of_topic;
    engine::reference_data data;
    codec::json_decoder decoder;
    engine::string_map<cusip_marks> marks_of;
    reference_counts totals;
    ops::service_metrics* metrics;

    impl(const std::map<std::string, std::string>& kafka, reference_topics t, std::chrono::milliseconds to,
         ops::service_metrics* mx)
        : topics(std::move(t)), timeout(to), metrics(mx) {
        if (metrics) { // every reason's series from the start, at 0
            for (std::uint16_t r = 1; r <= model::reason_max; ++r)
                (void)metrics->refdata_rejected(model::reason_code(static_cast<model::reason>(r)));
            (void)metrics->refdata_rejected(bad_key);
        }
        auto props = kafka;
        // No group membership (assign only) and no commits: every instance
        // reads the whole table. librdkafka still wants a group id.
        props.try_emplace("group.id", "posd.refdata");
        props["enable.auto.commit"] = "false";
        props["enable.partition.eof"] = "true";
        props["auto.offset.reset"] = "earliest";
        props["isolation.level"] = "read_committed";
        auto conf = stream::make_conf(props);
        std::string err;
        consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
        if (!consumer) throw std::runtime_error("cannot create the reference data consumer: " + err);
        const int ms = static_cast<int>(timeout.count());
        std::size_t slot = 0;
        for (auto [what, name] : {std::pair{kind::prices, &topics.prices}, {kind::securities, &topics.securities},
                                  {kind::products, &topics.products}, {kind::bookkeeping_rules, &topics.bookkeeping_rules},
                                  {kind::margin_rules, &topics.margin_rules}, {kind::fx_rates, &topics.fx_rates}}) {
            source s{what, *name, partition_count(*consumer, *name, ms), slot};
            slot += static_cast<std::size_t>(s.partitions);
            if (what == kind::prices || what == kind::securities) mark_slots = slot;
            source_of_topic[s.topic] = sources.size();
            sources.push_back(std::move(s));
        }
        next.assign(slot, 0);
        std::vector<RdKafka::TopicPartition*> tps;
        for (const source& s : sources)
            for (std::int32_t p = 0; p < s.partitions; ++p)
                tps.push_back(RdKafka::TopicPartition::create(s.topic, p, RdKafka::Topic::OFFSET_BEGINNING));
        const RdKafka::ErrorCode e = consumer->assign(tps);
        RdKafka::TopicPartition::destroy(tps);
        if (e != RdKafka::ERR_NO_ERROR) throw std::runtime_error("reference data assign: " + RdKafka::err2str(e));
    }

    ~impl() {
        if (consumer) consumer->close();
    }

    // Applies one message; returns the cusip to re-value, if any.
    std::optional<std::string> apply(RdKafka::Message& m) {
        const source& s = sources[source_of_topic.at(m.topic_name())];
        const std::size_t slot = s.first_slot + static_cast<std::size_t>(m.partition());
        next[slot] = m.offset() + 1;
        const std::string key = m.key() ? *m.key() : std::string();
        const std::string_view value(static_cast<const char*>(m.payload()), m.payload() ? m.len() : 0);
        std::optional<std::string> revalue;
        auto mark = [&](const std::string& cusip) {
            cusip_marks& c = marks_of[cusip];
            const bool price = s.what == kind::prices;
            (price ? c.price_slot : c.security_slot) = static_cast<std::int64_t>(slot);
            (price ? c.price_offset : c.security_offset) = m.offset();
            revalue = cusip;
        };
        if (!m.payload()) { // tombstone
            switch (s.what) {
            case kind::bookkeeping_rules: data.erase_bookkeeping_rule(key); break;
            case kind::products: data.erase_product(key); break;
            case kind::securities: data.erase_security(key); mark(key); break;
            case kind::prices: data.erase_price(key); mark(key); break;
            case kind::margin_rules: {
                const auto bar = key.rfind('|');
                std::int32_t seq = 0;
                if (bar == std::string::npos ||
                    std::from_chars(key.data() + bar + 1, key.data() + key.size(), seq).ec != std::errc()) {
                    reject(s, m, bad_key, "key", "a margin rule key is nyrsMgnRule|nyrsMgnSeq");
                    return std::nullopt;
                }
                data.erase_margin_rule(std::string_view(key).substr(0, bar), seq);
                break;
            }
            case kind::fx_rates: {
                const auto slash = key.find('/');
                if (slash == std::string::npos) {
                    reject(s, m, "BAD_KEY", "key", "an FX rate key is currency/baseCurrency (e.g. JPY/USD)");
                    return std::nullopt;
                }
                data.erase_fx_rate(std::string_view(key).substr(0, slash), std::string_view(key).substr(slash + 1));
                break;
            }
            }
            ++totals.applied;
            return revalue;
        }
        auto take = [&](auto decoded) {
            if (auto* r = std::get_if<model::reject>(&decoded)) {
                reject(s, m, model::reason_code(r->reason), r->field, r->message);
                return;
            }
            auto& v = std::get<0>(decoded);
            if constexpr (requires { v.cusip; }) mark(v.cusip);
            data.upsert(std::move(v));
            ++totals.applied;
        };
        switch (s.what) {
        case kind::bookkeeping_rules: take(decoder.decode_bookkeeping_rule(value)); break;
        case kind::products: take(decoder.decode_product(value)); break;
        case kind::securities: take(decoder.decode_security(value)); break;
        case kind::prices: take(decoder.decode_price(value)); break;
        case kind::margin_rules: take(decoder.decode_margin_rule(value)); break;
        case kind::fx_rates: take(decoder.decode_fx_rate(value)); break;
        }
        return revalue;
    }

    void reject(const source& s, RdKafka::Message& m, std::string_view reason, std::string_view field,
                std::string_view message) {
        ++totals.rejected;
        ++totals.rejected_by_reason[std::string(reason)];
        if (metrics) metrics->refdata_rejected(reason).Increment();
        ops::log_warn("reference record skipped", {{"topic", s.topic},
                                                   {"partition", m.partition()},
                                                   {"offset", m.offset()},
                                                   {"reason", reason},
                                                   {"field", field},
                                                   {"message", message}});
    }

    void load() {
        // The end of each partition now; a partition is done at its end or
        // at EOF (transaction markers take offsets past the last record).
        // The end of each partition now (one ListOffsets request: timestamp
        // -1 asks for the latest offset); a partition is done at its end or
        // at EOF (transaction markers take offsets past the last record).
        std::vector<RdKafka::TopicPartition*> tps;
        for (const source& s : sources)
            for (std::int32_t p = 0; p < s.partitions; ++p) tps.push_back(RdKafka::TopicPartition::create(s.topic, p, -1));
        const RdKafka::ErrorCode e = consumer->offsetsForTimes(tps, static_cast<int>(timeout.count()));
        std::set<std::size_t> open;
        std::vector<std::int64_t> end(next.size(), 0);
        for (RdKafka::TopicPartition* tp : tps) {
            const std::size_t slot =
                sources[source_of_topic.at(tp->topic())].first_slot + static_cast<std::size_t>(tp->partition());
            end[slot] = tp->offset();
            if (tp->err() == RdKafka::ERR_NO_ERROR && next[slot] < end[slot]) open.insert(slot);
        }
        RdKafka::TopicPartition::destroy(tps);
        if (e != RdKafka::ERR_NO_ERROR) throw std::runtime_error("reference data end offsets: " + RdKafka::err2str(e));
        const auto deadline = std::chrono::steady_clock::now() + timeout * 10;
        ops::log_debug("reference data: reading", {{"partitions", open.size()}});
        while (!open.empty()) {
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("reference data load stalled");
            std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
            if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
            if (m->err() != RdKafka::ERR_NO_ERROR && m->err() != RdKafka::ERR__PARTITION_EOF)
                throw std::runtime_error("reference data: " + m->errstr());
            const source& s = sources[source_of_topic.at(m->topic_name())];
            const std::size_t slot = s.first_slot + static_cast<std::size_t>(m->partition());
            if (m->err() == RdKafka::ERR_NO_ERROR) apply(*m);
            if (m->err() == RdKafka::ERR__PARTITION_EOF || next[slot] >= end[slot]) open.erase(slot);
        }
    }

    std::vector<std::string> poll(std::chrono::milliseconds wait) {
        std::set<std::string> changed;
        int wait_ms = static_cast<int>(wait.count());
        for (int n = 0; n < 10'000; ++n) {
            std::unique_ptr<RdKafka::Message> m(consumer->consume(wait_ms));
            wait_ms = 0;
            if (m->err() == RdKafka::ERR__TIMED_OUT) break;
            if (m->err() == RdKafka::ERR__PARTITION_EOF) continue;
            if (m->err() != RdKafka::ERR_NO_ERROR) {
                ops::log_warn("reference data consumer", {{"error", m->errstr()}});
                break;
            }
            if (auto c = apply(*m)) changed.insert(std::move(*c));
        }
        return {changed.begin(), changed.end()};
    }

    std::vector<std::string> changed_since(std::span<const std::int64_t> through) const {
        auto after = [&](std::int64_t slot, std::int64_t offset) {
            if (slot < 0) return false;
            const auto i = static_cast<std::size_t>(slot);
            return i >= through.size() || offset >= through[i];
        };
        std::vector<std::string> out;
        for (const auto& [cusip, c] : marks_of)
            if (after(c.price_slot, c.price_offset) || after(c.security_slot, c.security_offset)) out.push_back(cusip);
        std::sort(out.begin(), out.end());
        return out;
    }
};

reference_tables::reference_tables(const std::map<std::string, std::string>& kafka, reference_topics topics,
                                   std::chrono::milliseconds timeout, ops::service_metrics* metrics)
    : impl_(std::make_unique<impl>(kafka, std::move(topics), timeout, metrics)) {}
reference_tables::~reference_tables() = default;

void reference_tables::load() { impl_->load(); }
std::vector<std::string> reference_tables::poll(std::chrono::milliseconds wait) { return impl_->poll(wait); }
engine::reference_data& reference_tables::data() { return impl_->data; }
std::vector<std::int64_t> reference_tables::marks() const {
    return {impl_->next.begin(), impl_->next.begin() + static_cast<std::ptrdiff_t>(impl_->mark_slots)};
}
std::vector<std::string> reference_tables::changed_since(std::span<const std::int64_t> revalued_through) const {
    return impl_->changed_since(revalued_through);
}
reference_counts reference_tables::counts() const { return impl_->totals; }

} // namespace posd::service
