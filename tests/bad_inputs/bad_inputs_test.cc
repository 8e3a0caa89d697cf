// The bad-input corpus (SPEC §7: bad input is rejected with a reason and
// kept, never dropped silently and never a crash). Every file in corpus/ is
// one bad activity record; corpus/EXPECTED.tsv names the reason code it must
// get. Each file is decoded on its own, then all of them are fed through the
// engine between valid records.

#include "codec/decoder.h"
#include "engine/engine.h"
#include "engine/memory_state.h"
#include "model/reason.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#ifndef BAD_INPUTS_DIR
#error "BAD_INPUTS_DIR must name the corpus directory"
#endif

namespace {

namespace fs = std::filesystem;
using namespace posd;

constexpr std::string_view manifest_name = "EXPECTED.tsv";
// The account every corpus record names (where it names one); a reject
// message must never repeat its base.
constexpr std::string_view account_key = "ABCD|01|123|45678";
constexpr std::string_view account_base = "45678";

struct corpus_entry {
    std::string name;
    model::reason expected;
    std::string bytes;
};

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream s;
    s << in.rdbuf();
    return std::move(s).str();
}

const std::vector<corpus_entry>& corpus() {
    static const std::vector<corpus_entry> entries = [] {
        std::vector<corpus_entry> out;
        const fs::path dir(BAD_INPUTS_DIR);
        std::istringstream manifest(read_bytes(dir / manifest_name));
        std::string line;
        while (std::getline(manifest, line)) {
            if (line.empty() || line[0] == '#') continue;
            const auto tab = line.find('\t');
            INFO("EXPECTED.tsv line: " << line);
            REQUIRE(tab != std::string::npos);
            const std::string name = line.substr(0, tab);
            const auto reason = model::reason_from_code(line.substr(tab + 1));
            REQUIRE(reason.has_value());
            out.push_back({name, *reason, read_bytes(dir / name)});
        }
        return out;
    }();
    return entries;
}

model::decoded_record decode(codec::decoder& d, const corpus_entry& e) {
    return d.decode(e.bytes, codec::content_type_from_header("application/json"));
}

} // namespace

TEST_CASE("the manifest lists every corpus file exactly once") {
    std::set<std::string> listed;
    for (const auto& e : corpus()) {
        INFO(e.name);
        CHECK(listed.insert(e.name).second);
    }
    std::set<std::string> present;
    for (const auto& f : fs::directory_iterator(BAD_INPUTS_DIR))
        if (f.path().filename() != manifest_name) present.insert(f.path().filename().string());
    CHECK(listed == present);
    CHECK(corpus().size() >= 90);
}

TEST_CASE("every bad input gets its expected reject") {
    codec::decoder d;
    std::map<std::string_view, int> per_reason;
    for (const auto& e : corpus()) {
        INFO(e.name << " (" << e.bytes.size() << " bytes)");
        const auto decoded = decode(d, e);
        REQUIRE(std::holds_alternative<model::reject>(decoded));
        const auto& rej = std::get<model::reject>(decoded);
        INFO("got " << model::reason_code(rej.reason) << " field '" << rej.field << "': " << rej.message);
        CHECK(model::reason_code(rej.reason) == model::reason_code(e.expected));
        CHECK_FALSE(rej.message.empty());
        CHECK(rej.message.find(account_base) == std::string::npos);
        CHECK(rej.field.find(account_base) == std::string::npos);
        ++per_reason[model::reason_code(rej.reason)];
    }
    // Every decode-time reason has an example.
    for (auto r : {model::reason::malformed, model::reason::missing_field, model::reason::bad_field,
                   model::reason::number_out_of_range, model::reason::bad_cusip_check_digit,
                   model::reason::field_too_long, model::reason::invalid_encoding,
                   model::reason::unknown_record_type, model::reason::record_too_large,
                   model::reason::date_out_of_range}) {
        INFO(model::reason_code(r));
        CHECK(per_reason[model::reason_code(r)] > 0);
    }
}

TEST_CASE("decoding is repeatable: a decoder reused after every bad input") {
    codec::decoder d;
    for (int round = 0; round < 3; ++round) {
        for (const auto& e : corpus()) {
            INFO(e.name);
            const auto decoded = decode(d, e);
            REQUIRE(std::holds_alternative<model::reject>(decoded));
            CHECK(std::get<model::reject>(decoded).reason == e.expected);
            // ... and a good record right after decodes fine.
            const auto good = d.decode(
                R"({"activityId":"G","maxxKeyCode":"DEPO","firm":"ABCD","ledger":"01","branch":"123","base":"45678"})",
                codec::content_type::json);
            CHECK(std::holds_alternative<model::activity_record>(good));
        }
    }
}

