#pragma once
// posctl produce: writes activity to posd's input topic, keyed and
// partitioned exactly as posd's own replay does — the message key is the
// record's account key (murmur2 partitioning, stream::make_producer), and an
// END_OF_DAY control record goes to every partition of the topic.
//
// Two sources: a JSON-lines file (posd's produce_activity_file, so the key
// rules cannot drift apart), or records made by libs/workload's seeded
// generator, optionally paced to a rate.
//
// Threading: produce() runs on the calling thread and owns its producer;
// `stop` may be set from any thread (a signal handler) to end it early.

#include "workload/config.h"
#include "workload/reference_set.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace posd::posctl {

// The generator defaults of posctl: the sample's seed and cusip count, so
// that generated records refer to the reference data posd loads by default
// (data/sample). Another seed or cusip count needs that reference data
// written out (generator_reference, write_reference_files) and given to posd.
inline constexpr std::uint64_t default_seed = 20240304;
inline constexpr std::size_t default_cusips = 50;
inline constexpr std::size_t default_accounts = 1000;

struct produce_options {
    std::map<std::string, std::string> kafka; // librdkafka properties; bootstrap.servers at least
    std::string topic = "activity";

    // Source: a JSON-lines file, or `generate` records from the generator.
    std::string file;
    std::uint64_t generate = 0; // generator records (activity + END_OF_DAY), not counting fan-out
    std::uint64_t seed = default_seed;
    std::size_t accounts = default_accounts;
    std::size_t cusips = default_cusips;
    std::uint64_t end_of_day_every = 0;  // an END_OF_DAY after every n records (0: never)
    std::uint32_t protobuf_per_mille = 0; // share of activities sent as protobuf

    // Kafka messages per second, 0 = as fast as possible (generator only).
    double rate = 0;
};

struct produce_result {
    std::uint64_t messages = 0;    // Kafka messages written (what posd counts as records_in)
    std::uint64_t records = 0;     // source records (an END_OF_DAY counts once)
    std::uint64_t end_of_days = 0; // END_OF_DAY records among them (generator only)
    std::int32_t partitions = 0;   // of the topic (generator only)
    double seconds = 0;
    bool stopped = false; // `stop` ended it early
};

// The generator configuration the options describe. Throws
// std::invalid_argument when the options are out of the generator's range.
workload::workload_config generator_config(const produce_options& options);

// The reference data the generated records refer to (it depends on the
// seed and the cusip count only).
workload::reference_set generator_reference(const produce_options& options);

// Checks the options (a source, and only settings that source takes).
// Throws std::invalid_argument with a message naming the flag.
void check_produce_options(const produce_options& options);

// Produces and flushes. Throws std::invalid_argument (options),
// std::runtime_error (the file) or stream::kafka_error.
produce_result produce(const produce_options& options, const std::atomic<bool>* stop = nullptr);

// "produced N records in S s (R records/s)" — N counts Kafka messages.
std::string rate_summary(const produce_result& result);

// Writes the reference data as posd's reference directory holds it
// (bookkeeping_rules.jsonl, products.jsonl, securities.jsonl, prices.jsonl,
// margin_rules.jsonl, fx_rates.jsonl; creating `dir`). Throws std::runtime_error.
void write_reference_files(const workload::reference_set& refdata, const std::string& dir);

// Paces a loop to `rate` events per second against steady_clock: wait()
// before each event sleeps until that event is due (start + i / rate). A
// loop that falls behind catches up without sleeping. rate 0: no pacing.
class pacer {
public:
    explicit pacer(double rate);
    void wait();

private:
    double rate_;
    std::uint64_t events_ = 0;
    std::chrono::steady_clock::time_point start_;
};

} // namespace posd::posctl
