#include "ops/config.h"

#include "base/limits.h"

#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

extern char** environ;

namespace posd::ops {

namespace po = boost::program_options;

namespace {

constexpr std::string_view env_prefix = "POSD_";
constexpr std::string_view kafka_prefix = "kafka.";
// The key that names the config file; it has no place in the file itself.
constexpr std::string_view config_key = "config";

constexpr std::array<std::string_view, 5> log_level_words = {"trace", "debug", "info", "warn", "error"};
constexpr std::array<std::string_view, 2> log_format_words = {"json", "text"};
constexpr std::array<std::string_view, 2> mode_words = {"service", "replay"};
constexpr std::array<std::string_view, 2> yes_no_words = {"no", "yes"};
constexpr std::array<std::string_view, 2> input_gap_words = {"stop", "skip"};

// A value checked against its row: the text, and the number or date it holds.
struct parsed_value {
    std::string text;
    std::uint64_t number = 0;
    std::optional<date> day;
};

using setter = void (*)(config&, const parsed_value&);

struct setting_row {
    setting_spec spec;
    setter set;
};

// The fields every row has; the kind-specific ones are set by its maker.
setting_spec spec_of(std::string_view key, std::string_view def, setting_kind kind, std::string_view desc) {
    setting_spec s;
    s.key = key;
    s.default_value = def;
    s.kind = kind;
    s.description = desc;
    return s;
}

setting_row typed_row(std::string_view key, std::string_view def, setting_kind kind, std::string_view desc,
                      setter set, bool allow_empty) {
    setting_spec s = spec_of(key, def, kind, desc);
    s.allow_empty = allow_empty;
    return {s, set};
}

setting_row text_row(std::string_view key, std::string_view def, std::string_view desc, setter set,
                     bool allow_empty = false) {
    return typed_row(key, def, setting_kind::text, desc, set, allow_empty);
}

setting_row count_row(std::string_view key, std::string_view def, std::uint64_t min, std::uint64_t max,
                      std::string_view desc, setter set) {
    setting_spec s = spec_of(key, def, setting_kind::count, desc);
    s.min_value = min;
    s.max_value = max;
    return {s, set};
}

setting_row choice_row(std::string_view key, std::string_view def, std::span<const std::string_view> choices,
                       std::string_view desc, setter set) {
    setting_spec s = spec_of(key, def, setting_kind::choice, desc);
    s.choices = choices;
    return {s, set};
}

template <typename E, std::size_t N>
E enum_from_word(const std::array<std::string_view, N>& words, std::string_view word) {
    auto it = std::find(words.begin(), words.end(), word);
    return static_cast<E>(it - words.begin());
}

// The table. Order is the order of --help and of the example file.
const std::vector<setting_row>& rows() {
    static const std::vector<setting_row> table = {
        choice_row("mode", "service", mode_words,
                   "service: Kafka and RocksDB (the embedded cluster when kafka.bootstrap.servers is unset); "
                   "replay: replay.file through the engine in memory, events on stdout",
                   [](config& c, const parsed_value& v) { c.run_mode = enum_from_word<mode>(mode_words, v.text); }),
        text_row("topics.activity", "activity", "input topic: activity records and END_OF_DAY control records",
                 [](config& c, const parsed_value& v) { c.topics.activity = v.text; }),
        text_row("topics.position-updated", "position.updated", "output topic: full position after each change",
                 [](config& c, const parsed_value& v) { c.topics.position_updated = v.text; }),
        text_row("topics.market-value", "market-value", "output topic: market value of each changed position",
                 [](config& c, const parsed_value& v) { c.topics.market_value = v.text; }),
        text_row("topics.margin-updated", "margin.updated", "output topic: account margin balances and margin calls",
                 [](config& c, const parsed_value& v) { c.topics.margin_updated = v.text; }),
        text_row("topics.dlq", "activity.dlq", "output topic: rejected records with their reason (dead letters)",
                 [](config& c, const parsed_value& v) { c.topics.dead_letter = v.text; }),
        text_row("topics.changelog", "posd.changelog", "internal compacted topic: state changelog for restore",
                 [](config& c, const parsed_value& v) { c.topics.changelog = v.text; }),
        text_row("topics.refdata.bookkeeping-rules", "refdata.bookkeeping-rules",
                 "reference topic (compacted): bookkeeping rules by maxxKeyCode",
                 [](config& c, const parsed_value& v) { c.topics.refdata_bookkeeping_rules = v.text; }),
        text_row("topics.refdata.products", "refdata.products",
                 "reference topic (compacted): product definitions by prodline",
                 [](config& c, const parsed_value& v) { c.topics.refdata_products = v.text; }),
        text_row("topics.refdata.securities", "refdata.securities",
                 "reference topic (compacted): security master by cusip",
                 [](config& c, const parsed_value& v) { c.topics.refdata_securities = v.text; }),
        text_row("topics.refdata.margin-rules", "refdata.margin-rules",
                 "reference topic (compacted): margin rule configuration",
                 [](config& c, const parsed_value& v) { c.topics.refdata_margin_rules = v.text; }),
        text_row("topics.prices", "prices", "reference topic (compacted): prices by cusip",
                 [](config& c, const parsed_value& v) { c.topics.prices = v.text; }),
        text_row("topics.fx-rates", "fx-rates",
                 "reference topic (compacted): FX rates into the base currency by CCY/BASE (e.g. JPY/USD)",
                 [](config& c, const parsed_value& v) { c.topics.fx_rates = v.text; }),
        text_row("group.id", "posd", "Kafka consumer group of the posd instances",
                 [](config& c, const parsed_value& v) { c.group_id = v.text; }),
        text_row("instance.id", "",
                 "this instance's stable name (transactional id, static membership); empty: the host name",
                 [](config& c, const parsed_value& v) { c.instance_id = v.text; }, true),
        text_row("state.dir", "./posd-state",
                 "directory of the RocksDB state (the embedded cluster uses a temporary one, removed at exit)",
                 [](config& c, const parsed_value& v) { c.state_dir = v.text; }),
        count_row("state.block-cache-mb", "64", 1, 1024 * 1024, "RocksDB block cache size, MiB",
                  [](config& c, const parsed_value& v) { c.state_block_cache_mb = v.number; }),
        count_row("state.write-buffer-mb", "16", 1, 64 * 1024, "RocksDB write buffer (memtable) size, MiB",
                  [](config& c, const parsed_value& v) { c.state_write_buffer_mb = v.number; }),
        count_row("batch.max-records", "2000", 1, limits::batch_records_max,
                  "most records applied and committed in one flush cycle (one transaction, over all partitions)",
                  [](config& c, const parsed_value& v) { c.batch_records_max = v.number; }),
        count_row("batch.max-wait-ms", "0", 0, 60'000,
                  "longest the first record of a flush cycle waits for more once the input is idle, ms "
                  "(0: commit as soon as what was consumed is applied)",
                  [](config& c, const parsed_value& v) { c.batch_wait_max_ms = v.number; }),
        count_row("revalue.coalesce-ms", "200", 0, 3'600'000,
                  "price changes to one security within this window revalue its positions once, ms",
                  [](config& c, const parsed_value& v) { c.revalue_coalesce_ms = v.number; }),
        choice_row("input.gap", "stop", input_gap_words,
                   "when activity offsets not yet applied are gone from the log (retention): stop the partition "
                   "(it applies nothing more; readyz fails) or skip to the log start; both log and count the gap",
                   [](config& c, const parsed_value& v) { c.input_gap_skip = v.text == "skip"; }),
        typed_row("http.address", "127.0.0.1", setting_kind::ip_address,
                  "IP address the HTTP server binds (0.0.0.0 or :: for every interface)",
                  [](config& c, const parsed_value& v) { c.http_address = v.text; }, false),
        count_row("http.port", "8080", 0, 65'535, "HTTP port for /healthz, /readyz, /metrics, queries; 0: any free port",
                  [](config& c, const parsed_value& v) { c.http_port = static_cast<std::uint16_t>(v.number); }),
        typed_row("http.advertised-address", "", setting_kind::host_port,
                  "HOST:PORT other instances forward queries to (like Kafka Streams' application.server); "
                  "empty: http.address and the bound port, or the host name when bound to every interface",
                  [](config& c, const parsed_value& v) { c.http_advertised_address = v.text; }, true),
        choice_row("log.level", "info", log_level_words, "lowest level logged",
                   [](config& c, const parsed_value& v) {
                       c.log_threshold = enum_from_word<log_level>(log_level_words, v.text);
                   }),
        choice_row("log.format", "json", log_format_words, "log lines as JSON objects or as text, on stderr",
                   [](config& c, const parsed_value& v) {
                       c.log_style = enum_from_word<log_format>(log_format_words, v.text);
                   }),
        count_row("embedded.partitions", "4", 1, 1024,
                  "partitions per topic of the embedded Kafka-protocol cluster (no kafka.bootstrap.servers)",
                  [](config& c, const parsed_value& v) { c.embedded_partitions = v.number; }),
        text_row("refdata.dir", "",
                 "reference data files (one JSON-lines file per kind) produced to the reference topics at start; "
                 "empty: the sample data with the embedded cluster or in replay mode, none with brokers",
                 [](config& c, const parsed_value& v) { c.refdata_dir = v.text; }, true),
        text_row("replay.file", "",
                 "JSON-lines activity file produced to the activity topic at start (replay mode: applied in "
                 "memory); empty: the sample activity with the embedded cluster or in replay mode, none with brokers",
                 [](config& c, const parsed_value& v) { c.replay_file = v.text; }, true),
        choice_row("replay.print-events", "yes", yes_no_words, "replay mode: print every output event on stdout",
                   [](config& c, const parsed_value& v) { c.replay_print_events = v.text == "yes"; }),
        choice_row("exit-when-done", "no", yes_no_words,
                   "service mode: exit once every record of replay.file is applied, skipped or rejected",
                   [](config& c, const parsed_value& v) { c.exit_when_done = v.text == "yes"; }),
        typed_row("business-date", "", setting_kind::date,
                  "initial business date YYYY-MM-DD for partitions with none; empty: today (UTC)",
                  [](config& c, const parsed_value& v) { c.business_date = v.day; }, true),
        count_row("end-of-day.max-days-ahead", "31", 0, date::days_max - date::days_min,
                  "an END_OF_DAY for a date more than this many days after the partition's business date is "
                  "rejected DATE_OUT_OF_RANGE",
                  [](config& c, const parsed_value& v) {
                      c.end_of_day_max_days_ahead = static_cast<std::int32_t>(v.number);
                  }),
        count_row("applied-ids.retained", "1000000", 1, 100'000'000,
                  "activity ids remembered per partition to skip duplicates",
                  [](config& c, const parsed_value& v) { c.applied_ids_retained = v.number; }),
        typed_row("base-currency", "USD", setting_kind::currency,
                  "base currency of accounts created from now on (ISO 4217): margin is computed in it, other "
                  "currencies' cash is converted into it through the fx-rates topic; security prices are in it",
                  [](config& c, const parsed_value& v) { c.base_currency = v.text; }, false),
    };
    return table;
}

const std::vector<setting_spec>& spec_table() {
    static const std::vector<setting_spec> specs = [] {
        std::vector<setting_spec> out;
        for (auto& r : rows()) out.push_back(r.spec);
        return out;
    }();
    return specs;
}

const setting_row* find_row(std::string_view key) {
    for (auto& r : rows())
        if (r.spec.key == key) return &r;
    return nullptr;
}

setting_origin origin_of(setting_origin::source from, std::string where) {
    setting_origin o;
    o.from = from;
    o.where = std::move(where);
    return o;
}

std::string join_choices(std::span<const std::string_view> choices) {
    std::string out;
    for (auto c : choices) {
        if (!out.empty()) out += '|';
        out += c;
    }
    return out;
}

// Checks `text` against the row; throws config_error naming key and origin.
parsed_value check_value(const setting_spec& spec, const std::string& text, const setting_origin& origin) {
    parsed_value v;
    v.text = text;
    std::string key(spec.key);
    if (text.empty()) {
        if (spec.allow_empty) return v;
        throw config_error(key, origin, "must not be empty");
    }
    switch (spec.kind) {
    case setting_kind::text:
        return v;
    case setting_kind::count: {
        std::uint64_t n = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec == std::errc::result_out_of_range)
            throw config_error(key, origin,
                               fmt::format("'{}' is out of range {}..{}", text, spec.min_value, spec.max_value));
        if (ec != std::errc{} || end != text.data() + text.size())
            throw config_error(key, origin, fmt::format("'{}' is not a whole number", text));
        if (n < spec.min_value || n > spec.max_value)
            throw config_error(key, origin,
                               fmt::format("{} is out of range {}..{}", n, spec.min_value, spec.max_value));
        v.number = n;
        return v;
    }
    case setting_kind::choice:
        if (std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end())
            throw config_error(key, origin,
                               fmt::format("'{}' is not one of {}", text, join_choices(spec.choices)));
        return v;
    case setting_kind::date:
        v.day = date::parse(text);
        if (!v.day) throw config_error(key, origin, fmt::format("'{}' is not a date YYYY-MM-DD", text));
        return v;
    case setting_kind::currency:
        if (text.size() != 3 || !std::all_of(text.begin(), text.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; }))
            throw config_error(key, origin, fmt::format("'{}' is not a currency code (3 letters A-Z)", text));
        return v;
    case setting_kind::ip_address: {
        boost::system::error_code ec;
        (void)boost::asio::ip::make_address(text, ec);
        if (ec) throw config_error(key, origin, fmt::format("'{}' is not an IP address", text));
        return v;
    }
    case setting_kind::host_port: {
        // The host is a name or an address ([...] around IPv6); the port is
        // what the HTTP server listens on, so never 0.
        const auto colon = text.rfind(':');
        const std::string_view host = std::string_view(text).substr(0, colon == std::string::npos ? 0 : colon);
        const std::string_view port = colon == std::string::npos ? std::string_view() : std::string_view(text).substr(colon + 1);
        std::uint32_t n = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        const bool bracketed_ok = host.empty() || host.front() != '[' || (host.size() > 2 && host.back() == ']');
        const bool bare_ipv6 = host.find(':') != std::string_view::npos && host.front() != '[';
        if (host.empty() || !bracketed_ok || bare_ipv6 || port.empty() || ec != std::errc{} ||
            end != port.data() + port.size() || n < 1 || n > 65'535 ||
            host.find_first_of(" /?#@") != std::string_view::npos)
            throw config_error(key, origin, fmt::format("'{}' is not HOST:PORT (port 1..65535)", text));
        return v;
    }
    }
    throw config_error(key, origin, "unknown setting kind");
}

