#pragma once
// Loads reference data from JSON-lines files (one record a line), as the
// embedded default and the sample replay use. Each kind has its own file in
// a directory: bookkeeping_rules.jsonl, products.jsonl, securities.jsonl,
// prices.jsonl, margin_rules.jsonl. A bad line is reported with its reason
// and skipped; it never stops the load.

#include "codec/json_decode.h"
#include "engine/reference_data.h"

#include <string>
#include <vector>

namespace posd::service {

struct refdata_load_result {
    std::size_t loaded = 0;
    std::vector<std::string> problems; // "file:line: REASON field: message"
};

refdata_load_result load_reference_dir(const std::string& dir, codec::json_decoder& decoder,
                                       engine::reference_data& out);

} // namespace posd::service
