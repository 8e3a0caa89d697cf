// posd: the position-keeping service.
//
// `posd --replay FILE` runs the pure pipeline in memory: it decodes each
// activity record, applies it with the engine and prints every output event.
// `posd --kafka` runs it over Kafka and RocksDB (README.md): against the
// brokers of --bootstrap-servers, or, without them, against an embedded
// mock cluster whose address it prints. HTTP and the full configuration
// (libs/ops) are being wired in.

#include "codec/json_decode.h"
#include "embedded.h"
#include "refdata_files.h"
#include "replay.h"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <iostream>

namespace po = boost::program_options;
using namespace posd;

int main(int argc, char** argv) {
    std::string sample_dir = POSD_SAMPLE_DIR;
    std::string refdata_dir, replay_path, business_date;
    std::size_t batch_records = 500;
    bool quiet = false;
    bool kafka = false;
    service::kafka_run_options kafka_options;
    po::options_description opts("posd options");
    opts.add_options()
        ("help,h", "show this help")
        ("refdata-dir", po::value(&refdata_dir), "reference data directory (default: the sample data)")
        ("replay", po::value(&replay_path), "JSON-lines activity file to replay (default: the sample activity)")
        ("business-date", po::value(&business_date), "initial business date YYYY-MM-DD (default: the sample's 2024-03-04 for the sample, else today, UTC)")
        ("batch-records", po::value(&batch_records)->default_value(500), "records per engine batch")
        ("quiet,q", po::bool_switch(&quiet), "print only the summary")
        ("kafka", po::bool_switch(&kafka), "run over Kafka and RocksDB instead of in memory")
        ("bootstrap-servers", po::value(&kafka_options.bootstrap_servers), "--kafka: brokers (default: start an embedded mock cluster)")
        ("partitions", po::value(&kafka_options.partitions)->default_value(4), "--kafka, embedded: partitions per topic")
        ("state-dir", po::value(&kafka_options.state_dir), "--kafka: RocksDB directory (default: a fresh temporary one)")
        ("exit-when-done", po::bool_switch(&kafka_options.exit_when_done), "--kafka: exit once the replayed records are all accounted for")
        ("http-address", po::value(&kafka_options.http_address)->default_value("127.0.0.1"), "--kafka: HTTP listen address")
        ("http-port", po::value(&kafka_options.http_port)->default_value(0), "--kafka: HTTP port (0: any free port, printed as http=ADDRESS:PORT)");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, opts), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        fmt::print(stderr, "posd: {}\n", e.what());
        return 2;
    }
    if (vm.count("help")) {
        std::cout << opts << "\n";
        return 0;
    }
    if (refdata_dir.empty()) refdata_dir = sample_dir;
    if (replay_path.empty()) {
        // The sample activity is dated 2024-03-04 (data/sample/README.md).
        replay_path = sample_dir + "/activity.jsonl";
        if (business_date.empty()) business_date = "2024-03-04";
    }
    if (batch_records == 0 || batch_records > limits::batch_records_max) {
        fmt::print(stderr, "posd: batch-records must be 1..{}\n", limits::batch_records_max);
        return 2;
    }

    engine::engine_config config;
    if (!business_date.empty()) {
        config.initial_business_date = date::parse(business_date);
        if (!config.initial_business_date) {
            fmt::print(stderr, "posd: business-date '{}' is not YYYY-MM-DD\n", business_date);
            return 2;
        }
    }
    codec::json_decoder decoder;
    engine::reference_data refdata;
    auto loaded = service::load_reference_dir(refdata_dir, decoder, refdata);
    for (auto& p : loaded.problems) fmt::print(stderr, "posd: reference data: {}\n", p);
    fmt::print(stderr, "posd: {} reference records from {}\n", loaded.loaded, refdata_dir);

    if (kafka) {
        kafka_options.replay_file = replay_path;
        kafka_options.batch_records = batch_records;
        kafka_options.quiet = quiet;
        try {
            return service::run_kafka(kafka_options, config, refdata);
        } catch (const std::exception& e) {
            fmt::print(stderr, "posd: {}\n", e.what());
            return 1;
        }
    }

    try {
        auto r = service::replay_file(replay_path, config, refdata, service::topic_names{}, batch_records,
                                      quiet ? nullptr : stdout);
        fmt::print(stderr,
                   "posd: replayed {}: records_in={} applied={} duplicates={} rejected={} (END_OF_DAY {})\n",
                   replay_path, r.counts.records_in, r.counts.applied, r.counts.duplicates, r.counts.rejected,
                   r.counts.controls);
        for (auto& [topic, n] : r.outputs_by_topic) fmt::print(stderr, "posd:   {} {}\n", topic, n);
        for (auto& [reason, n] : r.rejected_by_reason) fmt::print(stderr, "posd:   rejected {} {}\n", reason, n);
        return r.counts.records_in == r.counts.applied + r.counts.duplicates + r.counts.rejected ? 0 : 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "posd: {}\n", e.what());
        return 1;
    }
}
