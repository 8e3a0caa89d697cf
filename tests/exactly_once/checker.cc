#include "checker.h"

#include "oracle.h"

#include "base/decimal.h"
#include "codec/decoder.h"
#include "codec/json_decode.h"
#include "engine/config.h"
#include "engine/reference_data.h"
#include "model/events.h"
#include "model/reason.h"
#include "model/records.h"
#include "model/state.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <librdkafka/rdkafkacpp.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <variant>

namespace posd::eos {

std::size_t topic_records::size() const {
    std::size_t n = 0;
    for (const auto& p : partitions) n += p.size();
    return n;
}

// ============================================================ the schedule

namespace {

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

std::int64_t parse_offset(std::string_view word, std::size_t line) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || end != word.data() + word.size() || v < 0)
        throw checker_error(fmt::format("schedule line {}: '{}' is not an offset", line, word));
    return v;
}

// Lower-case hex SHA-256, as sha256sum prints it: the checker's own, not
// posd's, to check a cut dead letter against the original bytes.
std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
        throw checker_error("SHA-256 failed");
    std::string out;
    for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
}

} // namespace

schedule parse_schedule(std::string_view text) {
    schedule s;
    std::size_t line_no = 0;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++line_no;
        if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        const std::vector<std::string_view> w = split_words(line);
        if (w.empty()) continue;
        auto offsets = [&](std::size_t from, std::size_t to) {
            std::vector<std::int64_t> v;
            for (std::size_t i = from; i < to; ++i) v.push_back(parse_offset(w[i], line_no));
            return v;
        };
        if (w[0] == "partitions") {
            if (w.size() != 2) throw checker_error(fmt::format("schedule line {}: partitions N", line_no));
            const std::int64_t n = parse_offset(w[1], line_no);
            if (n < 1 || n > 100'000) throw checker_error(fmt::format("schedule line {}: bad partition count", line_no));
            s.partitions = static_cast<std::int32_t>(n);
        } else if (w[0] == "business-date") {
            if (w.size() != 2 || !date::parse(w[1]))
                throw checker_error(fmt::format("schedule line {}: business-date YYYY-MM-DD", line_no));
            s.business_date = date::parse(w[1]);
        } else if (w[0] == "prices-initial") {
            s.prices_initial = offsets(1, w.size());
        } else if (w[0] == "phase") {
            phase p;
            const auto prices = std::find(w.begin(), w.end(), std::string_view("prices"));
            const auto at = static_cast<std::size_t>(prices - w.begin());
            p.activity_end = offsets(1, at);
            if (prices != w.end()) p.prices_end = offsets(at + 1, w.size());
            if (p.activity_end.empty())
                throw checker_error(fmt::format("schedule line {}: a phase names its activity ends", line_no));
            s.phases.push_back(std::move(p));
        } else {
            throw checker_error(fmt::format("schedule line {}: unknown directive '{}'", line_no, w[0]));
        }
    }
    if (s.partitions == 0) throw checker_error("schedule: no 'partitions' line");
    if (!s.business_date) throw checker_error("schedule: no 'business-date' line");
    return s;
}

schedule read_schedule(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw checker_error("cannot open the schedule " + path);
    std::ostringstream text;
    text << f.rdbuf();
    return parse_schedule(text.str());
}

// ============================================================ reading Kafka

namespace {

std::unique_ptr<RdKafka::Conf> make_conf(const std::map<std::string, std::string>& props) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    for (const auto& [k, v] : props)
        if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw checker_error(fmt::format("kafka {}: {}", k, err));
    return conf;
}

std::int32_t partition_count(RdKafka::KafkaConsumer& c, const std::string& topic, int timeout_ms) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&c, topic, nullptr, err));
    if (!handle) throw checker_error("topic " + topic + ": " + err);
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode e = c.metadata(false, handle.get(), &raw, timeout_ms);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (e != RdKafka::ERR_NO_ERROR || !md || md->topics()->empty())
        throw checker_error(fmt::format("topic {}: no metadata ({})", topic, RdKafka::err2str(e)));
    const RdKafka::TopicMetadata* t = md->topics()->front();
    if (t->err() != RdKafka::ERR_NO_ERROR || t->partitions()->empty())
        throw checker_error(fmt::format("topic {} does not exist ({})", topic, RdKafka::err2str(t->err())));
    return static_cast<std::int32_t>(t->partitions()->size());
}

} // namespace