TEST_CASE("an unsupported content type is rejected whatever the bytes") {
    codec::decoder d;
    for (const auto& e : corpus()) {
        INFO(e.name);
        const auto decoded = d.decode(e.bytes, codec::content_type_from_header("text/csv"));
        REQUIRE(std::holds_alternative<model::reject>(decoded));
        const auto r = std::get<model::reject>(decoded).reason;
        // Size is checked before the content type.
        CHECK((r == model::reason::unsupported_content_type ||
               (r == model::reason::record_too_large && e.expected == model::reason::record_too_large)));
    }
}

TEST_CASE("bad inputs between valid records: all counted, every one dead-lettered with its bytes") {
    engine::reference_data refdata;
    model::bookkeeping_rule deposit;
    deposit.maxx_key_code = "DEPO";
    deposit.upd_td_bal_sw = true;
    deposit.upd_sd_bal_sw = true;
    refdata.upsert(deposit);
    engine::engine_config config;
    config.initial_business_date = date::parse("2026-03-02");
    engine::memory_state state;
    engine::partition_engine eng(3, config, refdata);
    codec::decoder dec;

    // offset 2i: a valid deposit of 1; offset 2i+1: corpus entry i; then a
    // redelivered valid record (a duplicate).
    std::deque<std::string> values; // stable addresses for the records' views
    std::vector<engine::input_record> inputs;
    std::map<std::int64_t, const corpus_entry*> bad_at;
    std::int64_t offset = 100;
    for (const auto& e : corpus()) {
        values.push_back(R"({"activityId":"OK-)" + std::to_string(offset) +
                         R"(","maxxKeyCode":"DEPO","firm":"ABCD","ledger":"01","branch":"123","base":"45678","amount":"1"})");
        inputs.push_back({offset, account_key, values.back(), dec.decode(values.back(), codec::content_type::json)});
        ++offset;
        bad_at[offset] = &e;
        inputs.push_back({offset, account_key, e.bytes, decode(dec, e)});
        ++offset;
    }
    inputs.push_back({offset, account_key, values.front(), dec.decode(values.front(), codec::content_type::json)});
    ++offset;

    engine::batch_counts total;
    std::vector<model::dead_letter> letters;
    std::size_t other_events = 0;
    const std::size_t batch = 7;
    for (std::size_t i = 0; i < inputs.size(); i += batch) {
        const std::size_t n = std::min(batch, inputs.size() - i);
        auto ws = eng.apply(state, std::span<const engine::input_record>(inputs.data() + i, n), timestamp{1772461800000});
        CHECK(ws.counts.records_in == ws.counts.applied + ws.counts.duplicates + ws.counts.rejected);
        for (auto& ev : ws.events) {
            if (auto* dl = std::get_if<model::dead_letter>(&ev)) letters.push_back(*dl);
            else ++other_events;
        }
        total += ws.counts;
        state.apply(ws);
    }

    const std::size_t bad = corpus().size();
    CHECK(total.records_in == inputs.size());
    CHECK(total.records_in == total.applied + total.duplicates + total.rejected);
    CHECK(total.rejected == bad);
    CHECK(total.applied == bad);
    CHECK(total.duplicates == 1);
    CHECK(other_events > 0);

    REQUIRE(letters.size() == bad);
    std::set<std::int64_t> seen;
    for (const auto& dl : letters) {
        INFO("offset " << dl.offset);
        REQUIRE(bad_at.count(dl.offset) == 1);
        const corpus_entry& e = *bad_at.at(dl.offset);
        INFO(e.name);
        CHECK(seen.insert(dl.offset).second);
        CHECK(dl.value == e.bytes); // the original bytes, unchanged
        CHECK(dl.key == account_key);
        CHECK(dl.partition == 3);
        CHECK(dl.reject.reason == e.expected);
        CHECK(dl.reject.message.find(account_base) == std::string::npos);
    }
    // The valid records in between were all applied.
    const auto& balances = state.balances();
    REQUIRE(balances.count(std::string(account_key)) == 1);
    CHECK(balances.at(std::string(account_key)).td_bal == decimal::from_units(static_cast<std::int64_t>(bad)));
}
