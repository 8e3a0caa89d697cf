// posctl: the command-line tool beside posd (README.md). This file only
// parses arguments; produce, tail and query live in posd::posctl.
//
// Exit codes: 0 success; 1 failure (Kafka, file, an HTTP answer other than
// 2xx, tail --count not reached); 2 usage errors and, for query, no HTTP
// answer at all (connection refused, timeout).

#include "posctl/produce.h"
#include "posctl/query.h"
#include "posctl/tail.h"

#include "outputs/topics.h"
#include "ops/log.h"
#include "stream/admin.h"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace po = boost::program_options;
using namespace posd;

namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

std::atomic<bool> stop_requested{false};
extern "C" void posctl_on_signal(int) { stop_requested.store(true); }

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr const char* usage = R"(usage:
  posctl produce --bootstrap-servers HOST:PORT [--topic activity]
                 (--file FILE | --generate N [--seed S] [--accounts A] [--rate R] ...)
  posctl tail    --bootstrap-servers HOST:PORT --topic TOPIC [--from-beginning]
                 [--count N] [--timeout-ms M] [--read-uncommitted]
  posctl query   --http HOST:PORT (PATH | --position KEY | --account-positions KEY | --balance KEY)
  posctl refdata --out DIR [--seed S] [--cusips C]   (the reference data of produce --generate)
  posctl create-topics --bootstrap-servers HOST:PORT [--partitions 8] [--replication-factor 3]
                 (posd's topics with its default names; changelog and reference topics compacted)
Any librdkafka property passes through as --kafka.PROPERTY=VALUE (produce, tail, create-topics).
`posctl COMMAND --help` lists a command's options.
)";

po::options_description kafka_options(std::string& bootstrap) {
    po::options_description d("Kafka");
    d.add_options()
        ("bootstrap-servers", po::value(&bootstrap), "brokers, HOST:PORT[,...] (posd --kafka prints bootstrap.servers=...)");
    return d;
}

// Parses `args` against `desc`; --kafka.KEY=VALUE options are collected
// into `kafka` (when given) instead of being refused. Returns true when
// --help was asked for.
bool parse(const std::vector<std::string>& args, const po::options_description& desc,
           const po::positional_options_description& positional, std::map<std::string, std::string>* kafka,
           po::variables_map& vm) {
    po::parsed_options parsed = po::command_line_parser(args)
                                    .options(desc)
                                    .positional(positional)
                                    .style(po::command_line_style::default_style &
                                           ~po::command_line_style::allow_guessing)
                                    .allow_unregistered()
                                    .run();
    for (const po::option& o : parsed.options) {
        if (!o.unregistered) continue;
        if (kafka && o.string_key.starts_with("kafka.") && o.string_key.size() > 6) {
            if (o.value.size() != 1 || o.value.front().empty())
                throw usage_error(fmt::format("--{} needs a value: write --{}=VALUE", o.string_key, o.string_key));
            (*kafka)[o.string_key.substr(6)] = o.value.front();
            continue;
        }
        const std::string token = o.original_tokens.empty() ? o.string_key : o.original_tokens.front();
        throw usage_error(fmt::format("unknown option {}", token));
    }
    po::store(parsed, vm);
    po::notify(vm);
    return vm.count("help") > 0;
}

int produce(const std::vector<std::string>& args) {
    posctl::produce_options o;
    std::string bootstrap;
    po::options_description d("posctl produce");
    d.add_options()("help,h", "show this help");
    d.add(kafka_options(bootstrap));
    po::options_description s("Source and pacing");
    s.add_options()
        ("topic", po::value(&o.topic)->default_value(o.topic), "topic to write")
        ("file", po::value(&o.file), "JSON-lines activity file (posd's own replay rules)")
        ("generate", po::value(&o.generate), "generate N records with libs/workload")
        ("seed", po::value(&o.seed)->default_value(o.seed), "--generate: seed (default: the sample's, whose reference data posd loads by default)")
        ("accounts", po::value(&o.accounts)->default_value(o.accounts), "--generate: number of accounts")
        ("cusips", po::value(&o.cusips)->default_value(o.cusips), "--generate: number of securities (>= 50)")
        ("end-of-day-every", po::value(&o.end_of_day_every)->default_value(0), "--generate: an END_OF_DAY after every N records (0: none)")
        ("protobuf-per-mille", po::value(&o.protobuf_per_mille)->default_value(0), "--generate: share of activities sent as protobuf")
        ("rate", po::value(&o.rate)->default_value(0), "--generate: records per second (0: as fast as possible)");
    d.add(s);
    po::variables_map vm;
    if (parse(args, d, {}, &o.kafka, vm)) {
        std::cout << d << "\n";
        return 0;
    }
    if (!bootstrap.empty()) o.kafka["bootstrap.servers"] = bootstrap;
    try {
        posctl::check_produce_options(o);
    } catch (const std::invalid_argument& e) {
        throw usage_error(e.what());
    }
    const posctl::produce_result r = posctl::produce(o, &stop_requested);
    if (o.generate > 0)
        fmt::print(stderr,
                   "posctl: {} generated records ({} END_OF_DAY, replays included, each to all {} partitions) "
                   "to {}{}\n",
                   r.records, r.end_of_days, r.partitions, o.topic, r.stopped ? " (interrupted)" : "");
    fmt::print(stderr, "{}\n", posctl::rate_summary(r));
    return r.stopped ? exit_failure : 0;
}

