// posd: the position-keeping service.
//
// Configuration comes from libs/ops (defaults < --config file < POSD_*
// environment < --key=value flags; `posd --help` lists every key).
// mode=service (the default) runs over Kafka and RocksDB: against the
// brokers of kafka.bootstrap.servers or, without them, an embedded
// Kafka-protocol cluster whose address it prints, with the sample data.
// mode=replay runs replay.file through the engine in memory and prints every
// output event.

#include "embedded.h"
#include "library_logs.h"
#include "ops/config.h"
#include "ops/log.h"
#include "refdata_files.h"
#include "replay.h"

#include <fmt/format.h>

#include <cstdio>
#include <string>

using namespace posd;

namespace {

// The sample's activity is dated 2024-03-04 (data/sample/README.md).
constexpr const char* sample_business_date = "2024-03-04";

int replay(const ops::config& c, const engine::engine_config& config) {
    codec::json_decoder decoder;
    engine::reference_data refdata;
    const auto loaded = service::load_reference_dir(c.refdata_dir, decoder, refdata);
    for (const auto& p : loaded.problems) ops::log_warn("reference file line skipped", {{"problem", p}});
    ops::log_info("reference files loaded", {{"dir", c.refdata_dir}, {"records", loaded.loaded}});
    const auto r = service::replay_file(c.replay_file, config, refdata, outputs::topic_names_of(c),
                                        c.batch_records_max, c.replay_print_events ? stdout : nullptr);
    ops::log_info("replayed", {{"file", c.replay_file},
                               {"records_in", r.counts.records_in},
                               {"applied", r.counts.applied},
                               {"duplicates", r.counts.duplicates},
                               {"rejected", r.counts.rejected},
                               {"end_of_day", r.counts.controls}});
    for (const auto& [topic, n] : r.outputs_by_topic) ops::log_info("outputs", {{"topic", topic}, {"events", n}});
    for (const auto& [reason, n] : r.rejected_by_reason) ops::log_info("rejected", {{"reason", reason}, {"records", n}});
    return r.counts.records_in == r.counts.applied + r.counts.duplicates + r.counts.rejected ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    ops::load_result loaded;
    try {
        loaded = ops::load_config(ops::sources_from_main(argc, argv));
    } catch (const ops::config_error& e) {
        std::fprintf(stderr, "posd: bad configuration: %s\n", e.what());
        return 2;
    }
    if (loaded.help_requested) {
        std::fputs(ops::help_text("posd").c_str(), stdout);
        return 0;
    }
    ops::config c = std::move(loaded.settings);
    ops::init_logging(c.log_threshold, c.log_style);
    service::route_protobuf_logs();
    for (const std::string& line : c.describe()) ops::log_debug("setting", {{"value", line}});

    // The embedded default and the replay mode use the sample data unless
    // told otherwise; against real brokers nothing is produced unasked.
    const bool sample_defaults = c.run_mode == ops::mode::replay || !c.kafka.contains("bootstrap.servers");
    if (sample_defaults && c.refdata_dir.empty()) c.refdata_dir = POSD_SAMPLE_DIR;
    if (sample_defaults && c.replay_file.empty()) {
        c.replay_file = std::string(POSD_SAMPLE_DIR) + "/activity.jsonl";
        if (!c.business_date) c.business_date = date::parse(sample_business_date);
    }

    engine::engine_config config;
    config.initial_business_date = c.business_date;
    config.applied_ids_retained = c.applied_ids_retained;
    config.base_currency = c.base_currency;
    config.end_of_day_max_days_ahead = c.end_of_day_max_days_ahead;
    try {
        if (c.run_mode == ops::mode::replay) return replay(c, config);
        return service::run_service(c, config);
    } catch (const std::exception& e) {
        ops::log_error("posd failed", {{"error", e.what()}});
        return 1;
    }
}
