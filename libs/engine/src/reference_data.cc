#include "engine/reference_data.h"

#include <algorithm>

namespace posd::engine {
namespace {
template <typename M>
auto find_ptr(const M& m, std::string_view k) -> const typename M::mapped_type* {
    auto it = m.find(k);
    return it == m.end() ? nullptr : &it->second;
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

std::span<const model::margin_rule> reference_data::margin_rules(std::string_view rule) const {
    auto it = margin_rules_.find(rule);
    if (it == margin_rules_.end()) return {};
    return it->second;
}

} // namespace posd::engine
