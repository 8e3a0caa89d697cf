#include "outputs/encode.h"

#include "codec/dead_letter.h"
#include "codec/json_encode.h"

#include <type_traits>
#include <variant>

namespace posd::outputs {

stream::kafka_message encode(const model::output_event& event, const topic_names& topics,
                             const std::optional<std::string>& source_content_type) {
    stream::kafka_message m;
    m.topic = topic_of(event, topics);
    if (const auto* d = std::get_if<model::dead_letter>(&event)) {
        codec::dead_letter_message dl = codec::encode_dead_letter(*d, topics.activity, source_content_type);
        m.key = std::move(dl.key);
        m.value = std::move(dl.value);
        m.headers = std::move(dl.headers);
        return m;
    }
    m.key = codec::event_key(event);
    std::visit(
        [&](const auto& ev) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(ev)>, model::dead_letter>)
                codec::encode_json(ev, m.value);
        },
        event);
    return m;
}

} // namespace posd::outputs