// librdkafka property names are lower-case words joined by '.', some with
// '_' or '-'; anything else (a space, an empty name) is a typo.
bool valid_kafka_property(std::string_view name) {
    if (name.empty() || name.front() == '.' || name.back() == '.') return false;
    return std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
    });
}

// A value from the command line or the environment, waiting for its turn.
struct pending_value {
    std::string key;
    std::string text;
    setting_origin origin;
};

// The values gathered so far, lowest precedence first; later sources
// overwrite earlier ones key by key.
struct gathered {
    std::map<std::string, std::pair<parsed_value, setting_origin>> table;
    std::map<std::string, config::sourced_value> kafka; // full key "kafka.x"
};

std::string unknown_key_message(std::string_view key) {
    // A near miss ('-' written as '.') gets a hint.
    for (auto& r : rows()) {
        std::string dotted(r.spec.key);
        std::replace(dotted.begin(), dotted.end(), '-', '.');
        if (dotted == key && r.spec.key != key) return fmt::format("unknown setting (did you mean {}?)", r.spec.key);
    }
    return "unknown setting (see --help; only kafka.* keys pass through)";
}

void put(gathered& g, const std::string& key, const std::string& text, const setting_origin& origin) {
    if (key.starts_with(kafka_prefix)) {
        if (!valid_kafka_property(std::string_view(key).substr(kafka_prefix.size())))
            throw config_error(key, origin, "is not a valid librdkafka property name");
        g.kafka[key] = config::sourced_value{text, origin};
        return;
    }
    const setting_row* row = find_row(key);
    if (!row) throw config_error(key, origin, unknown_key_message(key));
    g.table[key] = {check_value(row->spec, text, origin), origin};
}

