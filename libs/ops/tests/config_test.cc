#include "ops/config.h"

#include "base/limits.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace posd::ops;
namespace fs = std::filesystem;

namespace {

// A config file in a fresh temporary directory, removed afterwards.
struct temp_file {
    explicit temp_file(const std::string& content, const std::string& name = "posd.conf") {
        static int counter = 0;
        dir = fs::temp_directory_path() / fmt::format("posd-ops-config-{}-{}", ::getpid(), ++counter);
        fs::create_directories(dir);
        path = (dir / name).string();
        std::ofstream(path, std::ios::binary) << content;
    }
    ~temp_file() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    fs::path dir;
    std::string path;
};

config load(std::vector<std::string> args, std::vector<std::string> env = {}) {
    return load_config(config_sources{std::move(args), std::move(env)}).settings;
}

// The config_error that loading throws; fails the test if nothing is thrown.
config_error load_error(std::vector<std::string> args, std::vector<std::string> env = {}) {
    try {
        load(std::move(args), std::move(env));
    } catch (const config_error& e) {
        return e;
    }
    FAIL("load_config did not throw");
    throw std::logic_error("unreachable");
}

std::string host_name() {
    char buf[256] = {};
    REQUIRE(::gethostname(buf, sizeof buf - 1) == 0);
    return buf;
}

} // namespace

TEST_CASE("defaults: every setting from the table and typed", "[config]") {
    auto c = load({});
    CHECK(c.kafka.empty());
    CHECK(c.topics.activity == "activity");
    CHECK(c.topics.position_updated == "position.updated");
    CHECK(c.topics.market_value == "market-value");
    CHECK(c.topics.margin_updated == "margin.updated");
    CHECK(c.topics.dead_letter == "activity.dlq");
    CHECK(c.topics.changelog == "posd.changelog");
    CHECK(c.topics.refdata_bookkeeping_rules == "refdata.bookkeeping-rules");
    CHECK(c.topics.refdata_products == "refdata.products");
    CHECK(c.topics.refdata_securities == "refdata.securities");
    CHECK(c.topics.refdata_margin_rules == "refdata.margin-rules");
    CHECK(c.topics.prices == "prices");
    CHECK(c.topics.fx_rates == "fx-rates");
    CHECK(c.base_currency == "USD");
    CHECK(c.group_id == "posd");
    CHECK(c.instance_id == host_name());
    CHECK(c.state_dir == "./posd-state");
    CHECK(c.state_block_cache_mb == 64);
    CHECK(c.state_write_buffer_mb == 16);
    CHECK(c.batch_records_max == 2000);
    CHECK(c.batch_wait_max_ms == 0);
    CHECK(c.revalue_coalesce_ms == 200);
    CHECK(c.http_address == "127.0.0.1");
    CHECK(c.http_port == 8080);
    CHECK(c.log_threshold == log_level::info);
    CHECK(c.log_style == log_format::json);
    CHECK(c.embedded_partitions == 4);
    CHECK(c.refdata_dir.empty());
    CHECK(c.run_mode == mode::service);
    CHECK(c.replay_print_events);
    CHECK(!c.exit_when_done);
    CHECK(c.replay_file.empty());
    CHECK_FALSE(c.business_date.has_value());
    CHECK(c.applied_ids_retained == posd::limits::applied_ids_retained_default);
    CHECK(c.end_of_day_max_days_ahead == 31);
    CHECK(c.config_file.empty());
    for (auto& s : settings()) {
        INFO(s.key);
        REQUIRE(c.values.count(std::string(s.key)) == 1);
        CHECK(c.values.at(std::string(s.key)).origin.from == setting_origin::source::defaults);
    }
}

TEST_CASE("the table agrees with the engine's limits and describes every key", "[config]") {
    auto* batch = find_setting("batch.max-records");
    REQUIRE(batch);
    CHECK(batch->min_value == 1);
    CHECK(batch->max_value == posd::limits::batch_records_max);
    CHECK(find_setting("no.such.key") == nullptr);
    std::set<std::string_view> keys;
    for (auto& s : settings()) {
        INFO(s.key);
        CHECK(keys.insert(s.key).second); // no key twice
        CHECK_FALSE(s.description.empty());
        CHECK(s.description.find('\n') == std::string_view::npos);
        CHECK_FALSE(s.key.starts_with("kafka."));
    }
    CHECK(keys.size() == 36);
}

