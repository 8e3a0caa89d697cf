#include "stream/embedded_cluster.h"

#include "library_log.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>
#include <string>

namespace posd::stream {

embedded_cluster::embedded_cluster(int brokers) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The handle only hosts the cluster: keep it quiet.
    if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("embedded cluster: ") + err);
    }
    route_librdkafka_logs(conf);
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err); // takes conf on success
    if (!handle_) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("embedded cluster: cannot create the host handle: ") + err);
    }
    cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
    if (!cluster_) {
        rd_kafka_destroy(handle_);
        throw std::runtime_error("embedded cluster: librdkafka could not start the mock brokers");
    }
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
}

embedded_cluster::~embedded_cluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
}

void embedded_cluster::create_topic(std::string_view name, int partitions) {
    const std::string topic(name);
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error("embedded cluster: cannot create topic '" + topic + "': " + rd_kafka_err2str(e));
}

} // namespace posd::stream
