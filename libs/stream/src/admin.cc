#include "stream/admin.h"

#include "stream/batch_publisher.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <fmt/format.h>

#include <memory>
#include <set>
#include <thread>

namespace posd::stream {

namespace {

template <auto Destroy>
struct c_deleter {
    template <typename T>
    void operator()(T* p) const {
        if (p) Destroy(p);
    }
};
template <typename T, auto Destroy>
using c_ptr = std::unique_ptr<T, c_deleter<Destroy>>;

int ms(std::chrono::milliseconds d) { return static_cast<int>(d.count()); }

} // namespace

std::vector<created_topic> create_topics(const std::map<std::string, std::string>& properties,
                                         std::span<const topic_spec> topics, std::chrono::milliseconds timeout) {
    // A producer handle is the cheapest client to run admin requests on.
    auto producer = make_producer(properties);
    rd_kafka_t* rk = producer->c_ptr();
    char err[512];
    std::vector<c_ptr<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy>> owned;
    std::vector<rd_kafka_NewTopic_t*> raw;
    for (const topic_spec& t : topics) {
        owned.emplace_back(
            rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor, err, sizeof err));
        if (!owned.back()) throw kafka_error(fmt::format("topic {}: {}", t.name, err));
        for (const auto& [k, v] : t.config)
            if (rd_kafka_NewTopic_set_config(owned.back().get(), k.c_str(), v.c_str()) != RD_KAFKA_RESP_ERR_NO_ERROR)
                throw kafka_error(fmt::format("topic {}: config {}={}", t.name, k, v));
        raw.push_back(owned.back().get());
    }
    c_ptr<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy> options(
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
    if (rd_kafka_AdminOptions_set_operation_timeout(options.get(), ms(timeout), err, sizeof err) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        throw kafka_error(std::string("CreateTopics options: ") + err);
    c_ptr<rd_kafka_queue_t, rd_kafka_queue_destroy> queue(rd_kafka_queue_new(rk));
    rd_kafka_CreateTopics(rk, raw.data(), raw.size(), options.get(), queue.get());
    c_ptr<rd_kafka_event_t, rd_kafka_event_destroy> ev(rd_kafka_queue_poll(queue.get(), ms(timeout) + 5'000));
    if (!ev) throw kafka_error("CreateTopics: no answer");
    if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw kafka_error(std::string("CreateTopics: ") + rd_kafka_event_error_string(ev.get()));
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(ev.get());
    std::size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
    std::vector<created_topic> out;
    for (std::size_t i = 0; i < n; ++i) {
        const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
        const std::string name = rd_kafka_topic_result_name(results[i]);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            const char* why = rd_kafka_topic_result_error_string(results[i]);
            throw kafka_error(fmt::format("create topic {}: {}", name, why ? why : rd_kafka_err2str(e)));
        }
        out.push_back({name, e == RD_KAFKA_RESP_ERR_NO_ERROR});
    }

    // Wait until every partition of every topic has a leader.
    std::set<std::string> waiting;
    for (const topic_spec& t : topics) waiting.insert(t.name);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!waiting.empty()) {
        const rd_kafka_metadata_t* md = nullptr;
        if (rd_kafka_metadata(rk, 1, nullptr, &md, 5'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (int i = 0; i < md->topic_cnt; ++i) {
                const rd_kafka_metadata_topic_t& t = md->topics[i];
                bool led = t.err == RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt > 0;
                for (int p = 0; led && p < t.partition_cnt; ++p) led = t.partitions[p].leader >= 0;
                if (led) waiting.erase(t.topic);
            }
            rd_kafka_metadata_destroy(md);
        }
        if (waiting.empty()) break;
        if (std::chrono::steady_clock::now() > deadline)
            throw kafka_error(fmt::format("topic {} has partitions without a leader", *waiting.begin()));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return out;
}

std::map<std::string, std::int64_t> topic_max_message_bytes(const std::map<std::string, std::string>& properties,
                                                            std::span<const std::string> topics,
                                                            std::chrono::milliseconds timeout) {
    auto producer = make_producer(properties);
    rd_kafka_t* rk = producer->c_ptr();
    char err[512];
    std::vector<c_ptr<rd_kafka_ConfigResource_t, rd_kafka_ConfigResource_destroy>> owned;
    std::vector<rd_kafka_ConfigResource_t*> raw;
    for (const std::string& t : topics) {
        owned.emplace_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.c_str()));
        raw.push_back(owned.back().get());
    }
    c_ptr<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy> options(
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
    if (rd_kafka_AdminOptions_set_request_timeout(options.get(), ms(timeout), err, sizeof err) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        throw kafka_error(std::string("DescribeConfigs options: ") + err);
    c_ptr<rd_kafka_queue_t, rd_kafka_queue_destroy> queue(rd_kafka_queue_new(rk));
    rd_kafka_DescribeConfigs(rk, raw.data(), raw.size(), options.get(), queue.get());
    c_ptr<rd_kafka_event_t, rd_kafka_event_destroy> ev(rd_kafka_queue_poll(queue.get(), ms(timeout) + 5'000));
    if (!ev) throw kafka_error("DescribeConfigs: no answer");
    if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw kafka_error(std::string("DescribeConfigs: ") + rd_kafka_event_error_string(ev.get()));
    const rd_kafka_DescribeConfigs_result_t* result = rd_kafka_event_DescribeConfigs_result(ev.get());
    std::size_t n = 0;
    const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(result, &n);
    std::map<std::string, std::int64_t> out;
    for (std::size_t i = 0; i < n; ++i) {
        const std::string name = rd_kafka_ConfigResource_name(resources[i]);
        if (rd_kafka_ConfigResource_error(resources[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            const char* why = rd_kafka_ConfigResource_error_string(resources[i]);
            throw kafka_error(fmt::format("DescribeConfigs {}: {}", name,
                                          why ? why : rd_kafka_err2str(rd_kafka_ConfigResource_error(resources[i]))));
        }
        std::size_t entries = 0;
        const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(resources[i], &entries);
        for (std::size_t j = 0; j < entries; ++j) {
            const char* key = rd_kafka_ConfigEntry_name(configs[j]);
            const char* value = rd_kafka_ConfigEntry_value(configs[j]);
            if (key && value && std::string_view(key) == "max.message.bytes") out[name] = std::stoll(value);
        }
        if (!out.contains(name)) throw kafka_error(fmt::format("DescribeConfigs {}: no max.message.bytes", name));
    }
    return out;
}

namespace {

// Kafka's ConsumerProtocolAssignment (the "consumer" protocol's member
// assignment bytes): int16 version, [topic: string, partitions: [int32]],
// user data (ignored). Big-endian. Malformed bytes give what parsed so far.
struct assignment_reader {
    const unsigned char* at;
    const unsigned char* end;
    bool ok = true;
    std::uint64_t take(std::size_t n) {
        if (static_cast<std::size_t>(end - at) < n) {
            ok = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v = (v << 8) | *at++;
        return v;
    }
};

std::vector<group_member::partition> parse_assignment(const void* bytes, int size) {
    std::vector<group_member::partition> out;
    if (!bytes || size < 2) return out;
    const auto* begin = static_cast<const unsigned char*>(bytes);
    assignment_reader r{begin, begin + size};
    r.take(2); // version
    const auto topics = static_cast<std::int32_t>(r.take(4));
    for (std::int32_t t = 0; r.ok && t < topics; ++t) {
        const auto length = static_cast<std::int16_t>(r.take(2));
        if (!r.ok || length < 0 || r.end - r.at < length) break;
        std::string topic(reinterpret_cast<const char*>(r.at), static_cast<std::size_t>(length));
        r.at += length;
        const auto count = static_cast<std::int32_t>(r.take(4));
        for (std::int32_t i = 0; r.ok && i < count; ++i) {
            const auto p = static_cast<std::int32_t>(r.take(4));
            if (r.ok) out.push_back({topic, p});
        }
    }
    return out;
}

} // namespace

std::vector<group_member> describe_group(RdKafka::Handle& client, const std::string& group,
                                         std::chrono::milliseconds timeout) {
    // The legacy rd_kafka_list_groups (ListGroups/DescribeGroups), not
    // rd_kafka_DescribeConsumerGroups: in librdkafka 2.0.2 the latter aborts
    // the process (rd_kafka_enq_once_del_source_return assertion,
    // librdkafka#4605) when a request outlives the operation's timeout —
    // the embedded mock cluster triggers it on the first call.
    const rd_kafka_group_list* list = nullptr;
    const rd_kafka_resp_err_t e = rd_kafka_list_groups(client.c_ptr(), group.c_str(), &list, ms(timeout));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__PARTIAL)
        throw kafka_error(fmt::format("describe group {}: {}", group, rd_kafka_err2str(e)));
    c_ptr<const rd_kafka_group_list, rd_kafka_group_list_destroy> owned(list);
    std::vector<group_member> out;
    for (int g = 0; list && g < list->group_cnt; ++g) {
        const rd_kafka_group_info& info = list->groups[g];
        if (info.err != RD_KAFKA_RESP_ERR_NO_ERROR)
            throw kafka_error(fmt::format("describe group {}: {}", group, rd_kafka_err2str(info.err)));
        if (!info.group || group != info.group) continue;
        const bool consumer = info.protocol_type && std::string_view(info.protocol_type) == "consumer";
        for (int i = 0; i < info.member_cnt; ++i) {
            const rd_kafka_group_member_info& m = info.members[i];
            group_member gm;
            if (m.client_id) gm.client_id = m.client_id;
            if (m.client_host) gm.host = m.client_host;
            if (consumer) gm.assignment = parse_assignment(m.member_assignment, m.member_assignment_size);
            out.push_back(std::move(gm));
        }
    }
    return out;
}

std::int32_t partitions_of(RdKafka::Handle& client, const std::string& topic) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&client, topic, nullptr, err));
    if (!handle) throw kafka_error("topic " + topic + ": " + err);
    RdKafka::Metadata* md = nullptr;
    if (client.metadata(false, handle.get(), &md, 30'000) != RdKafka::ERR_NO_ERROR || !md ||
        md->topics()->empty() || md->topics()->front()->partitions()->empty()) {
        delete md;
        throw kafka_error("no metadata for topic " + topic);
    }
    const auto n = static_cast<std::int32_t>(md->topics()->front()->partitions()->size());
    delete md;
    return n;
}

} // namespace posd::stream