po::options_description command_line_options() {
    po::options_description desc;
    desc.add_options()("help,h", "show this help and exit");
    desc.add_options()(std::string(config_key).c_str(), po::value<std::string>()->value_name("FILE"),
                       "config file to read (env POSD_CONFIG)");
    for (auto& r : rows()) {
        std::string key(r.spec.key);
        desc.add_options()(key.c_str(), po::value<std::string>()->value_name("VALUE"), "");
    }
    desc.add_options()("kafka.*", po::value<std::string>()->value_name("VALUE"), "");
    return desc;
}

std::string trim_ws(std::string_view s) {
    // The same characters Boost.ProgramOptions' config file parser trims.
    auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    auto last = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(first, last - first + 1));
}

// Reads the config file with Boost.ProgramOptions and pairs each option with
// its line. The parser turns every line that is not blank, a comment or a
// `[section]` into exactly one option, in order, so the n-th such line is the
// n-th option; lines it would reject, and the `[]` it mishandles, are
// reported here first so that the message can carry the line number.
void read_config_file(gathered& g, const std::string& path, const setting_origin& named_by) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw config_error(std::string(config_key), named_by,
                           fmt::format("cannot read config file '{}': {}", path, std::strerror(errno)));
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string content = buffer.str();

    std::vector<std::size_t> option_lines;
    {
        std::istringstream lines(content);
        std::string line;
        std::size_t number = 0;
        while (std::getline(lines, line)) {
            ++number;
            if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
            std::string s = trim_ws(line);
            if (s.empty()) continue;
            auto where = origin_of(setting_origin::source::file, fmt::format("{}:{}", path, number));
            if (s.front() == '[' && s.back() == ']') {
                if (trim_ws(std::string_view(s).substr(1, s.size() - 2)).empty())
                    throw config_error("", where, "empty [section] name");
                continue;
            }
            if (s.find('=') == std::string::npos)
                throw config_error("", where, fmt::format("expected 'key = value', found '{}'", s));
            option_lines.push_back(number);
        }
    }

    po::parsed_options parsed(nullptr);
    try {
        std::istringstream stream(content);
        parsed = po::parse_config_file(stream, po::options_description(), /*allow_unregistered=*/true);
    } catch (const po::error& e) {
        throw config_error("", origin_of(setting_origin::source::file, path), e.what());
    }
    if (parsed.options.size() != option_lines.size())
        throw config_error("", origin_of(setting_origin::source::file, path),
                           fmt::format("parsed {} settings from {} setting lines (unsupported syntax)",
                                       parsed.options.size(), option_lines.size()));
    for (std::size_t i = 0; i < parsed.options.size(); ++i) {
        auto& opt = parsed.options[i];
        auto where = origin_of(setting_origin::source::file, fmt::format("{}:{}", path, option_lines[i]));
        if (opt.string_key == config_key)
            throw config_error(opt.string_key, where, "the config file cannot name another config file");
        put(g, opt.string_key, opt.value.empty() ? std::string() : opt.value.front(), where);
    }
}

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "posd";
    return buf;
}

