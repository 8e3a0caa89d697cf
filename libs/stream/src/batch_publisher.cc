#include "stream/batch_publisher.h"

#include "library_log.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <cstring>

namespace posd::stream {

namespace {

// A C partition list of offsets with metadata.
struct offset_list {
    rd_kafka_topic_partition_list_t* list;
    explicit offset_list(std::size_t size) : list(rd_kafka_topic_partition_list_new(static_cast<int>(size))) {}
    offset_list(const std::string& topic, std::int32_t partition, std::int64_t offset, std::string_view metadata)
        : offset_list(1) {
        add(topic, partition, offset, metadata);
    }
    void add(const std::string& topic, std::int32_t partition, std::int64_t offset, std::string_view metadata) {
        rd_kafka_topic_partition_t* tp = rd_kafka_topic_partition_list_add(list, topic.c_str(), partition);
        tp->offset = offset;
        if (!metadata.empty()) {
            tp->metadata = std::malloc(metadata.size()); // freed by rd_kafka_topic_partition_list_destroy
            std::memcpy(tp->metadata, metadata.data(), metadata.size());
            tp->metadata_size = metadata.size();
        }
    }
    ~offset_list() { rd_kafka_topic_partition_list_destroy(list); }
    offset_list(const offset_list&) = delete;
    offset_list& operator=(const offset_list&) = delete;
};

int ms(std::chrono::milliseconds t) { return static_cast<int>(t.count()); }

// True when the consumer is a member of its group (a member id).
bool has_member_id(RdKafka::KafkaConsumer& consumer) {
    char* id = rd_kafka_memberid(consumer.c_ptr());
    const bool member = id && *id;
    if (id) rd_kafka_mem_free(consumer.c_ptr(), id);
    return member;
}

// Classifies a transactional error: abortable ones are aborted here and
// reported as kafka_error; fatal or fencing ones as fenced_error.
[[noreturn]] void fail(RdKafka::Producer& p, std::unique_ptr<RdKafka::Error> e, const char* step) {
    const std::string what = std::string(step) + ": " + e->str();
    if (e->is_fatal() || e->code() == RdKafka::ERR__FENCED || e->code() == RdKafka::ERR_PRODUCER_FENCED ||
        e->code() == RdKafka::ERR_INVALID_PRODUCER_EPOCH)
        throw fenced_error(what);
    if (e->txn_requires_abort()) {
        std::unique_ptr<RdKafka::Error> a(p.abort_transaction(-1));
        if (a && a->is_fatal()) throw fenced_error(what + "; abort: " + a->str());
    }
    throw kafka_error(what);
}

} // namespace

std::optional<committed_offset> fetch_committed(RdKafka::KafkaConsumer& consumer, const std::string& topic,
                                                std::int32_t partition, std::chrono::milliseconds timeout) {
    offset_list q(topic, partition, RD_KAFKA_OFFSET_INVALID, {});
    rd_kafka_resp_err_t e = rd_kafka_committed(consumer.c_ptr(), q.list, ms(timeout));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw kafka_error("committed offset of " + topic + "/" + std::to_string(partition) + ": " +
                          rd_kafka_err2str(e));
    const rd_kafka_topic_partition_t& tp = q.list->elems[0];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw kafka_error("committed offset of " + topic + "/" + std::to_string(partition) + ": " +
                          rd_kafka_err2str(tp.err));
    if (tp.offset < 0) return std::nullopt;
    committed_offset c{tp.offset, {}};
    if (tp.metadata && tp.metadata_size) c.metadata.assign(static_cast<const char*>(tp.metadata), tp.metadata_size);
    return c;
}

std::unique_ptr<RdKafka::Conf> make_conf(const std::map<std::string, std::string>& properties) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    for (const auto& [k, v] : properties)
        if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw kafka_error("kafka." + k + ": " + err);
    route_librdkafka_logs(conf->c_ptr_global());
    return conf;
}

std::unique_ptr<RdKafka::Producer> make_producer(std::map<std::string, std::string> properties) {
    properties.try_emplace("partitioner", "murmur2_random");
    properties["enable.idempotence"] = "true";
    auto conf = make_conf(properties);
    std::string err;
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
    if (!producer) throw kafka_error("cannot create the producer: " + err);
    return producer;
}

void produce_message(RdKafka::Producer& producer, const kafka_message& m) {
    RdKafka::Headers* headers = nullptr;
    if (!m.headers.empty()) {
        headers = RdKafka::Headers::create();
        for (const auto& [k, v] : m.headers) headers->add(k, v.data(), v.size());
    }
    for (;;) {
        RdKafka::ErrorCode e = producer.produce(
            m.topic, m.partition, RdKafka::Producer::RK_MSG_COPY,
            m.null_value ? nullptr : const_cast<char*>(m.value.data()), m.null_value ? 0 : m.value.size(),
            m.key.data(), m.key.size(), 0, headers, nullptr);
        if (e == RdKafka::ERR_NO_ERROR) return; // the producer owns the headers now
        if (e == RdKafka::ERR__QUEUE_FULL) {
            producer.poll(100);
            continue;
        }
        delete headers;
        throw kafka_error("produce to " + m.topic + ": " + RdKafka::err2str(e));
    }
}

