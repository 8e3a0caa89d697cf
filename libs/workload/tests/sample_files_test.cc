// The committed sample files under data/sample/: every line decodes, the
// activity lines give the outcomes listed in activity.expected.tsv, and the
// files are what make_sample_files() produces today.
//
// To rewrite them after a deliberate change of the generator or the codec:
//   build/libs/workload/workload_tests "[.write_samples]"

#include "workload/sample_files.h"

#include "codec/json_decode.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "engine/reference_data.h"
#include "model/keys.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace posd;
using namespace posd::workload;

namespace {

const std::string sample_dir = POSD_SAMPLE_DIR;

std::string read_file(const std::string& name) {
    std::ifstream f(sample_dir + "/" + name, std::ios::binary);
    INFO("reading " << sample_dir << "/" << name);
    REQUIRE(f.good());
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

template <typename T>
void load(const std::string& name, engine::reference_data& ref, codec::json_decoder& dec,
          std::variant<T, model::reject> (codec::json_decoder::*decode)(std::string_view)) {
    const auto all = lines(read_file(name));
    CHECK(!all.empty());
    for (const auto& l : all) {
        auto r = (dec.*decode)(l);
        INFO(name << ": " << l);
        REQUIRE(std::holds_alternative<T>(r));
        ref.upsert(std::get<T>(std::move(r)));
    }
}

} // namespace

TEST_CASE("sample files decode and give their expected outcomes", "[workload][sample]") {
    codec::json_decoder dec;
    engine::reference_data ref;
    load<model::bookkeeping_rule>("bookkeeping_rules.jsonl", ref, dec, &codec::json_decoder::decode_bookkeeping_rule);
    load<model::product_definition>("products.jsonl", ref, dec, &codec::json_decoder::decode_product);
    load<model::security>("securities.jsonl", ref, dec, &codec::json_decoder::decode_security);
    load<model::price>("prices.jsonl", ref, dec, &codec::json_decoder::decode_price);
    load<model::margin_rule>("margin_rules.jsonl", ref, dec, &codec::json_decoder::decode_margin_rule);
    load<model::fx_rate>("fx_rates.jsonl", ref, dec, &codec::json_decoder::decode_fx_rate);

    const auto activity = lines(read_file("activity.jsonl"));
    auto expected = lines(read_file("activity.expected.tsv"));
    REQUIRE(expected.size() == activity.size() + 1); // header line
    expected.erase(expected.begin());

    // The key of each line, derived from its account fields as a replay
    // tool would; lines that do not decode have none.
    std::vector<std::string> keys;
    std::vector<engine::input_record> in;
    for (std::size_t i = 0; i < activity.size(); ++i) {
        auto d = dec.decode_activity(activity[i]);
        if (auto* a = std::get_if<model::activity_record>(&d)) keys.push_back(a->account().value());
        else keys.emplace_back();
    }
    for (std::size_t i = 0; i < activity.size(); ++i)
        in.push_back(engine::input_record{static_cast<std::int64_t>(i), keys[i], activity[i],
                                          dec.decode_activity(activity[i])});

    engine::engine_config config;
    config.initial_business_date = sample_config().start_business_date;
    engine::partition_engine eng(0, config, ref);
    engine::memory_state state;
    const auto ws = eng.apply(state, in, timestamp{sample_config().start_business_date.days() * 86'400'000LL});
    state.apply(ws);

    std::map<std::int64_t, model::reason> rejected_at;
    for (const auto& e : ws.events)
        if (auto* dl = std::get_if<model::dead_letter>(&e)) rejected_at[dl->offset] = dl->reject.reason;
    std::size_t rejects = 0, duplicates = 0, end_of_days = 0;
    for (std::size_t i = 0; i < activity.size(); ++i) {
        INFO("line " << i + 1 << ": " << expected[i] << " | " << activity[i].substr(0, 300));
        std::istringstream row(expected[i]);
        std::string line_no, outcome_text, reason_text;
        std::getline(row, line_no, '\t');
        std::getline(row, outcome_text, '\t');
        std::getline(row, reason_text, '\t');
        CHECK(line_no == std::to_string(i + 1));
        auto r = rejected_at.find(static_cast<std::int64_t>(i));
        if (outcome_text == "rejected") {
            ++rejects;
            REQUIRE(r != rejected_at.end());
            CHECK(model::reason_code(r->second) == reason_text);
        } else {
            CHECK(r == rejected_at.end());
            duplicates += outcome_text == "duplicate";
        }
        end_of_days += std::holds_alternative<model::control_record>(in[i].decoded) && outcome_text == "applied";
    }
    CHECK(rejects >= 3);
    CHECK(duplicates >= 3);
    CHECK(end_of_days == 1);
    CHECK(ws.counts.rejected == rejects);
    CHECK(ws.counts.duplicates == duplicates);
}

TEST_CASE("committed sample files are the generator's current output", "[workload][sample]") {
    const auto s = make_sample_files();
    INFO("regenerate with: workload_tests \"[.write_samples]\"");
    CHECK(read_file("bookkeeping_rules.jsonl") == s.bookkeeping_rules);
    CHECK(read_file("products.jsonl") == s.products);
    CHECK(read_file("securities.jsonl") == s.securities);
    CHECK(read_file("prices.jsonl") == s.prices);
    CHECK(read_file("margin_rules.jsonl") == s.margin_rules);
    CHECK(read_file("fx_rates.jsonl") == s.fx_rates);
    CHECK(read_file("activity.jsonl") == s.activity);
    CHECK(read_file("activity.expected.tsv") == s.activity_expected);
}

TEST_CASE("write the sample files", "[.write_samples]") {
    std::string error;
    INFO(error);
    REQUIRE(write_sample_files(sample_dir, error));
}