int refdata(const std::vector<std::string>& args) {
    posctl::produce_options o;
    std::string dir;
    po::options_description d("posctl refdata");
    d.add_options()
        ("help,h", "show this help")
        ("out", po::value(&dir), "directory to write (created if missing)")
        ("seed", po::value(&o.seed)->default_value(o.seed), "the seed given to produce --generate")
        ("cusips", po::value(&o.cusips)->default_value(o.cusips), "the cusip count given to produce --generate");
    po::variables_map vm;
    if (parse(args, d, {}, nullptr, vm)) {
        std::cout << d << "\n";
        return 0;
    }
    if (dir.empty()) throw usage_error("--out DIR is required");
    workload::reference_set ref;
    try {
        ref = posctl::generator_reference(o);
    } catch (const std::invalid_argument& e) {
        throw usage_error(e.what());
    }
    posctl::write_reference_files(ref, dir);
    fmt::print(stderr, "posctl: reference data of seed {} written to {} (posd --refdata.dir={})\n", o.seed, dir, dir);
    return 0;
}

int create_topics(const std::vector<std::string>& args) {
    std::map<std::string, std::string> kafka;
    std::string bootstrap;
    int partitions = 8, replication = 3;
    po::options_description d("posctl create-topics");
    d.add_options()("help,h", "show this help");
    d.add(kafka_options(bootstrap));
    po::options_description t("Topics");
    t.add_options()
        ("partitions", po::value(&partitions)->default_value(partitions), "partitions of every topic")
        ("replication-factor", po::value(&replication)->default_value(replication), "replicas of every partition");
    d.add(t);
    po::variables_map vm;
    if (parse(args, d, {}, &kafka, vm)) {
        std::cout << d << "\n";
        return 0;
    }
    if (!bootstrap.empty()) kafka["bootstrap.servers"] = bootstrap;
    if (kafka["bootstrap.servers"].empty()) throw usage_error("--bootstrap-servers is required");
    if (partitions < 1 || replication < 1) throw usage_error("--partitions and --replication-factor must be >= 1");
    const auto specs = outputs::topic_specs({}, {}, partitions, replication);
    for (const auto& made : stream::create_topics(kafka, specs, std::chrono::seconds(60)))
        fmt::print("{} {}\n", made.name, made.created ? "created" : "exists");
    return 0;
}

int tail(const std::vector<std::string>& args) {
    posctl::tail_options o;
    std::string bootstrap;
    std::int64_t timeout_ms = 0;
    po::options_description d("posctl tail");
    d.add_options()("help,h", "show this help");
    d.add(kafka_options(bootstrap));
    po::options_description t("Reading");
    t.add_options()
        ("topic", po::value(&o.topic), "topic to read (position.updated, market-value, margin.updated, activity.dlq...)")
        ("from-beginning", po::bool_switch(&o.from_beginning), "start at the oldest message (default: only new ones)")
        ("count", po::value(&o.count)->default_value(0), "exit after N messages (0: no limit)")
        ("timeout-ms", po::value(&timeout_ms)->default_value(0), "exit after M ms without a message (0: never)")
        ("read-uncommitted", po::bool_switch(&o.read_uncommitted), "also show messages of open or aborted transactions");
    d.add(t);
    po::variables_map vm;
    if (parse(args, d, {}, &o.kafka, vm)) {
        std::cout << d << "\n";
        return 0;
    }
    if (!bootstrap.empty()) o.kafka["bootstrap.servers"] = bootstrap;
    if (o.kafka["bootstrap.servers"].empty()) throw usage_error("--bootstrap-servers is required");
    if (o.topic.empty()) throw usage_error("--topic is required");
    if (timeout_ms < 0) throw usage_error("--timeout-ms must be >= 0");
    o.timeout = std::chrono::milliseconds(timeout_ms);
    // One message per line, as soon as it arrives (tail | grep).
    std::setvbuf(stdout, nullptr, _IOLBF, 1 << 16);
    const posctl::tail_result r = posctl::tail(
        o,
        [](const posctl::tail_message& m) {
            const std::string line = posctl::format_line(m);
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fputc('\n', stdout);
        },
        &stop_requested);
    std::fflush(stdout);
    if (o.count > 0 && !r.count_reached && !stop_requested.load()) {
        fmt::print(stderr, "posctl: {} of {} messages before {} ms of silence\n", r.messages, o.count, timeout_ms);
        return exit_failure;
    }
    return 0;
}

