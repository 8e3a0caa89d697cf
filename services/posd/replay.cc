#include "replay.h"

#include "codec/decoder.h"
#include "codec/json_encode.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "model/keys.h"

#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <fstream>

namespace posd::service {
namespace {

// The message key a producer would have given the record: its account key
// when it decodes to an activity, else empty (the record is rejected anyway).
std::string key_of(const model::decoded_record& d) {
    if (auto* a = std::get_if<model::activity_record>(&d)) return a->account().value();
    return {};
}

void write_events(const engine::write_set& ws, const topic_names& topics, std::FILE* out, replay_result& result) {
    std::string value;
    for (const auto& e : ws.events) {
        value.clear();
        if (const auto* d = std::get_if<model::dead_letter>(&e)) {
            value = d->value;
            for (auto& [k, v] : codec::dead_letter_headers(*d, topics.activity)) value += fmt::format("\t{}={}", k, v);
            ++result.rejected_by_reason[std::string(model::reason_code(d->reject.reason))];
        } else {
            std::visit(
                [&](const auto& ev) {
                    if constexpr (!std::is_same_v<std::decay_t<decltype(ev)>, model::dead_letter>)
                        codec::encode_json(ev, value);
                },
                e);
        }
        const std::string& topic = topic_of(e, topics);
        ++result.outputs_by_topic[topic];
        if (out) fmt::print(out, "{}\t{}\t{}\n", topic, codec::event_key(e), value);
    }
}

} // namespace

const std::string& topic_of(const model::output_event& event, const topic_names& topics) {
    return std::visit(
        [&](const auto& ev) -> const std::string& {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, model::position_updated>) return topics.position_updated;
            else if constexpr (std::is_same_v<T, model::market_value_event>) return topics.market_value;
            else if constexpr (std::is_same_v<T, model::margin_updated>) return topics.margin_updated;
            else return topics.dead_letter;
        },
        event);
}

replay_result replay_file(const std::string& path, const engine::engine_config& config,
                          const engine::reference_data& refdata, const topic_names& topics,
                          std::size_t batch_records, std::FILE* out) {
    replay_result result;
    std::ifstream in(path);
    if (!in) throw std::runtime_error(fmt::format("cannot open activity file {}", path));
    codec::decoder decoder;
    engine::memory_state state(config.applied_ids_retained);
    engine::partition_engine engine(0, config, refdata);
    std::deque<std::string> lines, keys;
    std::vector<engine::input_record> batch;
    std::int64_t offset = 0;
    auto flush = [&] {
        if (batch.empty()) return;
        timestamp now{std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count()};
        auto ws = engine.apply(state, batch, now);
        state.apply(ws);
        result.counts += ws.counts;
        write_events(ws, topics, out, result);
        batch.clear();
        lines.clear();
        keys.clear();
    };
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        lines.push_back(std::move(line));
        engine::input_record rec;
        rec.offset = offset++;
        rec.value = lines.back();
        rec.decoded = decoder.decode(rec.value, codec::content_type::json);
        keys.push_back(key_of(rec.decoded));
        rec.key = keys.back();
        batch.push_back(std::move(rec));
        if (batch.size() >= batch_records) flush();
    }
    flush();
    return result;
}

} // namespace posd::service
