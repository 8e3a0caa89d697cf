#pragma once
// Replays a JSON-lines activity file through the whole per-record pipeline
// in memory: decode, engine, encode. Each output is written as one line
// "<topic>\t<key>\t<value>" (dead letters: the original bytes, then the
// headers). Used by `posd --replay` until the Kafka service lands, and by
// the sample walkthrough in the README.

#include "engine/config.h"
#include "engine/reference_data.h"
#include "engine/state.h"
#include "model/events.h"
#include "outputs/topics.h"

#include <cstdio>
#include <map>
#include <string>

namespace posd::service {

using outputs::topic_names;

struct replay_result {
    engine::batch_counts counts;
    std::map<std::string, std::uint64_t> rejected_by_reason;
    std::map<std::string, std::uint64_t> outputs_by_topic;
};

// Records are batched `batch_records` at a time, as the service will.
replay_result replay_file(const std::string& path, const engine::engine_config& config,
                          const engine::reference_data& refdata, const topic_names& topics,
                          std::size_t batch_records, std::FILE* out);

} // namespace posd::service