bool looks_secret(std::string_view key) {
    for (std::string_view word : {"password", "secret", "key", "token", "credential"})
        if (key.find(word) != std::string_view::npos) return true;
    // librdkafka properties that carry credentials under other names: the
    // OAUTHBEARER configuration (principal, scopes, client secrets) and its
    // SASL extensions.
    for (std::string_view name : {"kafka.sasl.oauthbearer.config", "kafka.sasl.oauthbearer.extensions"})
        if (key == name) return true;
    return false;
}

} // namespace

config_error::config_error(std::string key, setting_origin origin, const std::string& problem)
    : std::runtime_error(key.empty() ? fmt::format("{} (at {})", problem, origin.where)
                                     : fmt::format("{}: {} (set by {})", key, problem, origin.where)),
      key_(std::move(key)), origin_(std::move(origin)) {}

std::span<const setting_spec> settings() { return spec_table(); }

const setting_spec* find_setting(std::string_view key) {
    for (auto& s : spec_table())
        if (s.key == key) return &s;
    return nullptr;
}

std::string environment_name(std::string_view key) {
    std::string out(env_prefix);
    for (char ch : key) {
        if (ch == '.')
            out += '_';
        else if (ch == '-')
            out += "__";
        else
            out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    return out;
}

std::optional<std::string> key_from_environment_name(std::string_view name) {
    if (!name.starts_with(env_prefix)) return std::nullopt;
    name.remove_prefix(env_prefix.size());
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '_') {
            if (i + 1 < name.size() && name[i + 1] == '_') {
                out += '-';
                ++i;
            } else {
                out += '.';
            }
        } else {
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
        }
    }
    return out;
}

