#include "outputs/topics.h"

#include <type_traits>
#include <variant>

namespace posd::outputs {

topic_names topic_names_of(const ops::config& c) {
    topic_names t;
    t.activity = c.topics.activity;
    t.position_updated = c.topics.position_updated;
    t.market_value = c.topics.market_value;
    t.margin_updated = c.topics.margin_updated;
    t.dead_letter = c.topics.dead_letter;
    t.changelog = c.topics.changelog;
    return t;
}

reference_topics reference_topics_of(const ops::config& c) {
    reference_topics t;
    t.bookkeeping_rules = c.topics.refdata_bookkeeping_rules;
    t.products = c.topics.refdata_products;
    t.securities = c.topics.refdata_securities;
    t.margin_rules = c.topics.refdata_margin_rules;
    t.prices = c.topics.prices;
    t.fx_rates = c.topics.fx_rates;
    return t;
}

const std::string& topic_of(const model::output_event& event, const topic_names& topics) {
    return std::visit(
        [&](const auto& ev) -> const std::string& {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, model::position_updated>) return topics.position_updated;
            else if constexpr (std::is_same_v<T, model::market_value_event>) return topics.market_value;
            else if constexpr (std::is_same_v<T, model::margin_updated>) return topics.margin_updated;
            else return topics.dead_letter;
        },
        event);
}

std::vector<stream::topic_spec> topic_specs(const topic_names& topics, const reference_topics& reference,
                                            int partitions, int replication_factor) {
    std::vector<stream::topic_spec> out;
    for (const std::string* t :
         {&topics.activity, &topics.position_updated, &topics.market_value, &topics.margin_updated, &topics.dead_letter})
        out.push_back({*t, partitions, replication_factor, {}});
    for (const std::string* t : {&topics.changelog, &reference.bookkeeping_rules, &reference.products,
                                 &reference.securities, &reference.margin_rules, &reference.prices,
                                 &reference.fx_rates})
        out.push_back({*t, partitions, replication_factor, {{"cleanup.policy", "compact"}}});
    return out;
}

} // namespace posd::outputs
