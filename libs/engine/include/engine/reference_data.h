#pragma once
// reference_data: the global tables (SPEC §4) the engine reads while it
// applies records. Owned by the caller; the engine only reads it. A change
// (upsert/erase) takes effect for the next record applied. Not thread-safe:
// the service swaps or mutates it only between batches of one partition
// thread, or gives each partition thread its own view.

#include "model/refdata.h"

#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace posd::engine {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

class reference_data {
public:
    void upsert(model::bookkeeping_rule r);
    void upsert(model::product_definition p);
    void upsert(model::security s);
    void upsert(model::price p);
    void upsert(model::margin_rule r);
    void upsert(model::fx_rate r);
    void erase_bookkeeping_rule(std::string_view maxx_key_code);
    void erase_product(std::string_view prodline);
    void erase_security(std::string_view cusip);
    void erase_price(std::string_view cusip);
    void erase_margin_rule(std::string_view rule, std::int32_t seq);
    void erase_fx_rate(std::string_view currency, std::string_view base_currency);

    const model::bookkeeping_rule* bookkeeping_rule(std::string_view maxx_key_code) const;
    const model::product_definition* product(std::string_view prodline) const;
    const model::security* security(std::string_view cusip) const;
    const model::price* price(std::string_view cusip) const;
    // The rate from `currency` into `base_currency`, or null.
    const model::fx_rate* fx_rate(std::string_view currency, std::string_view base_currency) const;
    // The rule list, sorted by nyrsMgnSeq; empty when unknown.
    std::span<const model::margin_rule> margin_rules(std::string_view rule) const;

private:
    string_map<model::bookkeeping_rule> rules_;
    string_map<model::product_definition> products_;
    string_map<model::security> securities_;
    string_map<model::price> prices_;
    string_map<std::vector<model::margin_rule>> margin_rules_;
    string_map<model::fx_rate> fx_rates_; // key "CCY/BASE"
};

} // namespace posd::engine
