#pragma once
// The sample data set under data/sample/ (see data/sample/README.md): the
// reference data as JSON lines, one file per kind, and a small activity
// file of a few accounts with bad records, duplicates and one END_OF_DAY,
// plus the outcome the engine gives each activity line.
//
// make_sample_files() is deterministic; the committed files are its output,
// written once by the hidden test "[.write_samples]"
// (`workload_tests "[.write_samples]"`) and checked by the sample-file test.
// Stateless and thread-safe.

#include "workload/config.h"

#include <string>

namespace posd::workload {

struct sample_files {
    std::string bookkeeping_rules; // bookkeeping_rules.jsonl
    std::string products;          // products.jsonl
    std::string securities;        // securities.jsonl
    std::string prices;            // prices.jsonl
    std::string margin_rules;      // margin_rules.jsonl
    std::string fx_rates;          // fx_rates.jsonl
    std::string activity;          // activity.jsonl: one record per line
    std::string activity_expected; // activity.expected.tsv: line, outcome, reason
};

// The config the sample is generated from (its start_business_date is the
// initial business date the expected outcomes assume).
workload_config sample_config();
sample_files make_sample_files();

// Writes the files into `dir` (which must exist). False, with `error` set,
// when a file cannot be written.
[[nodiscard]] bool write_sample_files(const std::string& dir, std::string& error);

} // namespace posd::workload
