#include "library_logs.h"

#include "ops/log.h"

#include <google/protobuf/stubs/logging.h>

#include <string>

namespace posd::service {

namespace {

void on_protobuf_log(google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
    using pl = google::protobuf::LogLevel;
    const ops::log_level ours = level == pl::LOGLEVEL_INFO      ? ops::log_level::info
                                : level == pl::LOGLEVEL_WARNING ? ops::log_level::warn
                                                                : ops::log_level::error; // ERROR, FATAL
    ops::log_library("protobuf", ours, message, {{"file", file ? file : ""}, {"line", line}});
}

} // namespace

void route_protobuf_logs() { google::protobuf::SetLogHandler(&on_protobuf_log); }

} // namespace posd::service
