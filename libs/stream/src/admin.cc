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

std::vector<group_member> describe_group(RdKafka::Handle& client, const std::string& group,
                                         std::chrono::milliseconds timeout) {
    rd_kafka_t* rk = client.c_ptr();
    char err[512];
    c_ptr<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy> options(
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS));
    if (rd_kafka_AdminOptions_set_request_timeout(options.get(), ms(timeout), err, sizeof err) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        throw kafka_error(std::string("DescribeConsumerGroups options: ") + err);
    c_ptr<rd_kafka_queue_t, rd_kafka_queue_destroy> queue(rd_kafka_queue_new(rk));
    const char* groups[] = {group.c_str()};
    rd_kafka_DescribeConsumerGroups(rk, groups, 1, options.get(), queue.get());
    c_ptr<rd_kafka_event_t, rd_kafka_event_destroy> ev(rd_kafka_queue_poll(queue.get(), ms(timeout) + 1'000));
    if (!ev) throw kafka_error("DescribeConsumerGroups: no answer");
    if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw kafka_error(std::string("DescribeConsumerGroups: ") + rd_kafka_event_error_string(ev.get()));
    const rd_kafka_DescribeConsumerGroups_result_t* result = rd_kafka_event_DescribeConsumerGroups_result(ev.get());
    std::size_t n = 0;
    const rd_kafka_ConsumerGroupDescription_t** groups_out = rd_kafka_DescribeConsumerGroups_result_groups(result, &n);
    std::vector<group_member> out;
    for (std::size_t g = 0; g < n; ++g) {
        if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(groups_out[g]))
            throw kafka_error(fmt::format("describe group {}: {}", group, rd_kafka_error_string(e)));
        const std::size_t members = rd_kafka_ConsumerGroupDescription_member_count(groups_out[g]);
        for (std::size_t i = 0; i < members; ++i) {
            const rd_kafka_MemberDescription_t* m = rd_kafka_ConsumerGroupDescription_member(groups_out[g], i);
            group_member gm;
            if (const char* id = rd_kafka_MemberDescription_client_id(m)) gm.client_id = id;
            if (const char* host = rd_kafka_MemberDescription_host(m)) gm.host = host;
            const rd_kafka_MemberAssignment_t* a = rd_kafka_MemberDescription_assignment(m);
            const rd_kafka_topic_partition_list_t* parts = a ? rd_kafka_MemberAssignment_partitions(a) : nullptr;
            for (int k = 0; parts && k < parts->cnt; ++k)
                gm.assignment.push_back({parts->elems[k].topic, parts->elems[k].partition});
            out.push_back(std::move(gm));
        }
    }
    return out;
}

} // namespace posd::stream
