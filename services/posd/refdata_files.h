#pragma once
// Reference data in JSON-lines files (one record a line), one file per kind
// in a directory: bookkeeping_rules.jsonl, products.jsonl, securities.jsonl,
// prices.jsonl, margin_rules.jsonl and (optional) fx_rates.jsonl. The replay mode loads them straight
// into memory; the service produces them to the reference topics, which it
// then reads like any other reference data (reference_tables.h). A bad line
// is reported with its reason and skipped; it never stops the load.

#include "codec/json_decode.h"
#include "engine/reference_data.h"
#include "reference_tables.h"

#include <map>
#include <string>
#include <vector>

namespace posd::service {

struct refdata_load_result {
    std::size_t loaded = 0;
    std::vector<std::string> problems; // "file:line: REASON field: message"
};

refdata_load_result load_reference_dir(const std::string& dir, codec::json_decoder& decoder,
                                       engine::reference_data& out);

// Produces every good line of the directory's files to its reference topic,
// keyed as reference_tables.h says. `kafka`: librdkafka properties.
refdata_load_result produce_reference_dir(const std::string& dir, const std::map<std::string, std::string>& kafka,
                                          const reference_topics& topics);

} // namespace posd::service
