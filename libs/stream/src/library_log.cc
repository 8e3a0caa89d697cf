#include "library_log.h"

#include "ops/log.h"

namespace posd::stream {

namespace {

// librdkafka's levels are syslog's: 0-3 emergency..error, 4 warning,
// 5 notice, 6 info, 7 debug.
ops::log_level level_of(int syslog_level) {
    if (syslog_level <= 3) return ops::log_level::error;
    if (syslog_level == 4) return ops::log_level::warn;
    if (syslog_level <= 6) return ops::log_level::info;
    return ops::log_level::debug;
}

// Called on librdkafka's threads (log.queue is not set); log_library is
// thread-safe and throws nothing librdkafka's C frames would have to carry.
extern "C" void on_librdkafka_log(const rd_kafka_t* rk, int level, const char* facility, const char* text) noexcept {
    try {
        ops::log_library("librdkafka", level_of(level), text ? text : "",
                         {{"facility", facility ? facility : ""}, {"client", rk ? rd_kafka_name(rk) : ""}});
    } catch (...) {
        // A log line that cannot be written is dropped.
    }
}

} // namespace

void route_librdkafka_logs(rd_kafka_conf_t* conf) { rd_kafka_conf_set_log_cb(conf, on_librdkafka_log); }

} // namespace posd::stream
