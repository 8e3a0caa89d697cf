#include "outputs/produce.h"

#include "codec/decoder.h"
#include "outputs/routing.h"
#include "stream/admin.h"
#include "stream/batch_publisher.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <fstream>
#include <stdexcept>

namespace posd::outputs {

std::uint64_t produce_activity_file(const std::string& path, const std::map<std::string, std::string>& kafka,
                                    const std::string& topic) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(fmt::format("cannot open activity file {}", path));
    auto producer = stream::make_producer(kafka);
    const std::int32_t partitions = stream::partitions_of(*producer, topic);
    codec::decoder decoder;
    std::string line;
    std::uint64_t n = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::string key;
        const model::decoded_record d = decoder.decode(line, codec::content_type::json);
        if (const auto* a = std::get_if<model::activity_record>(&d)) key = a->account().value();
        for (std::int32_t p : activity_partitions(d, partitions)) {
            stream::produce_message(*producer, {topic, p, key, line, {}});
            ++n;
        }
    }
    if (producer->flush(30'000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush of the activity file failed");
    return n;
}

std::uint64_t produce_activity_file(const std::string& path, const std::string& bootstrap, const std::string& topic) {
    return produce_activity_file(path, std::map<std::string, std::string>{{"bootstrap.servers", bootstrap}}, topic);
}

} // namespace posd::outputs