TEST_CASE("precedence: defaults < file < environment < flags", "[config]") {
    temp_file file("# a comment\n\nhttp.port = 1001\ngroup.id = from-file\nstate.dir = /var/lib/posd\n");
    std::vector<std::string> env = {"POSD_CONFIG=" + file.path, "POSD_HTTP_PORT=1002", "POSD_GROUP_ID=from-env"};

    auto c = load({"--http.port", "1003"}, env);
    CHECK(c.http_port == 1003);
    CHECK(c.values.at("http.port").origin.from == setting_origin::source::command_line);
    CHECK(c.values.at("http.port").origin.where == "--http.port");
    CHECK(c.group_id == "from-env");
    CHECK(c.values.at("group.id").origin.where == "POSD_GROUP_ID");
    CHECK(c.state_dir == "/var/lib/posd");
    CHECK(c.values.at("state.dir").origin.where == file.path + ":5");
    CHECK(c.batch_records_max == 2000);
    CHECK(c.values.at("batch.max-records").origin.where == "default");
    CHECK(c.config_file == file.path);

    c = load({}, env);
    CHECK(c.http_port == 1002);
    c = load({"--config=" + file.path});
    CHECK(c.http_port == 1001);
    CHECK(c.values.at("http.port").origin.from == setting_origin::source::file);
    CHECK(c.values.at("http.port").origin.where == file.path + ":3");
    // --config wins over POSD_CONFIG.
    temp_file other("http.port = 1004\n");
    c = load({"--config", other.path}, env);
    CHECK(c.http_port == 1002); // still the environment's, which beats any file
    CHECK(c.group_id == "from-env");
    CHECK(c.config_file == other.path);
    c = load({"--config", other.path}, {"POSD_CONFIG=" + file.path});
    CHECK(c.http_port == 1004);
    CHECK(c.group_id == "posd");
}

TEST_CASE("flags: --key value and --key=value and the last one wins", "[config]") {
    auto c = load({"--batch.max-records", "7", "--log.level=debug", "--log.format", "text", "--batch.max-records=9",
                   "--business-date", "2024-03-04", "--http.address=::1", "--http.port=0"});
    CHECK(c.batch_records_max == 9);
    CHECK(c.log_threshold == log_level::debug);
    CHECK(c.log_style == log_format::text);
    REQUIRE(c.business_date.has_value());
    CHECK(c.business_date->to_string() == "2024-03-04");
    CHECK(c.http_address == "::1");
    CHECK(c.http_port == 0);
}

TEST_CASE("file: sections prefix keys and comments and blank lines are skipped", "[config]") {
    temp_file file("topics.activity = in   # trailing comment\n"
                   "\n"
                   "[topics.refdata]\n"
                   "  products = ref.products\n"
                   "[log]\n"
                   "level=warn\n"
                   "[kafka]\n"
                   "bootstrap.servers = b1:9092,b2:9092\n"
                   "sasl.jaas.config = a=b c=d\n");
    auto c = load({"--config", file.path});
    CHECK(c.topics.activity == "in");
    CHECK(c.topics.refdata_products == "ref.products");
    CHECK(c.values.at("topics.refdata.products").origin.where == file.path + ":4");
    CHECK(c.log_threshold == log_level::warn);
    CHECK(c.kafka == std::map<std::string, std::string>{{"bootstrap.servers", "b1:9092,b2:9092"},
                                                        {"sasl.jaas.config", "a=b c=d"}});
    CHECK(c.values.at("kafka.bootstrap.servers").origin.where == file.path + ":8");
}

TEST_CASE("environment: names map to keys and back", "[config]") {
    CHECK(environment_name("kafka.bootstrap.servers") == "POSD_KAFKA_BOOTSTRAP_SERVERS");
    CHECK(environment_name("http.port") == "POSD_HTTP_PORT");
    CHECK(environment_name("topics.position-updated") == "POSD_TOPICS_POSITION__UPDATED");
    CHECK(environment_name("business-date") == "POSD_BUSINESS__DATE");
    CHECK(key_from_environment_name("POSD_TOPICS_REFDATA_MARGIN__RULES") == "topics.refdata.margin-rules");
    CHECK(key_from_environment_name("POSD_KAFKA_SASL_PASSWORD") == "kafka.sasl.password");
    CHECK(key_from_environment_name("HOME") == std::nullopt);
    for (auto& s : settings()) {
        INFO(s.key);
        CHECK(key_from_environment_name(environment_name(s.key)) == std::string(s.key));
    }

    auto c = load({}, {"POSD_TOPICS_POSITION__UPDATED=pos.v2", "POSD_APPLIED__IDS_RETAINED=5000",
                       "POSD_BUSINESS__DATE=2024-02-29", "POSD_INSTANCE_ID=posd-0", "PATH=/usr/bin",
                       "posd_http_port=1", "POSD_REPLAY_FILE=", "POSD_END__OF__DAY_MAX__DAYS__AHEAD=5"});
    CHECK(c.end_of_day_max_days_ahead == 5);
    CHECK(c.topics.position_updated == "pos.v2");
    CHECK(c.values.at("topics.position-updated").origin.where == "POSD_TOPICS_POSITION__UPDATED");
    CHECK(c.applied_ids_retained == 5000);
    CHECK(c.business_date->to_string() == "2024-02-29");
    CHECK(c.instance_id == "posd-0");
    CHECK(c.http_port == 8080); // lower-case names are not ours
    CHECK(c.replay_file.empty());
    CHECK(c.values.at("replay.file").origin.from == setting_origin::source::environment);
}