captured read_topics(const read_options& o) {
    captured out;
    const topic_names& t = o.topics;
    const std::vector<std::pair<const std::string*, topic_records*>> topics = {
        {&t.activity, &out.activity},
        {&t.bookkeeping_rules, &out.bookkeeping_rules},
        {&t.products, &out.products},
        {&t.securities, &out.securities},
        {&t.margin_rules, &out.margin_rules},
        {&t.prices, &out.prices},
        {&t.position_updated, &out.position_updated},
        {&t.market_value, &out.market_value},
        {&t.margin_updated, &out.margin_updated},
        {&t.dead_letter, &out.dead_letter},
    };
    auto props = o.kafka;
    props.try_emplace("group.id", "posd.eos-checker"); // assign only: no membership, no commits
    props["enable.auto.commit"] = "false";
    props["enable.partition.eof"] = "true";
    props["auto.offset.reset"] = "earliest";
    // What a downstream consumer sees. The inputs are produced without
    // transactions, so for them this is a plain read.
    props["isolation.level"] = "read_committed";
    auto conf = make_conf(props);
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer) throw checker_error("cannot create the consumer: " + err);
    struct closer {
        RdKafka::KafkaConsumer& c;
        ~closer() { c.close(); }
    } close_at_exit{*consumer};

    const int timeout_ms = static_cast<int>(std::min<std::int64_t>(o.timeout.count(), 60'000));
    std::map<std::string, topic_records*> by_name;
    std::vector<RdKafka::TopicPartition*> ends;
    for (const auto& [name, rec] : topics) {
        const std::int32_t n = partition_count(*consumer, *name, timeout_ms);
        rec->partitions.assign(static_cast<std::size_t>(n), {});
        rec->end.assign(static_cast<std::size_t>(n), 0);
        by_name[*name] = rec;
        for (std::int32_t p = 0; p < n; ++p) ends.push_back(RdKafka::TopicPartition::create(*name, p, -1));
    }
    // Every end offset in one ListOffsets request (timestamp -1: the latest).
    const RdKafka::ErrorCode e = consumer->offsetsForTimes(ends, timeout_ms);
    std::set<std::pair<std::string, std::int32_t>> open;
    for (RdKafka::TopicPartition* tp : ends) {
        if (tp->err() != RdKafka::ERR_NO_ERROR || e != RdKafka::ERR_NO_ERROR) {
            const std::string why = RdKafka::err2str(tp->err() != RdKafka::ERR_NO_ERROR ? tp->err() : e);
            RdKafka::TopicPartition::destroy(ends);
            throw checker_error("end offsets: " + why);
        }
        by_name.at(tp->topic())->end[static_cast<std::size_t>(tp->partition())] = tp->offset();
        if (tp->offset() > 0) open.insert({tp->topic(), tp->partition()});
        tp->set_offset(RdKafka::Topic::OFFSET_BEGINNING);
    }
    const RdKafka::ErrorCode ae = consumer->assign(ends);
    RdKafka::TopicPartition::destroy(ends);
    if (ae != RdKafka::ERR_NO_ERROR) throw checker_error("assign: " + RdKafka::err2str(ae));

    const auto deadline = std::chrono::steady_clock::now() + o.timeout;
    while (!open.empty()) {
        if (std::chrono::steady_clock::now() > deadline) {
            std::string left;
            for (const auto& [name, p] : open) left += fmt::format(" {}/{}", name, p);
            throw checker_error("the read did not reach the end of:" + left);
        }
        std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
        if (m->err() == RdKafka::ERR__TIMED_OUT) {
            // Transaction markers take the last offsets, so the end may lie
            // past the last record: the consumer's position tells.
            std::vector<RdKafka::TopicPartition*> at;
            for (const auto& [name, p] : open) at.push_back(RdKafka::TopicPartition::create(name, p));
            if (consumer->position(at) == RdKafka::ERR_NO_ERROR)
                for (RdKafka::TopicPartition* tp : at)
                    if (tp->offset() >= by_name.at(tp->topic())->end[static_cast<std::size_t>(tp->partition())])
                        open.erase({tp->topic(), tp->partition()});
            RdKafka::TopicPartition::destroy(at);
            continue;
        }
        if (m->err() == RdKafka::ERR__PARTITION_EOF) {
            open.erase({m->topic_name(), m->partition()});
            continue;
        }
        if (m->err() != RdKafka::ERR_NO_ERROR) {
            // Transient errors (a broker going away) are retried by
            // librdkafka; anything fatal ends the read.
            if (m->err() == RdKafka::ERR__FATAL || m->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART)
                throw checker_error("consume: " + m->errstr());
            continue;
        }
        topic_records& tr = *by_name.at(m->topic_name());
        const auto p = static_cast<std::size_t>(m->partition());
        if (m->offset() >= tr.end[p]) continue; // arrived after the read began
        record r;
        r.offset = m->offset();
        if (m->key()) r.key = *m->key();
        if (m->payload()) r.value = std::string(static_cast<const char*>(m->payload()), m->len());
        if (const RdKafka::Headers* h = m->headers())
            for (const RdKafka::Headers::Header& hd : h->get_all())
                r.headers.emplace_back(hd.key(), hd.value() ? std::string(static_cast<const char*>(hd.value()),
                                                                          hd.value_size())
                                                            : std::string());
        tr.partitions[p].push_back(std::move(r));
        if (m->offset() + 1 >= tr.end[p]) open.erase({m->topic_name(), m->partition()});
    }
    return out;
}

// ============================================================ checking

namespace {

// One field of a JSON object as the checker compares it.
struct json_field {
    enum class kind : std::uint8_t { string, integer, null, other };
    kind k = kind::null;
    std::string text; // a string's content, an integer's digits, other values minified
    friend bool operator==(const json_field&, const json_field&) = default;
};
using field_map = std::map<std::string, json_field, std::less<>>;

std::string show(const json_field& f) {
    switch (f.k) {
    case json_field::kind::string: return fmt::format("\"{}\"", f.text);
    case json_field::kind::null: return "null";
    default: return f.text;
    }
}

json_field text(std::string_view s) { return {json_field::kind::string, std::string(s)}; }
json_field number(decimal d) { return {json_field::kind::string, d.to_string()}; }
json_field flag(bool b) { return {json_field::kind::string, b ? "Y" : "N"}; }
json_field day(const std::optional<date>& d) {
    return d ? json_field{json_field::kind::string, d->to_string()} : json_field{json_field::kind::null, {}};
}

// The margin call states as libs/codec/README.md names them on the wire.
std::string_view call_name(model::margin_call_state s) {
    switch (s) {
    case model::margin_call_state::none: return "NONE";
    case model::margin_call_state::house: return "HOUSE";
    case model::margin_call_state::exchange: return "EXCHANGE";
    }
    return "?";
}

std::string position_key_of(std::string_view firm, std::string_view ledger, std::string_view branch,
                            std::string_view base, std::string_view sub, std::string_view cusip) {
    return fmt::format("{}|{}|{}|{}|{}|{}", firm, ledger, branch, base, sub, cusip);
}

// The position.updated fields the oracle's final position determines (all
// but version, activityIds, offsets and the times).
field_map expected_position(const model::position& p) {
    return {
        {"positionKey", text(position_key_of(p.firm_postrmt, p.ledger_postrmt, p.branch_postrmt, p.base_postrmt,
                                             p.sub_acct_key, p.cusip))},
        {"firmPostrmt", text(p.firm_postrmt)},
        {"ledgerPostrmt", text(p.ledger_postrmt)},
        {"branchPostrmt", text(p.branch_postrmt)},
        {"basePostrmt", text(p.base_postrmt)},
        {"acctTypePostrmt", text(p.acct_type_postrmt)},
        {"subAcctKey", text(p.sub_acct_key)},
        {"cusip", text(p.cusip)},
        {"tdQty", number(p.td_qty)},
        {"sdQty", number(p.sd_qty)},
        {"tdQtyShortSide", number(p.td_qty_short_side)},
        {"houseReq", number(p.house_req)},
        {"equityReq", number(p.equity_req)},
        {"loss", number(p.loss)},
        {"shortExpDate", day(p.short_exp_date)},
        {"pairoffAcctType", text(p.pairoff_acct_type)},
        {"pairoffCusip", text(p.pairoff_cusip)},
        {"pairoffTdQty", number(p.pairoff_td_qty)},
        {"costBasis", number(p.cost_basis)},
        {"marketValue", number(p.market_value)},
        {"loanValue", number(p.loan_value)},
        {"bondRedeemSw", flag(p.metadata.bond_redeem_sw)},
        {"acctTransferredSw", flag(p.metadata.acct_transferred_sw)},
        {"reverseSplitSw", flag(p.metadata.reverse_split_sw)},
        {"acctActivityQty", number(p.metadata.acct_activity_qty)},
        {"acctActivityAmt", number(p.metadata.acct_activity_amt)},
    };
}
// The cause of an event and the ids it concerns (README.md "Message
// formats"): checked on every event (check_cause), not against the final state.
#define POSD_CAUSE_FIELDS "cause", "settledActivityIds", "businessDate", "endOfDayOffset", "revaluedCusip", "priceAsOf"
const std::set<std::string, std::less<>> position_excluded = {"version", "activityIds", "offsets", "eventTime",
                                                              "processingTime", POSD_CAUSE_FIELDS};

field_map expected_market_value(const model::market_value_event& e) {
    return {
        {"positionKey", text(position_key_of(e.firm, e.ledger, e.branch, e.base, e.sub_acct_key, e.product_id))},
        {"productId", text(e.product_id)},
        {"firm", text(e.firm)},
        {"ledger", text(e.ledger)},
        {"branch", text(e.branch)},
        {"base", text(e.base)},
        {"subAcctKey", text(e.sub_acct_key)},
        {"quantity", number(e.quantity)},
        {"price", number(e.price)},
        {"rule", text(e.rule)},
        {"marketValue", number(e.market_value)},
    };
}
const std::set<std::string, std::less<>> market_value_excluded = {"timestamp", "activityIds", "offsets",
                                                                  POSD_CAUSE_FIELDS};

// The `cash` array as minified JSON (libs/codec/README.md, margin.updated).
json_field cash_array(const std::vector<model::currency_cash>& cash) {
    std::string out = "[";
    for (const auto& c : cash) {
        if (out.size() > 1) out += ",";
        out += fmt::format(R"({{"currency":"{}","tdBal":"{}","sdBal":"{}","rate":"{}","tdBalBase":"{}","sdBalBase":"{}"}})",
                           c.currency, c.td_bal.to_string(), c.sd_bal.to_string(), c.rate.to_string(),
                           c.td_bal_base.to_string(), c.sd_bal_base.to_string());
    }
    return {json_field::kind::other, out + "]"};
}

field_map expected_balance(const model::margin_balance& b) {
    return {
        {"accountKey", text(fmt::format("{}|{}|{}|{}", b.firm, b.ledger, b.branch, b.base))},
        {"firm", text(b.firm)},
        {"ledger", text(b.ledger)},
        {"branch", text(b.branch)},
        {"base", text(b.base)},
        {"acctType", text(b.acct_type)},
        {"acctCategory", text(b.acct_category)},
        {"baseCurrency", text(b.base_currency)},
        {"tdBal", number(b.td_bal)},
        {"sdBal", number(b.sd_bal)},
        {"cash", cash_array(b.cash)},
        {"tdBalTotal", number(b.td_bal_total)},
        {"sdBalTotal", number(b.sd_bal_total)},
        {"sma", number(b.sma)},
        {"mvTdLong", number(b.mv_td_long)},
        {"mvTdShort", number(b.mv_td_short)},
        {"cashAvail", number(b.cash_avail)},
        {"loanValue", number(b.loan_value)},
        {"reqtHouse", number(b.reqt_house)},
        {"reqtExch", number(b.reqt_exch)},
        {"equity", number(b.equity)},
        {"marginCall", text(call_name(b.margin_call))},
        {"marginCallAmount", number(b.margin_call_amount)},
    };
}
const std::set<std::string, std::less<>> balance_excluded = {"version", "processingTime", "activityIds", "offsets",
                                                             POSD_CAUSE_FIELDS};
#undef POSD_CAUSE_FIELDS

// Differences between what posd published and what the oracle expects;
// empty when they agree. A field neither expected nor excluded is a
// difference too: the checker must know every field it lets through.
std::string compare(const field_map& expected, const field_map& actual,
                    const std::set<std::string, std::less<>>& excluded) {
    std::string out;
    auto add = [&](const std::string& s) {
        if (!out.empty()) out += "; ";
        out += s;
    };
    for (const auto& [name, want] : expected) {
        const auto it = actual.find(name);
        if (it == actual.end()) add(fmt::format("{} missing (oracle {})", name, show(want)));
        else if (it->second != want) add(fmt::format("{} posd={} oracle={}", name, show(it->second), show(want)));
    }
    for (const auto& [name, got] : actual)
        if (!expected.contains(name) && !excluded.contains(name))
            add(fmt::format("{}={} is a field the checker does not know", name, show(got)));
    return out;
}

// A parsed output value: its fields, the activity ids and offsets it lists
// and the activity ids it settles.
struct parsed_event {
    field_map fields;
    std::vector<std::string> activity_ids;
    std::vector<std::int64_t> offsets;
    std::vector<std::string> settled_activity_ids;
    bool has_lists = false;
};

// Parses one JSON object; returns an error text or empty.
std::string parse_event(simdjson::dom::parser& parser, const std::string& json, parsed_event& out) {
    simdjson::dom::element doc;
    if (auto e = parser.parse(json).get(doc); e != simdjson::SUCCESS) return simdjson::error_message(e);
    simdjson::dom::object obj;
    if (doc.get(obj) != simdjson::SUCCESS) return "not a JSON object";
    out = {};
    for (const auto field : obj) {
        const std::string_view name = field.key;
        const simdjson::dom::element v = field.value;
        json_field f;
        switch (v.type()) {
        case simdjson::dom::element_type::STRING:
            f.k = json_field::kind::string;
            f.text = std::string(std::string_view(v));
            break;
        case simdjson::dom::element_type::INT64:
            f.k = json_field::kind::integer;
            f.text = std::to_string(std::int64_t(v));
            break;
        case simdjson::dom::element_type::UINT64:
            f.k = json_field::kind::integer;
            f.text = std::to_string(std::uint64_t(v));
            break;
        case simdjson::dom::element_type::NULL_VALUE: f.k = json_field::kind::null; break;
        default:
            f.k = json_field::kind::other;
            f.text = simdjson::minify(v);
            break;
        }
        if (name == "activityIds" || name == "offsets" || name == "settledActivityIds") {
            simdjson::dom::array a;
            if (v.get(a) != simdjson::SUCCESS) return fmt::format("{} is not an array", name);
            for (const simdjson::dom::element x : a) {
                if (name != "offsets") {
                    std::string_view s;
                    if (x.get(s) != simdjson::SUCCESS) return fmt::format("{} holds a non-string", name);
                    (name == "activityIds" ? out.activity_ids : out.settled_activity_ids).emplace_back(s);
                } else {
                    std::int64_t n = 0;
                    if (x.get(n) != simdjson::SUCCESS) return "offsets holds a non-integer";
                    out.offsets.push_back(n);
                }
            }
            if (name != "settledActivityIds") out.has_lists = true;
        }
        if (!out.fields.emplace(std::string(name), std::move(f)).second)
            return fmt::format("field {} appears twice", name);
    }
    return {};
}

std::optional<std::uint64_t> version_of(const parsed_event& e) {
    const auto it = e.fields.find("version");
    if (it == e.fields.end() || it->second.k != json_field::kind::integer) return std::nullopt;
    std::uint64_t v = 0;
    const std::string& s = it->second.text;
    if (std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc()) return std::nullopt;
    return v;
}

std::optional<std::string> string_field(const parsed_event& e, std::string_view name) {
    const auto it = e.fields.find(name);
    if (it == e.fields.end() || it->second.k != json_field::kind::string) return std::nullopt;
    return it->second.text;
}

using source = std::pair<std::int32_t, std::int64_t>; // activity partition, offset

struct expected_dead_letter {
    std::string reason, key, value;
};

// The checker's run: the oracles over the input, then every check.
class checker_run {
public:
    checker_run(const captured& in, const schedule& plan, const verify_options& o, report& r)
        : in_(in), plan_(plan), opts_(o), report_(r) {}

    void go() {
        check_schedule();
        load_reference();
        run_oracles();
        check_counts();
        check_positions();
        check_market_values();
        check_balances();
        check_dead_letters();
    }

private:
    const captured& in_;
    const schedule& plan_;
    const verify_options& opts_;
    report& report_;

    engine::engine_config config_;
    engine::reference_data refdata_;
    codec::decoder decoder_;
    simdjson::dom::parser parser_;
    std::vector<std::unique_ptr<oracle::oracle>> oracles_;
    std::vector<std::vector<oracle::input>> inputs_; // per activity partition, offset order
    std::vector<std::int64_t> prices_read_;          // per prices partition: next offset applied
    std::uint64_t fed_ = 0;
    oracle::counts counts_;
    std::map<source, std::uint64_t> expected_applied_; // activity records applied (count, 1 each)
    // Settlements the oracle released: (activity partition, activity id) -> count (1 each).
    std::map<std::pair<std::int32_t, std::string>, std::uint64_t> expected_settled_;
    std::map<std::string, model::market_value_event> last_market_value_;
    std::map<source, expected_dead_letter> expected_dead_letters_;
    std::map<std::string, std::int32_t> position_partition_, account_partition_;

    template <typename... A>
    void violation(std::string check, fmt::format_string<A...> f, A&&... args) {
        ++report_.violation_count;
        if (report_.violations.size() < opts_.violations_kept)
            report_.violations.push_back({std::move(check), fmt::format(f, std::forward<A>(args)...)});
    }
    template <typename... A>
    void note(fmt::format_string<A...> f, A&&... args) {
        if (report_.notes.size() < 100) report_.notes.push_back(fmt::format(f, std::forward<A>(args)...));
    }

    // ---- schedule against the topics

    std::vector<phase> phases_;

    void check_schedule() {
        const auto activity_partitions = static_cast<std::int32_t>(in_.activity.partitions.size());
        const std::size_t prices_partitions = in_.prices.partitions.size();
        if (plan_.partitions != activity_partitions)
            throw checker_error(fmt::format("the schedule says {} activity partitions, the topic has {}",
                                            plan_.partitions, activity_partitions));
        if (plan_.prices_initial && plan_.prices_initial->size() != prices_partitions)
            throw checker_error(fmt::format("prices-initial names {} partitions, the prices topic has {}",
                                            plan_.prices_initial->size(), prices_partitions));
        phases_ = plan_.phases;
        if (phases_.empty()) phases_.push_back({in_.activity.end, {}});
        std::vector<std::int64_t> previous(static_cast<std::size_t>(activity_partitions), 0);
        std::vector<std::int64_t> prices = plan_.prices_initial.value_or(in_.prices.end);
        for (std::size_t i = 0; i < phases_.size(); ++i) {
            phase& ph = phases_[i];
            if (ph.activity_end.size() != previous.size())
                throw checker_error(fmt::format("phase {} names {} activity ends for {} partitions", i + 1,
                                                ph.activity_end.size(), previous.size()));
            if (ph.prices_end.empty()) ph.prices_end = prices;
            if (ph.prices_end.size() != prices_partitions)
                throw checker_error(fmt::format("phase {} names {} prices ends, the prices topic has {} partitions",
                                                i + 1, ph.prices_end.size(), prices_partitions));
            for (std::size_t p = 0; p < previous.size(); ++p) {
                if (ph.activity_end[p] < previous[p] || ph.activity_end[p] > in_.activity.end[p])
                    throw checker_error(fmt::format("phase {}: activity end {} of partition {} is outside {}..{}",
                                                    i + 1, ph.activity_end[p], p, previous[p], in_.activity.end[p]));
                previous[p] = ph.activity_end[p];
            }
            for (std::size_t q = 0; q < prices_partitions; ++q)
                if (ph.prices_end[q] < prices[q] || ph.prices_end[q] > in_.prices.end[q])
                    throw checker_error(fmt::format("phase {}: prices end {} of partition {} is outside {}..{}", i + 1,
                                                    ph.prices_end[q], q, prices[q], in_.prices.end[q]));
            prices = ph.prices_end;
        }
        for (std::size_t p = 0; p < previous.size(); ++p)
            if (previous[p] != in_.activity.end[p])
                violation("schedule", "activity partition {} ends at {}, the schedule's last phase at {}: records "
                                      "{}..{} are not checked",
                          p, in_.activity.end[p], previous[p], previous[p], in_.activity.end[p]);
    }

    // ---- reference data

    enum class ref_kind : std::uint8_t { bookkeeping_rules, products, securities, margin_rules, prices };
    static std::string_view name_of(ref_kind k) {
        switch (k) {
        case ref_kind::bookkeeping_rules: return "bookkeeping rule";
        case ref_kind::products: return "product";
        case ref_kind::securities: return "security";
        case ref_kind::margin_rules: return "margin rule";
        case ref_kind::prices: return "price";
        }
        return "?";
    }

    // Applies one reference record as posd's reference tables do
    // (services/posd/reference_tables.h): a value upserts, a null value
    // erases by key, a value that does not decode is skipped. Returns the
    // cusip a price or security record changed.
    std::optional<std::string> apply_reference(ref_kind kind, std::int32_t partition, const record& r) {
        const std::string key = r.key.value_or("");
        auto skipped = [&](std::string_view why) {
            note("{} record skipped (as posd skips it): partition {} offset {}: {}", name_of(kind), partition,
                 r.offset, why);
        };
        if (!r.value) {
            switch (kind) {
            case ref_kind::bookkeeping_rules: refdata_.erase_bookkeeping_rule(key); return std::nullopt;
            case ref_kind::products: refdata_.erase_product(key); return std::nullopt;
            case ref_kind::securities: refdata_.erase_security(key); return key;
            case ref_kind::prices: refdata_.erase_price(key); return key;
            case ref_kind::margin_rules: {
                const auto bar = key.rfind('|');
                std::int32_t seq = 0;
                if (bar == std::string::npos ||
                    std::from_chars(key.data() + bar + 1, key.data() + key.size(), seq).ec != std::errc()) {
                    skipped("a margin rule key is nyrsMgnRule|nyrsMgnSeq");
                    return std::nullopt;
                }
                refdata_.erase_margin_rule(std::string_view(key).substr(0, bar), seq);
                return std::nullopt;
            }
            }
            return std::nullopt;
        }
        codec::json_decoder& d = decoder_.json();
        std::optional<std::string> changed;
        auto take = [&](auto decoded) {
            if (const auto* rej = std::get_if<model::reject>(&decoded)) {
                skipped(model::reason_code(rej->reason));
                return;
            }
            auto& v = std::get<0>(decoded);
            if constexpr (requires { v.cusip; }) changed = v.cusip;
            refdata_.upsert(std::move(v));
        };
        switch (kind) {
        case ref_kind::bookkeeping_rules: take(d.decode_bookkeeping_rule(*r.value)); break;
        case ref_kind::products: take(d.decode_product(*r.value)); break;
        case ref_kind::securities: take(d.decode_security(*r.value)); break;
        case ref_kind::prices: take(d.decode_price(*r.value)); break;
        case ref_kind::margin_rules: take(d.decode_margin_rule(*r.value)); break;
        }
        return changed;
    }

    void load_reference() {
        auto all = [&](ref_kind kind, const topic_records& t) {
            for (std::size_t p = 0; p < t.partitions.size(); ++p)
                for (const record& r : t.partitions[p]) apply_reference(kind, static_cast<std::int32_t>(p), r);
        };
        all(ref_kind::bookkeeping_rules, in_.bookkeeping_rules);
        all(ref_kind::products, in_.products);
        all(ref_kind::securities, in_.securities);
        all(ref_kind::margin_rules, in_.margin_rules);
        prices_read_.assign(in_.prices.partitions.size(), 0);
        advance_prices(plan_.prices_initial.value_or(in_.prices.end));
    }

    // Applies the prices records up to `ends`; returns the cusips changed.
    std::set<std::string> advance_prices(const std::vector<std::int64_t>& ends) {
        std::set<std::string> changed;
        for (std::size_t q = 0; q < ends.size(); ++q) {
            for (const record& r : in_.prices.partitions[q])
                if (r.offset >= prices_read_[q] && r.offset < ends[q])
                    if (auto c = apply_reference(ref_kind::prices, static_cast<std::int32_t>(q), r))
                        changed.insert(std::move(*c));
            prices_read_[q] = std::max(prices_read_[q], ends[q]);
        }
        return changed;
    }

    // ---- the oracles

    const oracle::input* input_at(std::int32_t p, std::int64_t offset) const {
        if (p < 0 || static_cast<std::size_t>(p) >= inputs_.size()) return nullptr;
        const auto& v = inputs_[static_cast<std::size_t>(p)];
        const auto it = std::lower_bound(v.begin(), v.end(), offset,
                                         [](const oracle::input& i, std::int64_t o) { return i.offset < o; });
        return it != v.end() && it->offset == offset ? &*it : nullptr;
    }

    void decode_inputs() {
        inputs_.resize(in_.activity.partitions.size());
        for (std::size_t p = 0; p < in_.activity.partitions.size(); ++p) {
            const auto& records = in_.activity.partitions[p];
            if (!records.empty() && records.front().offset != 0)
                violation("counts", "activity partition {} starts at offset {}: earlier records are gone, the oracle "
                                    "cannot replay them",
                          p, records.front().offset);
            for (const record& r : records) {
                oracle::input i;
                i.offset = r.offset;
                i.key = r.key.value_or("");
                i.value = r.value.value_or("");
                // posd decodes by the last content-type header (kafka_service.cc).
                std::optional<std::string_view> type;
                for (const auto& [name, value] : r.headers)
                    if (name == "content-type") type = value;
                i.decoded = decoder_.decode(i.value, codec::content_type_from_header(type));
                inputs_[p].push_back(std::move(i));
            }
        }
    }

    void take(std::int32_t p, oracle::result&& r) {
        counts_.records_in += r.counts.records_in;
        counts_.applied += r.counts.applied;
        counts_.duplicates += r.counts.duplicates;
        counts_.rejected += r.counts.rejected;
        counts_.controls += r.counts.controls;
        for (model::output_event& e : r.events) {
            if (auto* u = std::get_if<model::position_updated>(&e)) {
                for (const std::string& id : u->cause.settled_activity_ids) ++expected_settled_[{p, id}];
                for (std::size_t i = 0; i < u->offsets.size(); ++i) {
                    const oracle::input* in = input_at(p, u->offsets[i]);
                    if (in && std::holds_alternative<model::activity_record>(in->decoded))
                        ++expected_applied_[{p, u->offsets[i]}];
                }
            } else if (auto* mv = std::get_if<model::market_value_event>(&e)) {
                last_market_value_[position_key_of(mv->firm, mv->ledger, mv->branch, mv->base, mv->sub_acct_key,
                                                   mv->product_id)] = std::move(*mv);
            } else if (auto* dl = std::get_if<model::dead_letter>(&e)) {
                expected_dead_letters_[{p, dl->offset}] = {std::string(model::reason_code(dl->reject.reason)),
                                                          std::move(dl->key), std::move(dl->value)};
            }
        }
    }

    void run_oracles() {
        decode_inputs();
        config_.initial_business_date = plan_.business_date;
        const auto partitions = static_cast<std::int32_t>(inputs_.size());
        for (std::int32_t p = 0; p < partitions; ++p)
            oracles_.push_back(std::make_unique<oracle::oracle>(p, config_, refdata_));
        // Times are not compared; any fixed time will do.
        const timestamp now{plan_.business_date->days() * std::int64_t{86'400'000} + 12 * 3'600'000};
        std::vector<std::size_t> next(inputs_.size(), 0);
        const std::size_t batch_max = std::max<std::size_t>(1, opts_.oracle_batch_records);
        for (const phase& ph : phases_) {
            // The partitions' oracles are independent (reference data only
            // changes between phases): two threads feed them, then their
            // results are taken in partition order.
            std::vector<std::vector<oracle::result>> results(inputs_.size());
            auto feed = [&](std::int32_t first, std::int32_t step) {
                for (std::int32_t p = first; p < partitions; p += step) {
                    const auto& v = inputs_[static_cast<std::size_t>(p)];
                    std::size_t& i = next[static_cast<std::size_t>(p)];
                    const std::int64_t end = ph.activity_end[static_cast<std::size_t>(p)];
                    while (i < v.size() && v[i].offset < end) {
                        std::size_t j = i;
                        while (j < v.size() && j - i < batch_max && v[j].offset < end) ++j;
                        results[static_cast<std::size_t>(p)].push_back(
                            oracles_[static_cast<std::size_t>(p)]->apply(std::span(v).subspan(i, j - i), now));
                        i = j;
                    }
                }
            };
            std::thread second(feed, 1, 2);
            feed(0, 2);
            second.join();
            for (std::int32_t p = 0; p < partitions; ++p)
                for (oracle::result& r : results[static_cast<std::size_t>(p)]) {
                    fed_ += r.counts.records_in;
                    take(p, std::move(r));
                }
            const std::set<std::string> changed = advance_prices(ph.prices_end);
            for (std::int32_t p = 0; p < partitions; ++p)
                for (const std::string& cusip : changed) take(p, oracles_[static_cast<std::size_t>(p)]->revalue(cusip, now));
        }
        for (std::int32_t p = 0; p < partitions; ++p) {
            for (const auto& [key, pos] : oracles_[static_cast<std::size_t>(p)]->positions)
                if (!position_partition_.emplace(key, p).second)
                    note("position {} exists in activity partitions {} and {}", key, position_partition_[key], p);
            for (const auto& [key, bal] : oracles_[static_cast<std::size_t>(p)]->balances)
                if (!account_partition_.emplace(key, p).second)
                    note("account {} exists in activity partitions {} and {}", key, account_partition_[key], p);
        }
        report_.records_in = in_.activity.size();
        report_.applied = counts_.applied;
        report_.duplicates = counts_.duplicates;
        report_.rejected = counts_.rejected;
        report_.outputs = in_.position_updated.size() + in_.market_value.size() + in_.margin_updated.size() +
                          in_.dead_letter.size();
    }

    void check_counts() {
        if (counts_.records_in != counts_.applied + counts_.duplicates + counts_.rejected)
            violation("counts", "the oracle's records in {} != applied {} + duplicates {} + rejected {}",
                      counts_.records_in, counts_.applied, counts_.duplicates, counts_.rejected);
        if (report_.records_in != counts_.records_in)
            violation("counts", "records in {} (activity topic) != applied + duplicates + rejected {} (fed to the "
                                "oracle by the schedule)",
                      report_.records_in, counts_.records_in);
        if (in_.dead_letter.size() != counts_.rejected)
            violation("counts", "dead letters {} != rejected {}", in_.dead_letter.size(), counts_.rejected);
    }

    // ---- position.updated: versions, applied exactly once, final state

    // One output key's stream: the last version and the last value.
    struct key_stream {
        std::uint64_t version = 0;
        std::int32_t partition = 0;
        std::int64_t offset = 0;
        const std::string* last = nullptr;
    };

    // Reads one output topic: every value parsed, key == key field, versions
    // 1..n per key (when `versioned`). Calls `each` for every parsed event.
    template <typename F>
    std::map<std::string, key_stream> read_stream(const topic_records& t, std::string_view topic,
                                                  std::string_view key_field, bool versioned, F&& each) {
        std::map<std::string, key_stream> streams;
        parsed_event e;
        for (std::size_t tp = 0; tp < t.partitions.size(); ++tp) {
            for (const record& r : t.partitions[tp]) {
                if (!r.value) {
                    violation("format", "{} {}/{}: a null value", topic, tp, r.offset);
                    continue;
                }
                if (std::string err = parse_event(parser_, *r.value, e); !err.empty()) {
                    violation("format", "{} {}/{}: {}: {}", topic, tp, r.offset, err, *r.value);
                    continue;
                }
                const std::string key = r.key.value_or("");
                if (string_field(e, key_field) != key)
                    violation("format", "{} {}/{}: message key {} but {} {}", topic, tp, r.offset, key, key_field,
                              string_field(e, key_field).value_or("(absent)"));
                key_stream& s = streams[key];
                if (versioned) {
                    const std::optional<std::uint64_t> v = version_of(e);
                    if (!v) {
                        violation("format", "{} {}/{}: no integer version", topic, tp, r.offset);
                    } else {
                        if (*v != s.version + 1)
                            violation("versions", "{} key {}: version {} at {}/{} after version {}{}", topic, key, *v,
                                      tp, r.offset, s.version,
                                      s.last ? fmt::format(" at {}/{}", s.partition, s.offset) : std::string());
                        s.version = *v;
                    }
                }
                s.partition = static_cast<std::int32_t>(tp);
                s.offset = r.offset;
                s.last = &*r.value;
                each(key, tp, r, e);
            }
        }
        return streams;
    }

    // Every event says why (README.md "Message formats"): a known `cause`
    // with its fields, and activityIds only on an application, so that a
    // consumer counting activityIds counts each application once. Returns
    // the cause, or empty after a violation.
    std::string check_cause(std::string_view topic, std::size_t tp, const record& r, const parsed_event& e) {
        const std::optional<std::string> cause = string_field(e, "cause");
        if (!cause || !model::cause_kind_from(*cause) || *cause == "none") {
            violation("format", "{} {}/{}: cause {}", topic, tp, r.offset, cause.value_or("absent"));
            return {};
        }
        if (!e.has_lists) {
            violation("format", "{} {}/{}: no activityIds/offsets", topic, tp, r.offset);
            return {};
        }
        if (*cause == "activity") {
            if (e.activity_ids.empty() || e.offsets.size() != e.activity_ids.size()) {
                violation("format", "{} {}/{}: an application with {} activityIds and {} offsets", topic, tp,
                          r.offset, e.activity_ids.size(), e.offsets.size());
                return {};
            }
            return *cause;
        }
        if (!e.activity_ids.empty() || !e.offsets.empty()) {
            violation("applied", "{} {}/{}: a {} lists activityIds {} (offsets {}): a consumer would count them as "
                                 "applications",
                      topic, tp, r.offset, *cause, fmt::join(e.activity_ids, ","), fmt::join(e.offsets, ","));
            return {};
        }
        const bool settlement = *cause == "settlement";
        if (settlement != !e.settled_activity_ids.empty()) {
            violation("format", "{} {}/{}: a {} with {} settledActivityIds", topic, tp, r.offset, *cause,
                      e.settled_activity_ids.size());
            return {};
        }
        const bool end_of_day = settlement || *cause == "end_of_day";
        const auto date = e.fields.find("businessDate");
        const auto offset = e.fields.find("endOfDayOffset");
        if (end_of_day && (date == e.fields.end() || date->second.k != json_field::kind::string ||
                           offset == e.fields.end() || offset->second.k != json_field::kind::integer))
            violation("format", "{} {}/{}: a {} without its END_OF_DAY's businessDate and endOfDayOffset", topic, tp,
                      r.offset, *cause);
        if (*cause == "revaluation" && !string_field(e, "revaluedCusip"))
            violation("format", "{} {}/{}: a revaluation without revaluedCusip", topic, tp, r.offset);
        return *cause;
    }

    void check_positions() {
        std::map<source, std::uint64_t> applied; // as position.updated lists them
        std::map<std::pair<std::int32_t, std::string>, std::uint64_t> settled;
        const auto streams = read_stream(
            in_.position_updated, "position.updated", "positionKey", true,
            [&](const std::string& key, std::size_t tp, const record& r, const parsed_event& e) {
                const std::string cause = check_cause("position.updated", tp, r, e);
                const auto where = position_partition_.find(key);
                if (where == position_partition_.end()) return; // reported with the final state
                // A settlement names the trades it settles apart: they were
                // counted when applied, and each settles once.
                for (const std::string& id : e.settled_activity_ids) ++settled[{where->second, id}];
                if (cause != "activity") return; // check_cause: as many offsets as activityIds
                for (std::size_t i = 0; i < e.offsets.size(); ++i) {
                    const std::int64_t off = e.offsets[i];
                    const oracle::input* in = input_at(where->second, off);
                    if (!in) {
                        violation("applied", "position.updated {}/{} key {} lists {} at offset {}, which activity "
                                             "partition {} does not hold",
                                  tp, r.offset, key, e.activity_ids[i], off, where->second);
                        continue;
                    }
                    const auto* a = std::get_if<model::activity_record>(&in->decoded);
                    if (!a || a->activity_id != e.activity_ids[i]) {
                        violation("applied", "position.updated {}/{} key {} lists {} at activity {}/{}, which holds {}",
                                  tp, r.offset, key, e.activity_ids[i], where->second, off,
                                  a ? a->activity_id : std::string("no activity record"));
                        continue;
                    }
                    ++applied[{where->second, off}];
                }
            });

        for (const auto& [src, n] : expected_applied_) {
            const auto it = applied.find(src);
            const std::uint64_t got = it == applied.end() ? 0 : it->second;
            if (got != n)
                violation("applied", "activity {}/{} ({}) is applied {} times in position.updated, the oracle {}",
                          src.first, src.second, activity_id_at(src), got, n);
        }
        for (const auto& [src, n] : applied)
            if (!expected_applied_.contains(src))
                violation("applied", "activity {}/{} ({}) is applied {} times in position.updated, the oracle never "
                                     "applied it",
                          src.first, src.second, activity_id_at(src), n);
        for (const auto& [id, n] : expected_settled_) {
            const auto it = settled.find(id);
            const std::uint64_t got = it == settled.end() ? 0 : it->second;
            if (got != n)
                violation("settled", "activity {} of partition {} settles {} times in position.updated, the oracle {}",
                          id.second, id.first, got, n);
        }
        for (const auto& [id, n] : settled)
            if (!expected_settled_.contains(id))
                violation("settled", "activity {} of partition {} settles {} times in position.updated, the oracle "
                                     "never settled it",
                          id.second, id.first, n);

        // Final state.
        parsed_event e;
        for (const auto& [key, s] : streams) {
            const auto where = position_partition_.find(key);
            if (where == position_partition_.end()) {
                violation("position", "position.updated key {} (last at {}/{}): a position the oracle never created",
                          key, s.partition, s.offset);
                continue;
            }
            const model::position& want = oracles_[static_cast<std::size_t>(where->second)]->positions.at(key);
            if (!parse_event(parser_, *s.last, e).empty()) continue; // reported already
            if (std::string diff = compare(expected_position(want), e.fields, position_excluded); !diff.empty())
                violation("position", "key {} last position.updated at {}/{} (version {}): {}", key, s.partition,
                          s.offset, s.version, diff);
        }
        for (const auto& [key, p] : position_partition_)
            if (!streams.contains(key))
                violation("position", "key {} (activity partition {}): the oracle holds the position, "
                                      "position.updated never published it",
                          key, p);
    }

    std::string activity_id_at(const source& src) const {
        const oracle::input* in = input_at(src.first, src.second);
        if (!in) return "?";
        if (const auto* a = std::get_if<model::activity_record>(&in->decoded)) return a->activity_id;
        return "not an activity";
    }

    void check_market_values() {
        const auto streams = read_stream(in_.market_value, "market-value", "positionKey", false,
                                         [this](const auto&, std::size_t tp, const record& r, const parsed_event& e) {
                                             check_cause("market-value", tp, r, e);
                                         });
        parsed_event e;
        for (const auto& [key, s] : streams) {
            const auto it = last_market_value_.find(key);
            if (it == last_market_value_.end()) {
                violation("market-value", "key {} (last at {}/{}): the oracle never valued this position", key,
                          s.partition, s.offset);
                continue;
            }
            if (!parse_event(parser_, *s.last, e).empty()) continue;
            if (std::string diff = compare(expected_market_value(it->second), e.fields, market_value_excluded);
                !diff.empty())
                violation("market-value", "key {} last market-value at {}/{}: {}", key, s.partition, s.offset, diff);
        }
        for (const auto& [key, mv] : last_market_value_)
            if (!streams.contains(key))
                violation("market-value", "key {}: the oracle valued the position, market-value never published it",
                          key);
    }

    void check_balances() {
        const auto streams = read_stream(in_.margin_updated, "margin.updated", "accountKey", true,
                                         [this](const auto&, std::size_t tp, const record& r, const parsed_event& e) {
                                             check_cause("margin.updated", tp, r, e);
                                         });
        parsed_event e;
        for (const auto& [key, s] : streams) {
            const auto where = account_partition_.find(key);
            if (where == account_partition_.end()) {
                violation("margin", "margin.updated key {} (last at {}/{}): an account the oracle never evaluated",
                          key, s.partition, s.offset);
                continue;
            }
            const model::margin_balance& want = oracles_[static_cast<std::size_t>(where->second)]->balances.at(key);
            if (!parse_event(parser_, *s.last, e).empty()) continue;
            if (std::string diff = compare(expected_balance(want), e.fields, balance_excluded); !diff.empty())
                violation("margin", "account {} last margin.updated at {}/{} (version {}): {}", key, s.partition,
                          s.offset, s.version, diff);
        }
        for (const auto& [key, p] : account_partition_)
            if (!streams.contains(key))
                violation("margin", "account {} (activity partition {}): the oracle holds a balance, margin.updated "
                                    "never published it",
                          key, p);
    }

    // ---- activity.dlq

    void check_dead_letters() {
        std::map<source, std::uint64_t> seen;
        for (std::size_t tp = 0; tp < in_.dead_letter.partitions.size(); ++tp) {
            for (const record& r : in_.dead_letter.partitions[tp]) {
                std::map<std::string, std::string, std::less<>> h;
                for (const auto& [name, value] : r.headers) h[name] = value; // the last of a name
                auto header = [&](std::string_view name) -> std::optional<std::string> {
                    const auto it = h.find(name);
                    return it == h.end() ? std::nullopt : std::optional(it->second);
                };
                std::int64_t sp = -1, so = -1;
                const auto hp = header("source.partition"), ho = header("source.offset");
                auto integer = [](const std::optional<std::string>& s, std::int64_t& v) {
                    return s && std::from_chars(s->data(), s->data() + s->size(), v).ec == std::errc();
                };
                if (!integer(hp, sp) || !integer(ho, so)) {
                    violation("dlq", "activity.dlq {}/{}: no source.partition/source.offset headers", tp, r.offset);
                    continue;
                }
                if (header("source.topic") != opts_.activity_topic)
                    violation("dlq", "activity.dlq {}/{}: source.topic {}", tp, r.offset,
                              header("source.topic").value_or("(absent)"));
                const source src{static_cast<std::int32_t>(sp), so};
                const std::uint64_t n = ++seen[src];
                const auto it = expected_dead_letters_.find(src);
                if (it == expected_dead_letters_.end()) {
                    violation("dlq", "activity.dlq {}/{}: a dead letter for activity {}/{} ({}), which the oracle did "
                                     "not reject",
                              tp, r.offset, sp, so, header("reason").value_or("no reason"));
                    continue;
                }
                if (n > 1) {
                    violation("dlq", "activity.dlq {}/{}: activity {}/{} dead-lettered {} times", tp, r.offset, sp, so,
                              n);
                    continue;
                }
                const expected_dead_letter& want = it->second;
                if (header("reason") != want.reason)
                    violation("dlq", "activity.dlq {}/{} (activity {}/{}): reason {}, the oracle {}", tp, r.offset, sp,
                              so, header("reason").value_or("(absent)"), want.reason);
                if (r.key.value_or("") != want.key)
                    violation("dlq", "activity.dlq {}/{} (activity {}/{}): key '{}', the original '{}'", tp, r.offset,
                              sp, so, r.key.value_or(""), want.key);
                const std::string got = r.value.value_or("");
                if (const auto cut = header("original.value.bytes")) {
                    // Over the dead-letter cap: a prefix of the original,
                    // with the original's size and SHA-256 (README.md).
                    if (*cut != std::to_string(want.value.size()) ||
                        header("original.value.sha256") != sha256_hex(want.value) || got.size() >= want.value.size() ||
                        want.value.compare(0, got.size(), got) != 0)
                        violation("dlq",
                                  "activity.dlq {}/{} (activity {}/{}): a cut value that is not a prefix of the "
                                  "original with its size and SHA-256",
                                  tp, r.offset, sp, so);
                } else if (got != want.value) {
                    violation("dlq", "activity.dlq {}/{} (activity {}/{}): the value is not the original bytes", tp,
                              r.offset, sp, so);
                }
            }
        }
        for (const auto& [src, want] : expected_dead_letters_)
            if (!seen.contains(src))
                violation("dlq", "activity {}/{} rejected by the oracle ({}) has no dead letter", src.first, src.second,
                          want.reason);
    }
};

} // namespace

report verify(const captured& in, const schedule& plan, const verify_options& options) {
    report r;
    checker_run(in, plan, options, r).go();
    return r;
}

std::string summary_line(const report& r, std::string_view scenario, std::uint64_t faults) {
    return fmt::format("eos: scenario={} records_in={} applied={} duplicates={} rejected={} outputs={} faults={} "
                       "violations={}",
                       scenario, r.records_in, r.applied, r.duplicates, r.rejected, r.outputs, faults,
                       r.violation_count);
}

} // namespace posd::eos
