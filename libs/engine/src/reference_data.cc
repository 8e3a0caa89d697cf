#include "engine/reference_data.h"

#include <algorithm>

namespace posd::engine {
namespace {
template <typename M>
auto find_ptr(const M& m, std::string_view k) -> const typename M::mapped_type* {
    auto it = m.find(k);
    return it == m.end() ? nullptr : &it->second;
}
// "JPY/USD": the fx-rates topic's key (services/posd/reference_tables.cc).
std::string pair_key(std::string_view currency, std::string_view base_currency) {
    std::string k;
    k.reserve(currency.size() + 1 + base_currency.size());
    k.append(currency).append("/").append(base_currency);
    return k;
}
} // namespace

void reference_data::upsert(model::bookkeeping_rule r) { rules_.insert_or_assign(r.maxx_key_code, std::move(r)); }
void reference_data::upsert(model::product_definition p) { products_.insert_or_assign(p.prodline, std::move(p)); }
void reference_data::upsert(model::security s) { securities_.insert_or_assign(s.cusip, std::move(s)); }
void reference_data::upsert(model::price p) { prices_.insert_or_assign(p.cusip, std::move(p)); }

void reference_data::upsert(model::margin_rule r) {
    auto& list = margin_rules_[r.nyrs_mgn_rule];
    auto it = std::find_if(list.begin(), list.end(),
                           [&](const model::margin_rule& x) { return x.nyrs_mgn_seq == r.nyrs_mgn_seq; });
    if (it != list.end()) {
        *it = std::move(r);
    } else {
        list.push_back(std::move(r));
        std::sort(list.begin(), list.end(), [](const model::margin_rule& a, const model::margin_rule& b) {
            return a.nyrs_mgn_seq < b.nyrs_mgn_seq;
        });
    }
}

void reference_data::upsert(model::fx_rate r) {
    std::string k = pair_key(r.currency, r.base_currency);
    fx_rates_.insert_or_assign(std::move(k), std::move(r));
}
void reference_data::erase_fx_rate(std::string_view currency, std::string_view base_currency) {
    if (auto it = fx_rates_.find(pair_key(currency, base_currency)); it != fx_rates_.end()) fx_rates_.erase(it);
}

void reference_data::erase_bookkeeping_rule(std::string_view k) {
    if (auto it = rules_.find(k); it != rules_.end()) rules_.erase(it);
}
void reference_data::erase_product(std::string_view k) {
    if (auto it = products_.find(k); it != products_.end()) products_.erase(it);
}
void reference_data::erase_security(std::string_view k) {
    if (auto it = securities_.find(k); it != securities_.end()) securities_.erase(it);
}
void reference_data::erase_price(std::string_view k) {
    if (auto it = prices_.find(k); it != prices_.end()) prices_.erase(it);
}
void reference_data::erase_margin_rule(std::string_view rule, std::int32_t seq) {
    auto it = margin_rules_.find(rule);
    if (it == margin_rules_.end()) return;
    std::erase_if(it->second, [&](const model::margin_rule& x) { return x.nyrs_mgn_seq == seq; });
    if (it->second.empty()) margin_rules_.erase(it);
}

const model::bookkeeping_rule* reference_data::bookkeeping_rule(std::string_view k) const { return find_ptr(rules_, k); }
const model::product_definition* reference_data::product(std::string_view k) const { return find_ptr(products_, k); }
const model::security* reference_data::security(std::string_view k) const { return find_ptr(securities_, k); }
const model::price* reference_data::price(std::string_view k) const { return find_ptr(prices_, k); }

const model::fx_rate* reference_data::fx_rate(std::string_view currency, std::string_view base_currency) const {
    // Hot path (every foreign-currency record): a stack key, no allocation.
    char k[64];
    if (currency.size() + 1 + base_currency.size() > sizeof k) return nullptr;
    std::size_t n = currency.copy(k, currency.size());
    k[n++] = '/';
    n += base_currency.copy(k + n, base_currency.size());
    return find_ptr(fx_rates_, std::string_view(k, n));
}

std::span<const model::margin_rule> reference_data::margin_rules(std::string_view rule) const {
    auto it = margin_rules_.find(rule);
    if (it == margin_rules_.end()) return {};
    return it->second;
}

} // namespace posd::engine
