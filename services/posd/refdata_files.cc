#include "refdata_files.h"

#include "stream/batch_publisher.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <filesystem>
#include <fstream>

namespace posd::service {
namespace {

// Calls take(record, line) for every line of `path` that decodes.
template <typename Decode, typename Take>
void read_file(const std::string& path, Decode decode, Take take, refdata_load_result& result) {
    std::ifstream in(path);
    if (!in) {
        result.problems.push_back(fmt::format("{}: cannot open", path));
        return;
    }
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        if (line.empty() || line[0] == '#') continue;
        auto decoded = decode(line);
        std::visit(
            [&](auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, model::reject>) {
                    result.problems.push_back(fmt::format("{}:{}: {} {}: {}", path, n, model::reason_code(v.reason),
                                                          v.field, v.message));
                } else {
                    take(std::move(v), line);
                    ++result.loaded;
                }
            },
            decoded);
    }
}

// Reads each kind's file of `dir` and hands its records to take(record, line, topic).
template <typename Take>
refdata_load_result read_dir(const std::string& dir, const reference_topics& topics, Take take) {
    codec::json_decoder dec;
    refdata_load_result r;
    auto with_topic = [&](const std::string& topic) {
        return [&take, &topic](auto v, const std::string& line) { take(std::move(v), line, topic); };
    };
    read_file(dir + "/bookkeeping_rules.jsonl", [&](std::string_view s) { return dec.decode_bookkeeping_rule(s); },
              with_topic(topics.bookkeeping_rules), r);
    read_file(dir + "/products.jsonl", [&](std::string_view s) { return dec.decode_product(s); },
              with_topic(topics.products), r);
    read_file(dir + "/securities.jsonl", [&](std::string_view s) { return dec.decode_security(s); },
              with_topic(topics.securities), r);
    read_file(dir + "/prices.jsonl", [&](std::string_view s) { return dec.decode_price(s); },
              with_topic(topics.prices), r);
    read_file(dir + "/margin_rules.jsonl", [&](std::string_view s) { return dec.decode_margin_rule(s); },
              with_topic(topics.margin_rules), r);
    // Optional: a directory written before FX rates existed has none, and an
    // account that holds only its base currency needs none.
    if (std::filesystem::exists(dir + "/fx_rates.jsonl"))
        read_file(dir + "/fx_rates.jsonl", [&](std::string_view s) { return dec.decode_fx_rate(s); },
                  with_topic(topics.fx_rates), r);
    return r;
}

} // namespace

refdata_load_result load_reference_dir(const std::string& dir, codec::json_decoder&, engine::reference_data& out) {
    return read_dir(dir, reference_topics{},
                    [&](auto v, const std::string&, const std::string&) { out.upsert(std::move(v)); });
}

refdata_load_result produce_reference_dir(const std::string& dir, const std::map<std::string, std::string>& kafka,
                                          const reference_topics& topics) {
    auto producer = stream::make_producer(kafka);
    auto r = read_dir(dir, topics, [&](const auto& v, const std::string& line, const std::string& topic) {
        stream::produce_message(*producer, {topic, -1, reference_key(v), line, {}});
    });
    if (producer->flush(30'000) != RdKafka::ERR_NO_ERROR)
        throw std::runtime_error("flush of the reference data files failed");
    return r;
}

} // namespace posd::service
