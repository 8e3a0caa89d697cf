#pragma once
// posd's settings: one table (settings()) names every key, its default, its
// type and a one-line description; the --help text, the example file
// deploy/posd.conf.example and the typed `config` below all come from it.
//
// Sources, lowest to highest precedence:
//   1. the built-in defaults of the table;
//   2. a config file (--config FILE or POSD_CONFIG), Boost.ProgramOptions'
//      INI style: `key = value` lines, `#` starts a comment (to the end of
//      the line, so a value cannot contain '#'), and `[section]` prefixes the
//      keys below it (`[kafka]` then `bootstrap.servers = x` is
//      `kafka.bootstrap.servers`). Values are taken verbatim (no quotes);
//   3. environment variables: `POSD_` + the key upper-cased, with '.' -> '_'
//      and '-' -> '__' (`kafka.bootstrap.servers` <- POSD_KAFKA_BOOTSTRAP_SERVERS,
//      `topics.position-updated` <- POSD_TOPICS_POSITION__UPDATED). Read back
//      the other way for kafka.* keys, so a librdkafka property whose name
//      holds '_' cannot come from the environment (use the file or a flag);
//   4. command-line flags `--key value` or `--key=value`.
//
// Every `kafka.*` key is passed to librdkafka untouched (without the prefix),
// so TLS and SASL need no code. Any other key must be in the table: an
// unknown key, a value that is not a number, out of range, not one of the
// allowed words or not a date throws config_error naming the key and where
// the value came from (file:line, the environment variable, or the flag).
// Nothing here exits or prints.
//
// Thread safety: load_config reads the files and the environment it is given
// and touches no global state; call it from any thread. `config` is a plain
// value.

#include "base/date.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace posd::ops {

enum class log_level { trace, debug, info, warn, error };
enum class log_format { json, text };
enum class mode { service, replay };

// Where a setting's value came from, for error messages and for logging the
// effective configuration at start-up.
struct setting_origin {
    enum class source { defaults, file, environment, command_line };
    source from = source::defaults;
    // "posd.conf:12", "POSD_HTTP_PORT", "--http.port", or "default".
    std::string where = "default";
};

class config_error : public std::runtime_error {
public:
    config_error(std::string key, setting_origin origin, const std::string& problem);
    // The setting's key ("http.port"); empty when the problem is not about
    // one key (an unreadable file, a stray argument).
    const std::string& key() const { return key_; }
    const setting_origin& origin() const { return origin_; }

private:
    std::string key_;
    setting_origin origin_;
};

// The typed settings. Field names follow the house style (units last); the
// comment on each gives its key.
struct config {
    mode run_mode = mode::service; // mode

    // kafka.* without the prefix: librdkafka properties, passed through.
    std::map<std::string, std::string> kafka;

    struct topic_names {
        std::string activity;                  // topics.activity
        std::string position_updated;          // topics.position-updated
        std::string market_value;              // topics.market-value
        std::string margin_updated;            // topics.margin-updated
        std::string dead_letter;               // topics.dlq
        std::string changelog;                 // topics.changelog
        std::string refdata_bookkeeping_rules; // topics.refdata.bookkeeping-rules
        std::string refdata_products;          // topics.refdata.products
        std::string refdata_securities;        // topics.refdata.securities
        std::string refdata_margin_rules;      // topics.refdata.margin-rules
        std::string prices;                    // topics.prices
        std::string fx_rates;                  // topics.fx-rates
    } topics;

    std::string group_id;    // group.id
    std::string instance_id; // instance.id (this host's name when unset)

    std::string state_dir;                   // state.dir
    std::uint64_t state_block_cache_mb = 0;  // state.block-cache-mb
    std::uint64_t state_write_buffer_mb = 0; // state.write-buffer-mb

    std::uint64_t batch_records_max = 0; // batch.max-records
    std::uint64_t batch_wait_max_ms = 0; // batch.max-wait-ms
    std::uint64_t revalue_coalesce_ms = 0; // revalue.coalesce-ms
    bool input_gap_skip = false;           // input.gap (stop | skip)

    std::string http_address;    // http.address
    std::uint16_t http_port = 0; // http.port (0: any free port)
    std::string http_advertised_address; // http.advertised-address (empty: derived at start, see README)

    log_level log_threshold = log_level::info; // log.level
    log_format log_style = log_format::json;   // log.format

    std::uint64_t embedded_partitions = 0; // embedded.partitions
    std::string refdata_dir;               // refdata.dir
    std::string replay_file;               // replay.file (empty: see the table)
    bool replay_print_events = true;       // replay.print-events
    bool exit_when_done = false;           // exit-when-done
    std::optional<date> business_date;     // business-date (empty: none)
    std::int32_t end_of_day_max_days_ahead = 0; // end-of-day.max-days-ahead
    std::uint64_t applied_ids_retained = 0; // applied-ids.retained
    std::string base_currency;              // base-currency

    // The config file that was read, empty if none.
    std::string config_file;
    // Every key that has a value (table keys and kafka.* keys): the value as
    // text and where it came from.
    struct sourced_value {
        std::string text;
        setting_origin origin;
    };
    std::map<std::string, sourced_value> values;

    // "key = value (origin)" lines for a start-up log, one per key that has a
    // value; values of keys that look secret (password, secret, key, token,
    // credential in the name, and kafka.sasl.oauthbearer.config and
    // .extensions) are shown as "***".
    std::vector<std::string> describe() const;
};

// One row of the table.
enum class setting_kind {
    text,       // any string (non-empty unless allow_empty)
    count,      // unsigned decimal integer in [min_value, max_value]
    choice,     // one of `choices`
    date,       // empty or YYYY-MM-DD
    ip_address, // an IPv4 or IPv6 address literal
    host_port,  // HOST:PORT or [IPv6]:PORT, port 1..65535
    currency,   // an ISO 4217 code: three letters A-Z
};

struct setting_spec {
    std::string_view key;
    std::string_view default_value; // as text, as it would be written in the file
    setting_kind kind = setting_kind::text;
    std::string_view description;   // one line
    std::uint64_t min_value = 0;
    std::uint64_t max_value = 0;
    std::span<const std::string_view> choices;
    bool allow_empty = false;
};

// The table, in the order the help text and example file list it. Excludes
// the kafka.* passthrough and the `config` key that names the file.
std::span<const setting_spec> settings();
const setting_spec* find_setting(std::string_view key);

// POSD_ + key upper-cased, '.' -> '_', '-' -> '__'.
std::string environment_name(std::string_view key);
// The inverse for names starting with POSD_ (nullopt otherwise):
// '__' -> '-', '_' -> '.', lower-cased.
std::optional<std::string> key_from_environment_name(std::string_view name);

struct config_sources {
    // argv[1..] (without the program name).
    std::vector<std::string> arguments;
    // "NAME=value" entries; only names starting with POSD_ are looked at.
    std::vector<std::string> environment;
};

// The process's own environment, as config_sources::environment wants it.
std::vector<std::string> process_environment();
config_sources sources_from_main(int argc, const char* const* argv);

struct load_result {
    config settings;
    // --help or -h was given: the caller prints help_text() and exits 0;
    // `settings` then holds only the defaults and nothing else was checked.
    bool help_requested = false;
};

// Throws config_error on any bad input; never exits or prints.
load_result load_config(const config_sources& sources);

// The --help text: one entry per key with its default, environment variable
// and description.
std::string help_text(std::string_view program_name);
// The commented example config file (deploy/posd.conf.example holds it).
std::string example_config_file();

std::string_view to_string(log_level level);
std::string_view to_string(log_format format);

} // namespace posd::ops
