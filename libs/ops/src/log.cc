#include "ops/log.h"

#include "base/date.h"
#include "ops/json_text.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <span>

namespace posd::ops {

namespace {

// The fields of the log() call now running on this thread; the logger is
// synchronous, so the formatter runs inside that call, on this thread.
thread_local const std::span<const log_field>* current_fields = nullptr;

spdlog::level::level_enum to_spdlog(log_level level) {
    switch (level) {
    case log_level::trace: return spdlog::level::trace;
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warn: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
    }
    return spdlog::level::info;
}

std::string_view level_word(spdlog::level::level_enum level) {
    switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
    }
}

// A text-format value is bare when it cannot be misread as several tokens.
bool needs_quotes(std::string_view v) {
    if (v.empty()) return true;
    for (char ch : v) {
        auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c >= 0x7F) return true;
    }
    return false;
}

void append_value(std::string& out, const log_field::value_type& value, bool json) {
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string_view>) {
                if (json || needs_quotes(v))
                    append_json_string(out, v);
                else
                    out += v;
            } else if constexpr (std::is_same_v<T, bool>) {
                out += v ? "true" : "false";
            } else if constexpr (std::is_same_v<T, double>) {
                if (std::isfinite(v))
                    fmt::format_to(std::back_inserter(out), "{}", v);
                else if (json)
                    append_json_string(out, fmt::format("{}", v)); // JSON has no NaN or infinity
                else
                    fmt::format_to(std::back_inserter(out), "{}", v);
            } else {
                fmt::format_to(std::back_inserter(out), "{}", v);
            }
        },
        value);
}

class line_formatter final : public spdlog::formatter {
public:
    explicit line_formatter(log_format format) : format_(format) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
        std::string ts = timestamp{static_cast<std::int64_t>(ms)}.to_string();
        std::string_view text(msg.payload.data(), msg.payload.size());
        std::string line;
        line.reserve(96 + text.size());
        bool json = format_ == log_format::json;
        if (json) {
            line += "{\"ts\":\"";
            line += ts;
            line += "\",\"level\":\"";
            line += level_word(msg.level);
            line += "\",\"msg\":";
            append_json_string(line, text);
        } else {
            fmt::format_to(std::back_inserter(line), "{} {:<5} ", ts, level_word(msg.level));
            // A message is one line whatever it holds.
            for (char ch : text) line += (ch == '\n' || ch == '\r') ? ' ' : ch;
        }
        if (current_fields) {
            for (auto& f : *current_fields) {
                if (json) {
                    line += ',';
                    append_json_string(line, f.key);
                    line += ':';
                } else {
                    line += ' ';
                    line += f.key;
                    line += '=';
                }
                append_value(line, f.value, json);
            }
        }
        if (json) line += '}';
        line += '\n';
        dest.append(line.data(), line.data() + line.size());
    }

    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<line_formatter>(format_); }

private:
    log_format format_;
};

void install(spdlog::sink_ptr sink, log_level level, log_format format) {
    auto logger = std::make_shared<spdlog::logger>("posd", std::move(sink));
    logger->set_formatter(std::make_unique<line_formatter>(format));
    logger->set_level(to_spdlog(level));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

} // namespace

void init_logging(log_level level, log_format format) {
    install(std::make_shared<spdlog::sinks::stderr_sink_mt>(), level, format);
}

void init_logging(log_level level, log_format format, std::ostream& out) {
    install(std::make_shared<spdlog::sinks::ostream_sink_mt>(out, /*force_flush=*/true), level, format);
}

void set_log_level(log_level level) { spdlog::default_logger_raw()->set_level(to_spdlog(level)); }

bool log_enabled(log_level level) { return spdlog::default_logger_raw()->should_log(to_spdlog(level)); }

void log(log_level level, std::string_view message, std::initializer_list<log_field> fields) {
    log_fields(level, message, std::span<const log_field>(fields.begin(), fields.size()));
}

void log_fields(log_level level, std::string_view message, std::span<const log_field> fields) {
    auto* logger = spdlog::default_logger_raw();
    auto lvl = to_spdlog(level);
    if (!logger->should_log(lvl)) return;
    struct restore {
        const std::span<const log_field>* previous;
        ~restore() { current_fields = previous; }
    } guard{current_fields};
    current_fields = &fields;
    logger->log(lvl, spdlog::string_view_t(message.data(), message.size()));
}

} // namespace posd::ops
