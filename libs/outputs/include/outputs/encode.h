#pragma once
// The one encoder from an output event to the Kafka message posd produces:
// its topic (topics.h), its key (codec::event_key: the entity's key) and its
// value (JSON, codec/json_encode.h); a dead letter is the rejected record's
// own bytes, capped, with the reject in headers (codec/dead_letter.h).
// The service's outbox and the replay mode both write what this returns.
// Thread-safe (no shared state).

#include "model/events.h"
#include "outputs/topics.h"
#include "stream/batch_publisher.h"

#include <optional>
#include <string>

namespace posd::outputs {

// `source_content_type`: the rejected record's content-type header, which
// its dead letter keeps (a replayable copy); ignored for other events.
stream::kafka_message encode(const model::output_event& event, const topic_names& topics,
                             const std::optional<std::string>& source_content_type = std::nullopt);

} // namespace posd::outputs
