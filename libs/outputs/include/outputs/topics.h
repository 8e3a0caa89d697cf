#pragma once
// posd's topics: the names a configuration gives them, which output event
// goes to which topic, and how each topic is created (partitions, compaction).
// The one place that knows; the service, posctl and the test harnesses read
// it here. Pure data and functions; thread-safe.

#include "model/events.h"
#include "ops/config.h"
#include "stream/admin.h"

#include <string>
#include <vector>

namespace posd::outputs {

// The activity input and the topics posd writes.
struct topic_names {
    std::string activity = "activity";
    std::string position_updated = "position.updated";
    std::string market_value = "market-value";
    std::string margin_updated = "margin.updated";
    std::string dead_letter = "activity.dlq";
    std::string changelog = "posd.changelog"; // the Kafka service's state changelog
};

// The compacted reference-data topics posd reads in full (global tables).
struct reference_topics {
    std::string bookkeeping_rules = "refdata.bookkeeping-rules";
    std::string products = "refdata.products";
    std::string securities = "refdata.securities";
    std::string margin_rules = "refdata.margin-rules";
    std::string prices = "prices";
    std::string fx_rates = "fx-rates";
};

// The topic names of a configuration (topics.*).
topic_names topic_names_of(const ops::config& c);
reference_topics reference_topics_of(const ops::config& c);

// The topic an output event goes to.
const std::string& topic_of(const model::output_event& event, const topic_names& topics);

// Every topic posd reads or writes, for creating them (posctl create-topics,
// the embedded cluster): the changelog and the reference topics compacted.
std::vector<stream::topic_spec> topic_specs(const topic_names& topics, const reference_topics& reference,
                                            int partitions, int replication_factor);

} // namespace posd::outputs