TEST_CASE("kafka.* keys pass through untouched from every source", "[config]") {
    temp_file file("[kafka]\nsecurity.protocol = SSL\nssl.ca.location = /etc/ca.pem\nclient.id = file\n");
    auto c = load({"--config", file.path, "--kafka.client.id", "flag", "--kafka.linger.ms=5"},
                  {"POSD_KAFKA_SASL_PASSWORD=p@ss w=rd", "POSD_KAFKA_SSL_CA_LOCATION=/run/ca.pem",
                   "POSD_KAFKA_BOOTSTRAP_SERVERS=k:9093"});
    CHECK(c.kafka == std::map<std::string, std::string>{{"bootstrap.servers", "k:9093"},
                                                        {"client.id", "flag"},
                                                        {"linger.ms", "5"},
                                                        {"sasl.password", "p@ss w=rd"},
                                                        {"security.protocol", "SSL"},
                                                        {"ssl.ca.location", "/run/ca.pem"}});
    CHECK(c.values.at("kafka.client.id").origin.where == "--kafka.client.id");
    CHECK(c.values.at("kafka.security.protocol").origin.where == file.path + ":2");

    auto lines = c.describe();
    auto has = [&](const std::string& line) { return std::find(lines.begin(), lines.end(), line) != lines.end(); };
    CHECK(has("kafka.sasl.password = *** (POSD_KAFKA_SASL_PASSWORD)"));
    CHECK(has("kafka.linger.ms = 5 (--kafka.linger.ms)"));
    CHECK(has("http.port = 8080 (default)"));
    for (auto& l : lines) CHECK(l.find("p@ss") == std::string::npos);
}

TEST_CASE("errors name the key and where the value came from", "[config]") {
    temp_file file("group.id = ok\n"
                   "\n"
                   "[http]\n"
                   "prot = 80\n");
    SECTION("unknown key in the file") {
        auto e = load_error({"--config", file.path});
        CHECK(e.key() == "http.prot");
        CHECK(e.origin().where == file.path + ":4");
        CHECK_THAT(e.what(), Catch::Contains("unknown setting") && Catch::Contains(file.path + ":4"));
    }
    SECTION("unknown key in the environment") {
        auto e = load_error({}, {"POSD_HTTP_PROT=80"});
        CHECK(e.key() == "http.prot");
        CHECK(e.origin().where == "POSD_HTTP_PROT");
        CHECK(e.origin().from == setting_origin::source::environment);
        CHECK_THAT(e.what(), Catch::Contains("POSD_HTTP_PROT") && Catch::Contains("enableServiceLinks"));
    }
    SECTION("an environment name must be upper case") {
        auto e = load_error({}, {"POSD_Http_Port=80"});
        CHECK(e.key() == "http.port");
        CHECK(e.origin().where == "POSD_Http_Port");
        CHECK_THAT(e.what(), Catch::Contains("POSD_HTTP_PORT"));
    }
    SECTION("a near miss in the environment gets a hint") {
        auto e = load_error({}, {"POSD_TOPICS_POSITION_UPDATED=x"});
        CHECK_THAT(e.what(), Catch::Contains("did you mean topics.position-updated"));
    }
    SECTION("unknown flag") {
        auto e = load_error({"--http.prot=80"});
        CHECK(e.key() == "http.prot");
        CHECK(e.origin().where == "--http.prot");
        CHECK(e.origin().from == setting_origin::source::command_line);
    }
    SECTION("flags are not abbreviated") {
        auto e = load_error({"--http.por", "80"});
        CHECK(e.key() == "http.por");
    }
    SECTION("a flag without its value") {
        auto e = load_error({"--http.port"});
        CHECK(e.key() == "http.port");
        CHECK_THAT(e.what(), Catch::Contains("--http.port"));
    }
    SECTION("a stray argument") {
        auto e = load_error({"--http.port", "80", "extra"});
        CHECK(e.key().empty());
        CHECK_THAT(e.what(), Catch::Contains("'extra'") && Catch::Contains("unexpected argument"));
    }
}

