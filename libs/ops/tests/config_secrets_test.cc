// describe() never shows a secret: the librdkafka properties that carry one
// without saying "password", "secret", "key", "token" or "credential" in
// their name are masked too.

#include "ops/config.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace posd::ops;

TEST_CASE("kafka.sasl.oauthbearer.config and extensions are masked like other secrets", "[config]") {
    const config c =
        load_config(config_sources{
                        {"--kafka.sasl.oauthbearer.config=principal=admin scope=all clientSecret=s3cr3t-A",
                         "--kafka.sasl.oauthbearer.client.secret=s3cr3t-B", "--kafka.sasl.username=alice"},
                        {"POSD_KAFKA_SASL_OAUTHBEARER_EXTENSIONS=supportFeatureX=s3cr3t-C"}})
            .settings;
    const std::vector<std::string> lines = c.describe();
    auto has = [&](const std::string& line) { return std::find(lines.begin(), lines.end(), line) != lines.end(); };
    CHECK(has("kafka.sasl.oauthbearer.config = *** (--kafka.sasl.oauthbearer.config)"));
    CHECK(has("kafka.sasl.oauthbearer.client.secret = *** (--kafka.sasl.oauthbearer.client.secret)"));
    CHECK(has("kafka.sasl.oauthbearer.extensions = *** (POSD_KAFKA_SASL_OAUTHBEARER_EXTENSIONS)"));
    CHECK(has("kafka.sasl.username = alice (--kafka.sasl.username)")); // a name is not a secret
    for (const std::string& l : lines) CHECK(l.find("s3cr3t") == std::string::npos);
}