batch_publisher::batch_publisher(const std::map<std::string, std::string>& properties, std::string transactional_id,
                                 delivery_mode mode, RdKafka::KafkaConsumer& consumer)
    : mode_(mode), consumer_(consumer) {
    auto props = properties;
    if (mode == delivery_mode::transactional) props["transactional.id"] = std::move(transactional_id);
    producer_ = make_producer(std::move(props));
}

batch_publisher::~batch_publisher() = default;

void batch_publisher::init(std::chrono::milliseconds timeout) {
    if (mode_ != delivery_mode::transactional) return;
    if (std::unique_ptr<RdKafka::Error> e{producer_->init_transactions(ms(timeout))})
        fail(*producer_, std::move(e), "init_transactions");
}

void batch_publisher::publish(std::span<const kafka_message> messages, const std::string& input_topic,
                              std::int32_t input_partition, std::int64_t next_offset, std::string_view batch_id,
                              std::chrono::milliseconds timeout) {
    const partition_offset one{input_partition, next_offset, std::string(batch_id)};
    publish(messages, input_topic, std::span(&one, 1), timeout);
}

void batch_publisher::publish(std::span<const kafka_message> messages, const std::string& input_topic,
                              std::span<const partition_offset> partition_offsets, std::chrono::milliseconds timeout) {
    offset_list offsets(partition_offsets.size());
    for (const partition_offset& o : partition_offsets)
        offsets.add(input_topic, o.partition, o.next_offset, o.batch_id);
    if (mode_ == delivery_mode::at_least_once) {
        for (const auto& m : messages) produce_message(*producer_, m);
        if (RdKafka::ErrorCode e = producer_->flush(ms(timeout)); e != RdKafka::ERR_NO_ERROR)
            throw kafka_error(std::string("flush: ") + RdKafka::err2str(e));
        if (rd_kafka_resp_err_t e = rd_kafka_commit(consumer_.c_ptr(), offsets.list, 0);
            e != RD_KAFKA_RESP_ERR_NO_ERROR)
            throw kafka_error(std::string("offset commit: ") + rd_kafka_err2str(e));
        return;
    }
    if (std::unique_ptr<RdKafka::Error> e{producer_->begin_transaction()}) fail(*producer_, std::move(e), "begin");
    try {
        for (const auto& m : messages) produce_message(*producer_, m);
    } catch (const kafka_error& e) {
        // A message refused on the spot (too large, say): end the open
        // transaction so that the next publish can begin one.
        std::unique_ptr<RdKafka::Error> a(producer_->abort_transaction(ms(timeout)));
        if (a && a->is_fatal()) throw fenced_error(std::string(e.what()) + "; abort: " + a->str());
        throw;
    }
    // The group metadata (generation, member id) fences a zombie: the
    // coordinator refuses offsets sent with an older generation than the
    // group's. But a member that has noticed it is out of the group
    // (session timed out, max.poll.interval.ms exceeded) forgets its member
    // id (and generation), and the coordinator accepts offsets with no
    // member and generation -1 from any producer, as it does those of the
    // old group-id-only API. librdkafka does not rejoin (a new member id)
    // before this thread has polled again, and marks the assignment lost
    // until this thread unassigns, so: read the metadata first, then refuse
    // to send it if there is no member id or the assignment is lost.
    rd_kafka_consumer_group_metadata_t* group = rd_kafka_consumer_group_metadata(consumer_.c_ptr());
    if (!group || rd_kafka_assignment_lost(consumer_.c_ptr()) || !has_member_id(consumer_)) {
        if (group) rd_kafka_consumer_group_metadata_destroy(group);
        std::unique_ptr<RdKafka::Error> a(producer_->abort_transaction(ms(timeout)));
        if (a && a->is_fatal()) throw fenced_error(std::string("assignment lost; abort: ") + a->str());
        throw kafka_error("send_offsets_to_transaction: the consumer's assignment is lost (not a group member "
                          "any more); the transaction is aborted");
    }
    rd_kafka_error_t* se = rd_kafka_send_offsets_to_transaction(producer_->c_ptr(), offsets.list, group, ms(timeout));
    rd_kafka_consumer_group_metadata_destroy(group);
    if (se) {
        const bool fatal = rd_kafka_error_is_fatal(se) || rd_kafka_error_code(se) == RD_KAFKA_RESP_ERR__FENCED;
        const bool abortable = rd_kafka_error_txn_requires_abort(se);
        const std::string what = std::string("send_offsets_to_transaction: ") + rd_kafka_error_string(se);
        rd_kafka_error_destroy(se);
        if (fatal) throw fenced_error(what);
        if (abortable) {
            std::unique_ptr<RdKafka::Error> a(producer_->abort_transaction(ms(timeout)));
            if (a && a->is_fatal()) throw fenced_error(what + "; abort: " + a->str());
        }
        throw kafka_error(what);
    }
    if (std::unique_ptr<RdKafka::Error> e{producer_->commit_transaction(ms(timeout))})
        fail(*producer_, std::move(e), "commit_transaction");
}

} // namespace posd::stream
