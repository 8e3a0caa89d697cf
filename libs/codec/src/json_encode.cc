#include "codec/json_encode.h"

#include "model/keys.h"
#include "model/reason.h"
#include "model/state.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

namespace posd::codec {
namespace {

// The string's content, escaped per RFC 8259, without quotes.
void append_escaped(std::string_view s, std::string& out) {
    static constexpr char hex[] = "0123456789abcdef";
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': out.append("\\\"", 2); break;
        case '\\': out.append("\\\\", 2); break;
        case '\b': out.append("\\b", 2); break;
        case '\f': out.append("\\f", 2); break;
        case '\n': out.append("\\n", 2); break;
        case '\r': out.append("\\r", 2); break;
        case '\t': out.append("\\t", 2); break;
        default: {
            const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
            out.append(esc, 6);
        }
        }
    }
    out.append(s.data() + run, s.size() - run);
}

// Writes one JSON object field by field; the names are posd's own constants
// and need no escaping.
class object_writer {
public:
    explicit object_writer(std::string& out) : out_(out) { out_.push_back('{'); }
    object_writer(const object_writer&) = delete;
    object_writer& operator=(const object_writer&) = delete;
    // Closes the object.
    ~object_writer() { out_.push_back('}'); }

    void key(std::string_view name) {
        if (!first_) out_.push_back(',');
        first_ = false;
        out_.push_back('"');
        out_.append(name);
        out_.append("\":", 2);
    }
    void null(std::string_view name) {
        key(name);
        out_.append("null", 4);
    }
    void text(std::string_view name, std::string_view value) {
        key(name);
        append_json_string(value, out_);
    }
    // Leaves out an empty text (input records: empty = absent).
    void text_if_set(std::string_view name, std::string_view value) {
        if (!value.empty()) text(name, value);
    }
    void number(std::string_view name, decimal value) {
        key(name);
        out_.push_back('"');
        value.append_to(out_);
        out_.push_back('"');
    }
    void number(std::string_view name, const std::optional<decimal>& value) {
        if (value) number(name, *value);
        else null(name);
    }
    void number_if_set(std::string_view name, const std::optional<decimal>& value) {
        if (value) number(name, *value);
    }
    void day(std::string_view name, date value) {
        key(name);
        out_.push_back('"');
        value.append_to(out_);
        out_.push_back('"');
    }
    void day(std::string_view name, const std::optional<date>& value) {
        if (value) day(name, *value);
        else null(name);
    }
    void day_if_set(std::string_view name, const std::optional<date>& value) {
        if (value) day(name, *value);
    }
    void time(std::string_view name, timestamp value) {
        key(name);
        out_.push_back('"');
        value.append_to(out_);
        out_.push_back('"');
    }
    void flag(std::string_view name, bool value) {
        key(name);
        out_.append(value ? "\"Y\"" : "\"N\"", 3);
    }
    template <typename Int>
    void integer(std::string_view name, Int value) {
        static_assert(std::is_integral_v<Int>);
        key(name);
        append_integer(value);
    }
    template <typename Int>
    void append_integer(Int value) {
        std::array<char, 24> buf;
        auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
        out_.append(buf.data(), static_cast<std::size_t>(end - buf.data()));
    }
    // A key in its wire form: the parts joined by '|', as one JSON string.
    void joined(std::string_view name, std::initializer_list<std::string_view> parts) {
        key(name);
        out_.push_back('"');
        bool first = true;
        for (std::string_view part : parts) {
            if (!first) out_.push_back('|');
            first = false;
            append_escaped(part, out_);
        }
        out_.push_back('"');
    }
    void strings(std::string_view name, const std::vector<std::string>& values) {
        key(name);
        out_.push_back('[');
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i != 0) out_.push_back(',');
            append_json_string(values[i], out_);
        }
        out_.push_back(']');
    }
    void integers(std::string_view name, const std::vector<std::int64_t>& values) {
        key(name);
        out_.push_back('[');
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i != 0) out_.push_back(',');
            append_integer(values[i]);
        }
        out_.push_back(']');
    }

private:
    std::string& out_;
    bool first_ = true;
};

template <typename... F>
struct overloaded : F... {
    using F::operator()...;
};
template <typename... F>
overloaded(F...) -> overloaded<F...>;

} // namespace

void append_json_string(std::string_view text, std::string& out) {
    out.push_back('"');
    append_escaped(text, out);
    out.push_back('"');
}