TEST_CASE("http.advertised-address: empty by default, HOST:PORT or [IPv6]:PORT", "[config]") {
    CHECK(load({}).http_advertised_address.empty());
    CHECK(load({"--http.advertised-address=posd-0.posd.trading.svc:8080"}).http_advertised_address ==
          "posd-0.posd.trading.svc:8080");
    CHECK(load({"--http.advertised-address=[::1]:8080"}).http_advertised_address == "[::1]:8080");
    CHECK(load({}, {"POSD_HTTP_ADVERTISED__ADDRESS=10.1.2.3:80"}).http_advertised_address == "10.1.2.3:80");
}

TEST_CASE("bad values: not a number or out of range or a bad word or date or address or empty", "[config]") {
    struct bad_case {
        std::string key, value, words;
    };
    std::vector<bad_case> cases = {
        {"http.port", "80x", "not a whole number"},
        {"http.port", "-1", "not a whole number"},
        {"http.port", " 80", "not a whole number"},
        {"http.port", "65536", "out of range 0..65535"},
        {"batch.max-records", "0", "out of range 1..100000"},
        {"batch.max-records", "100001", "out of range 1..100000"},
        {"state.block-cache-mb", "99999999999999999999999", "out of range"},
        {"log.level", "verbose", "not one of trace|debug|info|warn|error"},
        {"log.format", "JSON", "not one of json|text"},
        {"business-date", "2024-13-01", "not a date"},
        {"business-date", "4 March", "not a date"},
        {"http.address", "localhost", "not an IP address"},
        {"http.advertised-address", "pod-0", "not HOST:PORT"},
        {"http.advertised-address", "pod-0:0", "not HOST:PORT (port 1..65535)"},
        {"http.advertised-address", "pod-0:65536", "not HOST:PORT"},
        {"http.advertised-address", ":8080", "not HOST:PORT"},
        {"http.advertised-address", "::1:8080", "not HOST:PORT"},
        {"http.advertised-address", "http://pod-0:8080", "not HOST:PORT"},
        {"base-currency", "usd", "not a currency code"},
        {"base-currency", "USDT", "not a currency code"},
        {"base-currency", "", "must not be empty"},
        {"group.id", "", "must not be empty"},
        {"embedded.partitions", "", "must not be empty"},
    };
    for (auto& bc : cases) {
        INFO(bc.key << " = '" << bc.value << "'");
        // From a flag (Boost.ProgramOptions wants "--key=" followed by a value,
        // so an empty one is a separate argument) ...
        auto e = bc.value.empty() ? load_error({"--" + bc.key, ""}) : load_error({"--" + bc.key + "=" + bc.value});
        CHECK(e.key() == bc.key);
        CHECK(e.origin().where == "--" + bc.key);
        CHECK_THAT(e.what(), Catch::Contains(bc.words));
        // ... from the environment ...
        std::string var = environment_name(bc.key);
        e = load_error({}, {var + "=" + bc.value});
        CHECK(e.key() == bc.key);
        CHECK(e.origin().where == var);
        CHECK_THAT(e.what(), Catch::Contains(bc.words) && Catch::Contains(var));
        // ... and from the file, even when a flag overrides it.
        if (bc.value.find_first_of(" ") == 0) continue; // the file parser trims
        temp_file file("# posd\n" + bc.key + " = " + bc.value + "\n");
        e = load_error({"--config", file.path, "--" + bc.key + "=1"});
        CHECK(e.key() == bc.key);
        CHECK(e.origin().where == file.path + ":2");
        CHECK_THAT(e.what(), Catch::Contains(bc.words) && Catch::Contains(file.path + ":2"));
    }
}

