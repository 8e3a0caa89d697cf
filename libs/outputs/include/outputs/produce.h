#pragma once
// Producing activity files as posd expects them (posctl produce, the
// embedded mode's sample, the test harnesses).

#include <cstdint>
#include <map>
#include <string>

namespace posd::outputs {

// Produces every line of a JSON-lines activity file to `topic`, keyed by the
// record's account key (undecodable lines get an empty key and are rejected
// by posd), through routing.h: a control record (END_OF_DAY) goes to every
// partition. Returns the number of messages produced.
// `kafka`: librdkafka properties (bootstrap.servers, security...).
std::uint64_t produce_activity_file(const std::string& path, const std::map<std::string, std::string>& kafka,
                                    const std::string& topic);
std::uint64_t produce_activity_file(const std::string& path, const std::string& bootstrap, const std::string& topic);

} // namespace posd::outputs
