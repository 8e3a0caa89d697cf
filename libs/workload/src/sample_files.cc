#include "workload/sample_files.h"

#include "workload/generator.h"

#include "base/vassert.h"
#include "codec/json_encode.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace posd::workload {
namespace {

template <typename T>
std::string lines_of(const std::vector<T>& records) {
    std::string out;
    for (const auto& r : records) {
        codec::encode_json(r, out);
        out.push_back('\n');
    }
    return out;
}

// Activity lines carry no message key or content type: a replay tool derives
// the key from the record's account fields and sends JSON. So the sample
// leaves out the bad records that only a key or a header can make.
bool fits_a_file(const item& it) {
    if (it.kind == item_kind::price_update) return false;
    if (it.expected != outcome::rejected) return true;
    using model::reason;
    return it.reason != reason::key_mismatch && it.reason != reason::unsupported_content_type &&
           it.reason != reason::record_too_large;
}

} // namespace

workload_config sample_config() {
    workload_config c;
    c.seed = 20240304;
    c.account_count = 6;
    c.hot_account_count = 2;
    c.cusip_count = 50;
    c.duplicate_per_mille = 40;
    c.bad_per_mille = 120;
    c.end_of_day_every = 150;
    c.price_update_every = 0;
    // The committed sample predates currencies; NO_FX_RATE records would
    // redraw every record after the first (generator_test covers them).
    c.no_fx_rate_weight = 0;
    c.event_interval_ms = 1500;
    return c;
}

sample_files make_sample_files() {
    const workload_config cfg = sample_config();
    activity_generator gen(cfg);
    sample_files out;
    const auto& ref = gen.reference();
    out.bookkeeping_rules = lines_of(ref.bookkeeping_rules);
    out.products = lines_of(ref.products);
    out.securities = lines_of(ref.securities);
    out.prices = lines_of(ref.prices);
    out.margin_rules = lines_of(ref.margin_rules);
    out.fx_rates = lines_of(ref.fx_rates);

    constexpr std::size_t activity_lines = 200;
    std::size_t line = 0;
    std::size_t end_of_days = 0;
    out.activity_expected = "line\toutcome\treason\n";
    while (line < activity_lines) {
        item it = gen.next();
        if (!fits_a_file(it)) continue;
        // Items cannot be left out once generated if they move the business
        // date, so the config is chosen to give exactly one END_OF_DAY.
        end_of_days += it.kind == item_kind::control && it.expected == outcome::applied;
        ++line;
        out.activity += it.value;
        out.activity.push_back('\n');
        out.activity_expected += fmt::format(
            "{}\t{}\t{}\n", line, to_string(it.expected),
            it.expected == outcome::rejected ? model::reason_code(it.reason) : std::string_view{});
    }
    vassert(end_of_days == 1, "sample has {} END_OF_DAY records, want 1", end_of_days);
    return out;
}

bool write_sample_files(const std::string& dir, std::string& error) {
    const sample_files s = make_sample_files();
    const std::pair<const char*, const std::string*> files[] = {
        {"bookkeeping_rules.jsonl", &s.bookkeeping_rules}, {"products.jsonl", &s.products},
        {"securities.jsonl", &s.securities},               {"prices.jsonl", &s.prices},
        {"margin_rules.jsonl", &s.margin_rules},           {"fx_rates.jsonl", &s.fx_rates},
        {"activity.jsonl", &s.activity},
        {"activity.expected.tsv", &s.activity_expected},
    };
    for (const auto& [name, text] : files) {
        const std::string path = dir + "/" + name;
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f.write(text->data(), static_cast<std::streamsize>(text->size()));
        f.close();
        if (!f) {
            error = fmt::format("cannot write {}: {}", path, std::strerror(errno));
            return false;
        }
    }
    return true;
}

} // namespace posd::workload