void encode_json(const model::position_updated& event, std::string& out) {
    const model::position& p = event.position;
    object_writer w(out);
    w.joined("positionKey", {p.firm_postrmt, p.ledger_postrmt, p.branch_postrmt, p.base_postrmt, p.sub_acct_key, p.cusip});
    w.text("firmPostrmt", p.firm_postrmt);
    w.text("ledgerPostrmt", p.ledger_postrmt);
    w.text("branchPostrmt", p.branch_postrmt);
    w.text("basePostrmt", p.base_postrmt);
    w.text("acctTypePostrmt", p.acct_type_postrmt);
    w.text("subAcctKey", p.sub_acct_key);
    w.text("cusip", p.cusip);
    w.number("tdQty", p.td_qty);
    w.number("sdQty", p.sd_qty);
    w.number("tdQtyShortSide", p.td_qty_short_side);
    w.number("houseReq", p.house_req);
    w.number("equityReq", p.equity_req);
    w.number("loss", p.loss);
    w.day("shortExpDate", p.short_exp_date);
    w.text("pairoffAcctType", p.pairoff_acct_type);
    w.text("pairoffCusip", p.pairoff_cusip);
    w.number("pairoffTdQty", p.pairoff_td_qty);
    w.number("costBasis", p.cost_basis);
    w.number("marketValue", p.market_value);
    w.number("loanValue", p.loan_value);
    w.flag("bondRedeemSw", p.metadata.bond_redeem_sw);
    w.flag("acctTransferredSw", p.metadata.acct_transferred_sw);
    w.flag("reverseSplitSw", p.metadata.reverse_split_sw);
    w.number("acctActivityQty", p.metadata.acct_activity_qty);
    w.number("acctActivityAmt", p.metadata.acct_activity_amt);
    w.integer("version", p.version);
    w.strings("activityIds", event.activity_ids);
    w.integers("offsets", event.offsets);
    w.time("eventTime", event.event_time);
    w.time("processingTime", event.processing_time);
}

void encode_json(const model::market_value_event& event, std::string& out) {
    object_writer w(out);
    w.joined("positionKey", {event.firm, event.ledger, event.branch, event.base, event.sub_acct_key, event.product_id});
    w.text("productId", event.product_id);
    w.text("firm", event.firm);
    w.text("ledger", event.ledger);
    w.text("branch", event.branch);
    w.text("base", event.base);
    w.text("subAcctKey", event.sub_acct_key);
    w.number("quantity", event.quantity);
    w.number("price", event.price);
    w.text("rule", event.rule);
    w.number("marketValue", event.market_value);
    w.time("timestamp", event.ts);
}

void encode_json(const model::margin_updated& event, std::string& out) {
    const model::margin_balance& b = event.balance;
    object_writer w(out);
    w.joined("accountKey", {b.firm, b.ledger, b.branch, b.base});
    w.text("firm", b.firm);
    w.text("ledger", b.ledger);
    w.text("branch", b.branch);
    w.text("base", b.base);
    w.text("acctType", b.acct_type);
    w.text("acctCategory", b.acct_category);
    w.number("tdBal", b.td_bal);
    w.number("sdBal", b.sd_bal);
    w.number("sma", b.sma);
    w.number("mvTdLong", b.mv_td_long);
    w.number("mvTdShort", b.mv_td_short);
    w.number("cashAvail", b.cash_avail);
    w.number("loanValue", b.loan_value);
    w.number("reqtHouse", b.reqt_house);
    w.number("reqtExch", b.reqt_exch);
    w.number("equity", b.equity);
    w.text("marginCall", model::to_string(b.margin_call));
    w.number("marginCallAmount", b.margin_call_amount);
    w.integer("version", b.version);
    w.time("processingTime", event.processing_time);
}

std::string event_key(const model::output_event& event) {
    return std::visit(
        overloaded{
            [](const model::position_updated& e) { return e.position.key().value(); },
            [](const model::market_value_event& e) {
                return model::make_position_key(e.firm, e.ledger, e.branch, e.base, e.sub_acct_key, e.product_id)
                    .value();
            },
            [](const model::margin_updated& e) { return e.balance.account().value(); },
            [](const model::dead_letter& e) { return e.key; },
        },
        event);
}