std::vector<std::string> process_environment() {
    std::vector<std::string> out;
    for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
    return out;
}

config_sources sources_from_main(int argc, const char* const* argv) {
    config_sources s;
    for (int i = 1; i < argc; ++i) s.arguments.emplace_back(argv[i]);
    s.environment = process_environment();
    return s;
}

load_result load_config(const config_sources& sources) {
    load_result result;
    gathered g;
    for (auto& r : rows()) {
        std::string text(r.spec.default_value);
        g.table[std::string(r.spec.key)] = {check_value(r.spec, text, setting_origin{}), setting_origin{}};
    }

    // Flags first: --help and --config decide what else is read, and a flag
    // that does not parse should be reported before anything else.
    std::vector<pending_value> flags;
    std::optional<pending_value> config_path;
    {
        auto desc = command_line_options();
        po::parsed_options parsed(nullptr);
        try {
            parsed = po::command_line_parser(sources.arguments)
                         .options(desc)
                         .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                         .run();
        } catch (const po::error_with_option_name& e) {
            std::string flag = e.get_option_name();
            if (auto eq = flag.find('='); eq != std::string::npos) flag.erase(eq);
            std::string key = flag;
            while (key.starts_with('-')) key.erase(0, 1);
            std::string problem = dynamic_cast<const po::unknown_option*>(&e) ? unknown_key_message(key) : e.what();
            throw config_error(key, origin_of(setting_origin::source::command_line, flag), problem);
        } catch (const po::error& e) {
            throw config_error("", origin_of(setting_origin::source::command_line, "the command line"), e.what());
        }
        for (auto& opt : parsed.options)
            if (opt.string_key == "help") result.help_requested = true;
        if (result.help_requested) {
            for (auto& r : rows()) r.set(result.settings, g.table.at(std::string(r.spec.key)).first);
            return result;
        }
        for (auto& opt : parsed.options) {
            if (opt.position_key >= 0) {
                std::string arg = opt.original_tokens.empty() ? std::string() : opt.original_tokens.front();
                throw config_error("", origin_of(setting_origin::source::command_line, fmt::format("'{}'", arg)),
                                   "unexpected argument (settings are --key value or --key=value)");
            }
            pending_value v{opt.string_key, opt.value.empty() ? std::string() : opt.value.front(),
                            origin_of(setting_origin::source::command_line, "--" + opt.string_key)};
            if (opt.string_key == config_key)
                config_path = std::move(v);
            else
                flags.push_back(std::move(v));
        }
    }

    // The environment, read before the file is opened (POSD_CONFIG may name
    // it) but applied after it.
    std::vector<pending_value> from_environment;
    for (auto& entry : sources.environment) {
        auto eq = entry.find('=');
        if (eq == std::string::npos) continue;
        std::string name = entry.substr(0, eq);
        auto key = key_from_environment_name(name);
        if (!key) continue;
        auto where = origin_of(setting_origin::source::environment, name);
        std::string value = entry.substr(eq + 1);
        if (*key == config_key) {
            if (!config_path) config_path = pending_value{*key, std::move(value), std::move(where)};
            continue;
        }
        if (!key->starts_with(kafka_prefix)) {
            // Table keys: the name must be exactly the one the rule gives
            // (upper case), and must name a key at all.
            if (!find_row(*key))
                throw config_error(*key, where,
                                   unknown_key_message(*key) +
                                       "; a Kubernetes Service named posd* injects POSD_* service-link "
                                       "variables: set enableServiceLinks: false in the pod spec");
            if (environment_name(*key) != name)
                throw config_error(*key, where,
                                   fmt::format("unknown variable; the setting is read from {}", environment_name(*key)));
        }
        from_environment.push_back(pending_value{*key, std::move(value), std::move(where)});
    }
    if (config_path) {
        if (config_path->text.empty())
            throw config_error(std::string(config_key), config_path->origin, "must not be empty");
        read_config_file(g, config_path->text, config_path->origin);
        result.settings.config_file = config_path->text;
    }
    for (auto& v : from_environment) put(g, v.key, v.text, v.origin);
    for (auto& v : flags) put(g, v.key, v.text, v.origin);

    auto& cfg = result.settings;
    for (auto& r : rows()) {
        std::string key(r.spec.key);
        auto& [value, origin] = g.table.at(key);
        r.set(cfg, value);
        cfg.values[key] = config::sourced_value{value.text, origin};
    }
    if (cfg.instance_id.empty()) {
        cfg.instance_id = host_name();
        cfg.values["instance.id"] =
            config::sourced_value{cfg.instance_id, origin_of(setting_origin::source::defaults, "default: host name")};
    }
    for (auto& [key, v] : g.kafka) {
        cfg.kafka[key.substr(kafka_prefix.size())] = v.text;
        cfg.values[key] = v;
    }
    return result;
}

