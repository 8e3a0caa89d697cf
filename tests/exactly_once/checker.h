#pragma once
// eos_checker: the exactly-once checker of issue 4. After a run of posd
// (with or without injected faults) it reads what a downstream consumer
// would see — every partition of position.updated, market-value,
// margin.updated and activity.dlq with isolation.level=read_committed — and
// compares it with what an independent model computes from the same input:
//
//   - the input: the activity topic (all partitions, plain read) and the
//     reference topics, decoded with posd's codec (decoding is shared on
//     purpose: the codec has its own tests, and the oracle needs model
//     records);
//   - the expected state: tests/engine_oracle's oracle (written from
//     libs/engine/README.md, not from the engine), one per activity
//     partition, fed each partition's records in offset order in batches,
//     with re-valuations where the schedule says prices changed;
//   - the outputs: parsed with simdjson straight into field maps (not with
//     posd's encoder or decoder), compared field by field.
//
// The checks (each failure is one violation):
//   versions     per position key on position.updated and per account key on
//                margin.updated, `version` runs 1, 2, ..., n in topic order
//                (a duplicated or a zombie's event shows up here);
//   applied      every record the oracle applied appears exactly once in the
//                activityIds/offsets of position.updated with cause
//                activity, and no other record does; an event of another
//                cause that lists activityIds is a violation;
//   settled      every settlement the oracle released appears exactly once
//                in the settledActivityIds of position.updated (cause
//                settlement);
//   format       every event parses, has its key and a known cause with
//                the cause's fields;
//   position     the last position.updated of each key equals the oracle's
//                position on every field but version, activityIds, offsets
//                and times; every key on either side exists on the other;
//   market-value the last market-value of each key equals the oracle's last
//                market-value event of that key (all fields but timestamp);
//   margin       the last margin.updated of each account equals the
//                oracle's MarginBalance (all fields but version and times);
//   dlq          activity.dlq holds exactly the oracle's rejected records,
//                once each (source.partition/source.offset headers), with
//                the oracle's `reason`, the original key and bytes;
//   counts       records in = applied + duplicates + rejected, dead letters
//                = rejected, and the schedule covers the whole topic.
//
// The schedule (written by the harness; one directive a line, '#' comments):
//   partitions N                  activity partitions (checked against the topic)
//   business-date YYYY-MM-DD      posd's --business-date (engine_config)
//   prices-initial q0 ... qk-1    per prices partition, the end offset of what
//                                 posd loaded before any activity
//                                 (absent: the whole prices topic)
//   phase a0 ... aN-1 prices q0 ... qk-1
//                                 apply activity [previous end, a_p) of each
//                                 partition p, THEN upsert the prices records
//                                 up to q and re-value every cusip they
//                                 changed (a tombstone counts, an undecodable
//                                 value does not), cusips in sorted order, in
//                                 every partition
// Phases repeat; with none, one phase runs to the end of the activity topic
// with no price change.
//
// Threading: read_topics owns its consumers for the call; the check runs the
// partitions' oracles on two threads, one phase at a time.

#include "base/date.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace posd::eos {

// The checker cannot run (bad arguments, a bad schedule, Kafka unreachable,
// a read that does not finish): exit code 2, not a violation.
struct checker_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// posd's default topic names.
struct topic_names {
    std::string activity = "activity";
    std::string position_updated = "position.updated";
    std::string market_value = "market-value";
    std::string margin_updated = "margin.updated";
    std::string dead_letter = "activity.dlq";
    std::string bookkeeping_rules = "refdata.bookkeeping-rules";
    std::string products = "refdata.products";
    std::string securities = "refdata.securities";
    std::string margin_rules = "refdata.margin-rules";
    std::string prices = "prices";
};

struct phase {
    std::vector<std::int64_t> activity_end; // per activity partition
    std::vector<std::int64_t> prices_end;   // per prices partition
};

struct schedule {
    std::int32_t partitions = 0;
    std::optional<date> business_date;
    std::optional<std::vector<std::int64_t>> prices_initial;
    std::vector<phase> phases;
};

// Throws checker_error naming the line.
schedule parse_schedule(std::string_view text);
schedule read_schedule(const std::string& path);

// One Kafka record as read.
struct record {
    std::int64_t offset = 0;
    std::optional<std::string> key;   // nullopt: a null key
    std::optional<std::string> value; // nullopt: a tombstone
    std::vector<std::pair<std::string, std::string>> headers;
};

struct topic_records {
    std::vector<std::vector<record>> partitions; // index = partition, records in offset order
    std::vector<std::int64_t> end;               // high watermark per partition when read
    std::size_t size() const;
};

// Everything the checker reads.
struct captured {
    topic_records activity, bookkeeping_rules, products, securities, margin_rules, prices;
    topic_records position_updated, market_value, margin_updated, dead_letter;
};

struct read_options {
    std::map<std::string, std::string> kafka; // librdkafka properties; bootstrap.servers at least
    topic_names topics;
    std::chrono::milliseconds timeout{120'000}; // for the whole read
};

// Reads every partition of every topic from the beginning to its end
// (outputs read_committed; the end is the high watermark, or EOF / the
// consumer's position, since transaction markers take the last offsets).
// Throws checker_error.
captured read_topics(const read_options& options);

struct violation {
    std::string check; // versions, applied, position, market-value, margin, dlq, counts, schedule, format
    std::string detail;
};

struct report {
    std::uint64_t records_in = 0; // activity records read
    std::uint64_t applied = 0;    // the oracle's counts
    std::uint64_t duplicates = 0;
    std::uint64_t rejected = 0;
    std::uint64_t outputs = 0;    // records read from the four output topics
    std::uint64_t violation_count = 0;
    std::vector<violation> violations; // the first `violations_kept`
    std::vector<std::string> notes;    // things worth saying that are not violations
};

struct verify_options {
    std::size_t oracle_batch_records = 500;
    std::size_t violations_kept = 30;
    std::string activity_topic = "activity"; // expected in the dead letters' source.topic
};

// Runs every check over what was read. Throws checker_error when the
// schedule does not fit the topics (partition counts, vector sizes).
report verify(const captured& in, const schedule& plan, const verify_options& options = {});

// "eos: scenario=NAME records_in=N applied=A duplicates=D rejected=R outputs=O faults=F violations=V"
std::string summary_line(const report& r, std::string_view scenario, std::uint64_t faults);

} // namespace posd::eos
