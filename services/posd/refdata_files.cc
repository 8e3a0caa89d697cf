#include "refdata_files.h"

#include <fmt/format.h>

#include <fstream>

namespace posd::service {
namespace {

template <typename Decode>
void load_file(const std::string& path, Decode decode, engine::reference_data& out, refdata_load_result& result) {
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
                    out.upsert(std::move(v));
                    ++result.loaded;
                }
            },
            decoded);
    }
}

} // namespace

refdata_load_result load_reference_dir(const std::string& dir, codec::json_decoder& dec,
                                       engine::reference_data& out) {
    refdata_load_result r;
    load_file(dir + "/bookkeeping_rules.jsonl", [&](std::string_view s) { return dec.decode_bookkeeping_rule(s); }, out, r);
    load_file(dir + "/products.jsonl", [&](std::string_view s) { return dec.decode_product(s); }, out, r);
    load_file(dir + "/securities.jsonl", [&](std::string_view s) { return dec.decode_security(s); }, out, r);
    load_file(dir + "/prices.jsonl", [&](std::string_view s) { return dec.decode_price(s); }, out, r);
    load_file(dir + "/margin_rules.jsonl", [&](std::string_view s) { return dec.decode_margin_rule(s); }, out, r);
    return r;
}

} // namespace posd::service