std::vector<std::pair<std::string, std::string>> dead_letter_headers(const model::dead_letter& letter,
                                                                     std::string_view source_topic) {
    std::vector<std::pair<std::string, std::string>> headers;
    headers.reserve(6);
    headers.emplace_back("reason", std::string(model::reason_code(letter.reject.reason)));
    // Messages are written never to hold account numbers (codec and engine
    // rejects alike), so they pass through as they are.
    headers.emplace_back("message", letter.reject.message);
    headers.emplace_back("field", letter.reject.field);
    headers.emplace_back("source.topic", std::string(source_topic));
    headers.emplace_back("source.partition", std::to_string(letter.partition));
    headers.emplace_back("source.offset", std::to_string(letter.offset));
    return headers;
}

void encode_activity_json(const model::activity_record& r, std::string& out) {
    object_writer w(out);
    w.text("activityId", r.activity_id);
    if (r.event_time) w.time("eventTime", *r.event_time);
    w.text("maxxKeyCode", r.maxx_key_code);
    w.text("firm", r.firm);
    w.text("ledger", r.ledger);
    w.text("branch", r.branch);
    w.text("base", r.base);
    w.text_if_set("subAcctKey", r.sub_acct_key);
    w.text_if_set("acctCategory", r.acct_category);
    w.text_if_set("rr", r.rr);
    w.text_if_set("usCitizenship", r.us_citizenship);
    w.text_if_set("nyResident", r.ny_resident);
    w.text_if_set("paper", r.paper);
    w.text_if_set("intracctEligibleType", r.intracct_eligible_type);
    w.number_if_set("intracctMinAmt", r.intracct_min_amt);
    w.day_if_set("accountClosedDate", r.account_closed_date);
    w.text_if_set("cusip", r.cusip);
    w.text_if_set("productLine", r.product_line);
    w.number("quantity", r.quantity);
    w.number("amount", r.amount);
    w.number_if_set("price", r.price);
    w.text("currency", r.currency);
    w.day_if_set("tradeDate", r.trade_date);
    w.day_if_set("settleDate", r.settle_date);
    w.flag("bondRedeemSw", r.bond_redeem_sw);
    w.flag("acctTransferredSw", r.acct_transferred_sw);
    w.flag("reverseSplitSw", r.reverse_split_sw);
}

void encode_control_json(const model::control_record& r, std::string& out) {
    object_writer w(out);
    w.text("type", "control");
    switch (r.action) {
    case model::control_action::end_of_day: w.text("action", "END_OF_DAY"); break;
    }
    w.day("businessDate", r.business_date);
}

void encode_json(const model::bookkeeping_rule& r, std::string& out) {
    object_writer w(out);
    w.text("maxxKeyCode", r.maxx_key_code);
    w.text("shortDesc", r.short_desc);
    w.text("longDesc", r.long_desc);
    w.flag("updTdBalSw", r.upd_td_bal_sw);
    w.flag("updSdBalSw", r.upd_sd_bal_sw);
    w.flag("adjSmaSw", r.adj_sma_sw);
    w.flag("updTdQtySw", r.upd_td_qty_sw);
    w.flag("updSdQtySw", r.upd_sd_qty_sw);
}

void encode_json(const model::product_definition& p, std::string& out) {
    object_writer w(out);
    w.text("prodline", p.prodline);
    w.text("descShort", p.desc_short);
    w.number("factor", p.factor);
    w.number("defaultPriceForMgn", p.default_price_for_mgn);
    w.flag("fractionsAllowedSw", p.fractions_allowed_sw);
    w.flag("marginableFlag", p.marginable_flag);
    w.flag("contributesToEquitySw", p.contributes_to_equity_sw);
    w.text("extRuleFlag", p.ext_rule_flag);
}

void encode_json(const model::security& s, std::string& out) {
    object_writer w(out);
    w.text("cusip", s.cusip);
    w.text("uls", s.uls);
    w.text("productLine", s.product_line);
    w.number("strikePrice", s.strike_price);
    w.number("contractSize", s.contract_size);
    w.day("expOrMaturityDate", s.exp_or_maturity_date);
}

void encode_json(const model::price& p, std::string& out) {
    object_writer w(out);
    w.text("cusip", p.cusip);
    w.number("price", p.price);
    w.number("prevPrice", p.prev_price);
    w.time("asOf", p.as_of);
}

void encode_json(const model::margin_rule& r, std::string& out) {
    object_writer w(out);
    w.text("nyrsMgnRule", r.nyrs_mgn_rule);
    w.integer("nyrsMgnSeq", r.nyrs_mgn_seq);
    w.number("nyrsLevel", r.nyrs_level);
    w.number("nyrsAction", r.nyrs_action);
}

} // namespace posd::codec