std::vector<std::string> config::describe() const {
    std::vector<std::string> out;
    auto line = [&](const std::string& key, const sourced_value& v) {
        out.push_back(fmt::format("{} = {} ({})", key, looks_secret(key) ? std::string("***") : v.text, v.origin.where));
    };
    for (auto& s : settings()) {
        auto it = values.find(std::string(s.key));
        if (it != values.end()) line(it->first, it->second);
    }
    for (auto& [key, v] : values)
        if (key.starts_with(kafka_prefix)) line(key, v);
    return out;
}

namespace {

std::string value_rule(const setting_spec& s) {
    switch (s.kind) {
    case setting_kind::count:
        return fmt::format("{}..{}", s.min_value, s.max_value);
    case setting_kind::choice:
        return join_choices(s.choices);
    case setting_kind::date:
        return "YYYY-MM-DD";
    case setting_kind::ip_address:
        return "IP address";
    case setting_kind::host_port:
        return "HOST:PORT";
    case setting_kind::currency:
        return "ISO 4217 code";
    case setting_kind::text:
        break;
    }
    return {};
}

} // namespace

std::string help_text(std::string_view program_name) {
    po::options_description desc(fmt::format("Usage: {} [--config FILE] [--key value | --key=value ...]\n\n"
                                             "Settings, lowest to highest precedence: built-in defaults; the config\n"
                                             "file (INI style: key = value, '#' comments, [section] prefixes the keys\n"
                                             "below it); environment variables (POSD_ + the key upper-cased, '.' -> '_',\n"
                                             "'-' -> '__'); flags. deploy/posd.conf.example lists every key.\n\n"
                                             "Options",
                                             program_name),
                                 110, 55);
    desc.add_options()("help,h", "show this help and exit");
    desc.add_options()("config", po::value<std::string>()->value_name("FILE"), "config file to read [env POSD_CONFIG]");
    for (auto& s : settings()) {
        std::string key(s.key);
        std::string rule = value_rule(s);
        std::string text = fmt::format("{} [default: {}{}; env {}]", s.description,
                                       s.default_value.empty() ? "(empty)" : s.default_value,
                                       rule.empty() ? "" : "; " + rule, environment_name(s.key));
        desc.add_options()(key.c_str(), po::value<std::string>()->value_name("VALUE"), text.c_str());
    }
    desc.add_options()("kafka.<property>", po::value<std::string>()->value_name("VALUE"),
                       "any librdkafka property, passed through untouched (TLS, SASL, ...); no "
                       "kafka.bootstrap.servers: posd runs its embedded Kafka-protocol cluster [env POSD_KAFKA_...]");
    std::ostringstream out;
    out << desc;
    return out.str();
}

