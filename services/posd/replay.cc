#include "replay.h"

#include "codec/decoder.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "model/keys.h"
#include "outputs/encode.h"

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

// Each event as the service would produce it (outputs::encode); a dead
// letter's headers follow its value, tab-separated.
void write_events(const engine::write_set& ws, const topic_names& topics, std::FILE* out, replay_result& result) {
    for (const auto& e : ws.events) {
        stream::kafka_message m = outputs::encode(e, topics);
        if (const auto* d = std::get_if<model::dead_letter>(&e)) {
            for (auto& [k, v] : m.headers) m.value += fmt::format("\t{}={}", k, v);
            ++result.rejected_by_reason[std::string(model::reason_code(d->reject.reason))];
        }
        ++result.outputs_by_topic[m.topic];
        if (out) fmt::print(out, "{}\t{}\t{}\n", m.topic, m.key, m.value);
    }
}

} // namespace

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
