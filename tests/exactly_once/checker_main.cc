// eos_checker: the exactly-once checker of issue 4 (checker.h). This file
// only parses arguments and prints; the checks live in posd::eos_checker.
//
//   eos_checker --bootstrap-servers HOST:PORT --schedule FILE [--faults N]
//               [--scenario NAME] [--timeout-s 120] [--kafka.PROPERTY=VALUE ...]
//
// Prints the first violations (one a line, "violation[check]: ...") and the
// summary line on stdout, notes on stderr. Exit codes: 0 no violation,
// 1 violations, 2 the checker could not run (usage, schedule, Kafka).

#include "checker.h"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace po = boost::program_options;
using namespace posd;

int main(int argc, char** argv) {
    std::string bootstrap, schedule_path, scenario = "manual";
    std::uint64_t faults = 0;
    std::int64_t timeout_s = 120;
    po::options_description desc("eos_checker --bootstrap-servers HOST:PORT --schedule FILE [options]");
    desc.add_options()("help", "this text")("bootstrap-servers", po::value(&bootstrap), "brokers, HOST:PORT[,...]")(
        "schedule", po::value(&schedule_path), "the run's schedule file (tests/exactly_once/checker.h)")(
        "faults", po::value(&faults), "faults injected, for the summary line")(
        "scenario", po::value(&scenario), "scenario name, for the summary line")(
        "timeout-s", po::value(&timeout_s), "at most this long to read the topics (default 120)");
    eos::read_options ro;
    try {
        po::variables_map vm;
        const po::parsed_options parsed = po::command_line_parser(argc, argv)
                                              .options(desc)
                                              .style(po::command_line_style::default_style &
                                                     ~po::command_line_style::allow_guessing)
                                              .allow_unregistered()
                                              .run();
        for (const po::option& o : parsed.options) {
            if (!o.unregistered) continue;
            if (!o.string_key.starts_with("kafka.") || o.string_key.size() <= 6 || o.value.size() != 1)
                throw po::error(fmt::format("unknown option {} (librdkafka properties: --kafka.PROPERTY=VALUE)",
                                            o.string_key));
            ro.kafka[o.string_key.substr(6)] = o.value.front();
        }
        po::store(parsed, vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << desc << "Any librdkafka property passes through as --kafka.PROPERTY=VALUE.\n";
            return 0;
        }
        if (bootstrap.empty() || schedule_path.empty()) throw po::error("--bootstrap-servers and --schedule are required");
        if (timeout_s <= 0) throw po::error("--timeout-s must be positive");
    } catch (const po::error& e) {
        std::fprintf(stderr, "eos_checker: %s\n", e.what());
        return 2;
    }

    try {
        const eos::schedule plan = eos::read_schedule(schedule_path);
        ro.kafka["bootstrap.servers"] = bootstrap;
        ro.timeout = std::chrono::seconds(timeout_s);
        const auto t0 = std::chrono::steady_clock::now();
        const eos::captured in = eos::read_topics(ro);
        const auto t1 = std::chrono::steady_clock::now();
        eos::verify_options vo;
        vo.activity_topic = ro.topics.activity;
        const eos::report r = eos::verify(in, plan, vo);
        const auto t2 = std::chrono::steady_clock::now();
        for (const std::string& n : r.notes) fmt::print(stderr, "eos_checker: note: {}\n", n);
        fmt::print(stderr, "eos_checker: read {:.1f} s, checked {:.1f} s\n",
                   std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count());
        for (const eos::violation& v : r.violations) fmt::print("violation[{}]: {}\n", v.check, v.detail);
        if (r.violation_count > r.violations.size())
            fmt::print("... and {} more violations\n", r.violation_count - r.violations.size());
        fmt::print("{}\n", eos::summary_line(r, scenario, faults));
        std::fflush(stdout);
        return r.violation_count == 0 ? 0 : 1;
    } catch (const std::exception& e) { // checker_error, or Kafka / allocation failures
        std::fprintf(stderr, "eos_checker: %s\n", e.what());
        return 2;
    }
}