std::string example_config_file() {
    std::string out =
        "# posd configuration: every setting with its default, commented out.\n"
        "# Generated from the settings table in libs/ops/src/config.cc (ops::example_config_file);\n"
        "# the ops tests fail when the two differ. Regenerate with\n"
        "#   POSD_UPDATE_EXAMPLE=1 <build dir>/libs/ops/ops_tests \"[config]\"\n"
        "#\n"
        "# Precedence, lowest to highest: built-in defaults, this file, environment\n"
        "# variables, command-line flags (--key value or --key=value).\n"
        "# Format: 'key = value'. '#' starts a comment, so a value cannot hold '#'\n"
        "# (pass such a value in the environment). Values are verbatim: no quotes.\n"
        "# '[name]' prefixes the keys below it with 'name.' until the next section.\n"
        "# Environment: POSD_ + the key upper-cased, '.' -> '_', '-' -> '__'\n"
        "# (topics.position-updated <- POSD_TOPICS_POSITION__UPDATED).\n";
    for (auto& s : settings()) {
        std::string rule = value_rule(s);
        out += fmt::format("\n# {}{}\n# env {}\n#{} ={}{}\n", s.description, rule.empty() ? "" : "; " + rule,
                           environment_name(s.key), s.key, s.default_value.empty() ? "" : " ", s.default_value);
    }
    out += "\n"
           "# Any librdkafka property, passed through untouched (env POSD_KAFKA_<NAME>,\n"
           "# e.g. POSD_KAFKA_SASL_PASSWORD from a Kubernetes Secret). With no\n"
           "# bootstrap.servers posd starts its embedded Kafka-protocol cluster.\n"
           "# Keep this section last: a section lasts to the end of the file.\n"
           "#[kafka]\n"
           "#bootstrap.servers = kafka-0.kafka:9092,kafka-1.kafka:9092\n"
           "#security.protocol = SASL_SSL\n"
           "#sasl.mechanisms = SCRAM-SHA-512\n"
           "#sasl.username = posd\n"
           "#ssl.ca.location = /etc/posd/tls/ca.crt\n";
    return out;
}

std::string_view to_string(log_level level) {
    return log_level_words.at(static_cast<std::size_t>(level));
}

std::string_view to_string(log_format format) {
    return log_format_words.at(static_cast<std::size_t>(format));
}

} // namespace posd::ops