TEST_CASE("bad files: missing or bad syntax or empty section or nested config or bad kafka name", "[config]") {
    SECTION("missing file, named by the flag or the environment") {
        auto e = load_error({"--config", "/nonexistent/posd.conf"});
        CHECK(e.key() == "config");
        CHECK(e.origin().where == "--config");
        CHECK_THAT(e.what(), Catch::Contains("/nonexistent/posd.conf"));
        e = load_error({}, {"POSD_CONFIG=/nonexistent/posd.conf"});
        CHECK(e.origin().where == "POSD_CONFIG");
    }
    SECTION("a line that is not key = value") {
        temp_file file("group.id = a\nthis is not a setting\n");
        auto e = load_error({"--config", file.path});
        CHECK(e.origin().where == file.path + ":2");
        CHECK_THAT(e.what(), Catch::Contains("this is not a setting"));
    }
    SECTION("an empty section name") {
        temp_file file("[kafka]\nclient.id = x\n[ ]\nhttp.port = 1\n");
        auto e = load_error({"--config", file.path});
        CHECK(e.origin().where == file.path + ":3");
    }
    SECTION("a config key inside the file") {
        temp_file file("config = /etc/other.conf\n");
        auto e = load_error({"--config", file.path});
        CHECK(e.key() == "config");
        CHECK(e.origin().where == file.path + ":1");
    }
    SECTION("a kafka property name with a space") {
        temp_file file("[kafka]\nbootstrap servers = x\n");
        auto e = load_error({"--config", file.path});
        CHECK(e.key() == "kafka.bootstrap servers");
        CHECK(e.origin().where == file.path + ":2");
        e = load_error({"--kafka.=x"});
        CHECK(e.key() == "kafka.");
    }
}

TEST_CASE("--help stops before anything is checked and lists every key", "[config]") {
    auto r = load_config(config_sources{{"--http.port=bad", "--help"}, {"POSD_NOPE=1"}});
    CHECK(r.help_requested);
    CHECK(load_config(config_sources{{"-h"}, {}}).help_requested);
    CHECK(load_config(config_sources{{"stray", "--help"}, {}}).help_requested);
    CHECK_FALSE(load_config(config_sources{{}, {}}).help_requested);
    auto text = help_text("posd");
    CHECK_THAT(text, Catch::Contains("Usage: posd"));
    CHECK_THAT(text, Catch::Contains("--kafka.<property>"));
    CHECK_THAT(text, Catch::Contains("--config"));
    for (auto& s : settings()) {
        INFO(s.key);
        CHECK_THAT(text, Catch::Contains("--" + std::string(s.key) + " VALUE"));
        CHECK_THAT(text, Catch::Contains(environment_name(s.key)));
    }
}

TEST_CASE("deploy/posd.conf.example is the generated example and loads to the defaults", "[config]") {
    std::string expected = example_config_file();
    fs::path path = fs::path(POSD_SOURCE_DIR) / "deploy" / "posd.conf.example";
    if (const char* update = std::getenv("POSD_UPDATE_EXAMPLE"); update && std::string(update) == "1")
        std::ofstream(path, std::ios::binary) << expected;
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::stringstream actual;
    actual << in.rdbuf();
    INFO("regenerate with POSD_UPDATE_EXAMPLE=1 ops_tests \"[config]\"");
    CHECK(actual.str() == expected);

    for (auto& s : settings()) {
        INFO(s.key);
        std::string line = s.default_value.empty() ? fmt::format("\n#{} =\n", s.key)
                                                   : fmt::format("\n#{} = {}\n", s.key, s.default_value);
        CHECK_THAT(expected, Catch::Contains(line));
        CHECK_THAT(expected, Catch::Contains(environment_name(s.key)));
    }

    // Uncommented, every setting line must load and give the defaults back.
    std::string uncommented = std::regex_replace(expected, std::regex("(^|\n)#([a-z\\[])"), "$1$2");
    temp_file file(uncommented);
    auto c = load({"--config", file.path});
    auto defaults = load({});
    for (auto& s : settings()) {
        std::string key(s.key);
        INFO(key);
        CHECK(c.values.at(key).text == defaults.values.at(key).text);
        if (key != "instance.id") CHECK(c.values.at(key).origin.from == setting_origin::source::file);
    }
    CHECK(c.kafka.at("bootstrap.servers") == "kafka-0.kafka:9092,kafka-1.kafka:9092");
    CHECK(c.kafka.at("security.protocol") == "SASL_SSL");
}

TEST_CASE("libs/ops/README.md lists every key with its environment variable", "[config]") {
    std::ifstream in(fs::path(POSD_SOURCE_DIR) / "libs" / "ops" / "README.md", std::ios::binary);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    for (auto& s : settings()) {
        INFO(s.key);
        std::string def = s.default_value.empty() ? "(empty)" : fmt::format("`{}`", s.default_value);
        CHECK_THAT(text.str(), Catch::Contains(fmt::format("| `{}` | {} | `{}` |", s.key, def, environment_name(s.key))));
    }
}
