#include "posctl/tail.h"

#include "stream/batch_publisher.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <stdexcept>

namespace posd::posctl {

namespace {

void escape_into(std::string& out, std::string_view text, bool header) {
    for (char c : text) {
        switch (c) {
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\\':
        case ';':
        case '=':
            if (header) out.push_back('\\');
            out.push_back(c);
            break;
        default: out.push_back(c);
        }
    }
}

// The partition count of `topic` as the consumer's cluster reports it.
// Asks for every topic's metadata rather than this one's: a request naming
// a topic creates it on brokers with auto.create.topics.enable (and on the
// mock cluster), and a mistyped tail must not create topics. Throws
// kafka_error when the topic does not exist.
std::int32_t partition_count(RdKafka::KafkaConsumer& consumer, const std::string& topic) {
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode e = consumer.metadata(true, nullptr, &raw, 30'000);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (e != RdKafka::ERR_NO_ERROR || !md) throw stream::kafka_error("metadata: " + RdKafka::err2str(e));
    for (const RdKafka::TopicMetadata* t : *md->topics()) {
        if (t->topic() != topic) continue;
        if (t->err() != RdKafka::ERR_NO_ERROR)
            throw stream::kafka_error("topic " + topic + ": " + RdKafka::err2str(t->err()));
        if (t->partitions()->empty()) break;
        return static_cast<std::int32_t>(t->partitions()->size());
    }
    throw stream::kafka_error("topic " + topic + " does not exist");
}

tail_message copy_out(RdKafka::Message& m) {
    tail_message t;
    t.partition = m.partition();
    t.offset = m.offset();
    if (m.key_pointer()) t.key.assign(static_cast<const char*>(m.key_pointer()), m.key_len());
    if (m.payload()) t.value.assign(static_cast<const char*>(m.payload()), m.len());
    t.null_value = m.payload() == nullptr;
    if (const RdKafka::Headers* h = m.headers()) {
        for (const RdKafka::Headers::Header& hd : h->get_all()) {
            std::string v;
            if (hd.value()) v.assign(static_cast<const char*>(hd.value()), hd.value_size());
            t.headers.emplace_back(hd.key(), std::move(v));
        }
    }
    return t;
}

} // namespace

std::string format_line(const tail_message& m) {
    std::string out;
    out.reserve(m.key.size() + m.value.size() + 2);
    escape_into(out, m.key, false);
    out.push_back('\t');
    escape_into(out, m.value, false);
    if (!m.headers.empty()) {
        out.push_back('\t');
        bool first = true;
        for (const auto& [name, value] : m.headers) {
            if (!first) out.push_back(';');
            first = false;
            escape_into(out, name, true);
            out.push_back('=');
            escape_into(out, value, true);
        }
    }
    return out;
}

tail_result tail(const tail_options& o, const std::function<void(const tail_message&)>& on_message,
                 const std::atomic<bool>* stop) {
    if (o.kafka.find("bootstrap.servers") == o.kafka.end() || o.kafka.at("bootstrap.servers").empty())
        throw std::invalid_argument("--bootstrap-servers is required");
    if (o.topic.empty()) throw std::invalid_argument("--topic is required");
    if (o.timeout.count() < 0) throw std::invalid_argument("--timeout-ms must be >= 0");

    auto properties = o.kafka;
    // The C++ KafkaConsumer insists on a group id, but partitions are
    // assigned here, so the group is never joined and nothing is committed.
    properties.try_emplace("group.id", "posctl-tail");
    properties["enable.auto.commit"] = "false";
    properties["enable.auto.offset.store"] = "false";
    properties["isolation.level"] = o.read_uncommitted ? "read_uncommitted" : "read_committed";
    auto conf = stream::make_conf(properties);
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer) throw stream::kafka_error("cannot create the consumer: " + err);

    tail_result r;
    {
        const std::int32_t partitions = partition_count(*consumer, o.topic);
        std::vector<RdKafka::TopicPartition*> parts;
        for (std::int32_t p = 0; p < partitions; ++p)
            parts.push_back(RdKafka::TopicPartition::create(
                o.topic, p, o.from_beginning ? RdKafka::Topic::OFFSET_BEGINNING : RdKafka::Topic::OFFSET_END));
        const RdKafka::ErrorCode e = consumer->assign(parts);
        RdKafka::TopicPartition::destroy(parts);
        if (e != RdKafka::ERR_NO_ERROR) throw stream::kafka_error("assign " + o.topic + ": " + RdKafka::err2str(e));

        auto last = std::chrono::steady_clock::now();
        while (!(stop && stop->load())) {
            if (o.count > 0 && r.messages >= o.count) break;
            if (o.timeout.count() > 0 && std::chrono::steady_clock::now() - last >= o.timeout) break;
            // Every message is copied out and dropped here: librdkafka's
            // handle cannot be destroyed while one of its messages lives.
            const std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
            if (m->err() == RdKafka::ERR__TIMED_OUT || m->err() == RdKafka::ERR__PARTITION_EOF) continue;
            if (m->err() != RdKafka::ERR_NO_ERROR) {
                // Transient errors (a broker going away) are retried by
                // librdkafka; a missing topic or a refused login is not.
                if (m->err() == RdKafka::ERR__TRANSPORT || m->err() == RdKafka::ERR__ALL_BROKERS_DOWN) continue;
                throw stream::kafka_error("consume " + o.topic + ": " + m->errstr());
            }
            ++r.messages;
            last = std::chrono::steady_clock::now();
            on_message(copy_out(*m));
        }
    }
    r.count_reached = o.count > 0 && r.messages >= o.count;
    consumer->close();
    return r;
}

} // namespace posd::posctl