int query(const std::vector<std::string>& args) {
    std::string server, path, position, account_positions, balance, market_values;
    std::int64_t timeout_ms = 10'000;
    po::options_description d("posctl query");
    d.add_options()
        ("help,h", "show this help")
        ("http", po::value(&server), "posd's HTTP address HOST:PORT (posd prints http=...)")
        ("path", po::value(&path), "a path as typed: /healthz, /readyz, /metrics, /positions/KEY... ('|' is encoded)")
        ("position", po::value(&position), "GET /positions/{KEY}, KEY = firm|ledger|branch|base|subAcctKey|cusip")
        ("account-positions", po::value(&account_positions), "GET /accounts/{KEY}/positions, KEY = firm|ledger|branch|base")
        ("balance", po::value(&balance), "GET /accounts/{KEY}/balance")
        ("market-values", po::value(&market_values), "GET /accounts/{KEY}/market-values")
        ("timeout-ms", po::value(&timeout_ms)->default_value(timeout_ms), "give up after M ms");
    po::positional_options_description pos;
    pos.add("path", 1);
    po::variables_map vm;
    if (parse(args, d, pos, nullptr, vm)) {
        std::cout << d << "\n";
        return 0;
    }
    const auto ep = posctl::parse_endpoint(server);
    if (!ep)
        throw usage_error(server.empty() ? "--http HOST:PORT is required" : "--http wants HOST:PORT, not " + server);
    if (timeout_ms <= 0) throw usage_error("--timeout-ms must be > 0");
    const int targets = int{!path.empty()} + int{!position.empty()} + int{!account_positions.empty()} +
                        int{!balance.empty()} + int{!market_values.empty()};
    if (targets != 1)
        throw usage_error("give one of PATH, --position, --account-positions, --balance, --market-values");
    const std::string target = !position.empty()            ? posctl::position_path(position)
                               : !account_positions.empty() ? posctl::account_positions_path(account_positions)
                               : !balance.empty()           ? posctl::account_balance_path(balance)
                               : !market_values.empty()     ? posctl::account_market_values_path(market_values)
                                                            : posctl::normalize_target(path);
    const posctl::http_answer a = posctl::http_get(*ep, target, std::chrono::milliseconds(timeout_ms));
    if (!a.answered) {
        fmt::print(stderr, "posctl: {}\n", a.error);
        return posctl::query_exit_code(a);
    }
    std::fwrite(a.body.data(), 1, a.body.size(), stdout);
    if (!a.body.empty() && a.body.back() != '\n') std::fputc('\n', stdout);
    if (posctl::query_exit_code(a) != 0) fmt::print(stderr, "posctl: HTTP {} for {}\n", a.status, target);
    return posctl::query_exit_code(a);
}

} // namespace

int main(int argc, char** argv) {
    // librdkafka's own lines come through posd's log (libs/stream): on
    // stderr, never mixed into tail's output on stdout.
    posd::ops::init_logging(posd::ops::log_level::warn, posd::ops::log_format::text);
    if (argc < 2) {
        std::fputs(usage, stderr);
        return exit_usage;
    }
    const std::string command = argv[1];
    if (command == "--help" || command == "-h" || command == "help") {
        std::fputs(usage, stdout);
        return 0;
    }
    std::signal(SIGINT, posctl_on_signal);
    std::signal(SIGTERM, posctl_on_signal);
    const std::vector<std::string> args(argv + 2, argv + argc);
    try {
        if (command == "produce") return produce(args);
        if (command == "tail") return tail(args);
        if (command == "query") return query(args);
        if (command == "refdata") return refdata(args);
        if (command == "create-topics") return create_topics(args);
        fmt::print(stderr, "posctl: unknown command '{}'\n{}", command, usage);
        return exit_usage;
    } catch (const usage_error& e) {
        fmt::print(stderr, "posctl {}: {}\n", command, e.what());
        return exit_usage;
    } catch (const po::error& e) {
        fmt::print(stderr, "posctl {}: {}\n", command, e.what());
        return exit_usage;
    } catch (const std::exception& e) {
        fmt::print(stderr, "posctl {}: {}\n", command, e.what());
        return exit_failure;
    }
}
