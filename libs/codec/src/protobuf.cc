#include "codec/protobuf.h"

#include "base/limits.h"
#include "base/vassert.h"
#include "codec/activity_fields.h"

#include "posd.pb.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/unknown_field_set.h>

#include <fmt/format.h>

#include <climits>
#include <cstdint>
#include <optional>
#include <utility>

namespace posd::codec {
namespace {

namespace pb = google::protobuf;

// One message object per type and thread, cleared before each use: Clear()
// keeps the strings' buffers, so steady-state work does not allocate them.
template <typename Message>
Message& scratch() {
    thread_local Message message;
    message.Clear();
    return message;
}

template <typename Message>
bool parse(std::string_view bytes, Message& message) {
    if (bytes.size() > static_cast<std::size_t>(INT_MAX)) return false;
    return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

template <typename Message>
void serialize(const Message& message, std::string& out) {
    out.clear();
    // Proto3 messages have no required fields; serialization fails only
    // beyond 2 GiB, which no posd record comes near.
    const bool ok = message.SerializeToString(&out);
    vassert(ok, "serializing {} failed", message.GetTypeName());
}

// --- field conversions --------------------------------------------------------

void put(std::string* field, decimal value) {
    field->clear();
    value.append_to(*field);
}

void put(std::string* field, date value) {
    field->clear();
    value.append_to(*field);
}

// Stored decimals are decimal::to_string text over the whole range (derived
// sums may exceed an input's digit cap); the empty string, a field written
// before it existed, reads as zero.
bool read_decimal(std::string_view text, decimal& out) {
    if (text.empty()) {
        out = decimal{};
        return true;
    }
    return decimal::parse_canonical(text, out);
}

// Stored dates are date::to_string text. Any calendar date of years
// 0000-9999 reads back as written, also one outside base/date.h's range: the
// engine computes none since issue 9, but a store or changelog written
// before (an END_OF_DAY 2999-12-31 took the business date to 3000-01-01)
// must read back rather than stop the partition on every restart.
bool read_date(std::string_view text, date& out) {
    date d;
    if (date::parse_wide(text, d) == date::parse_error::malformed) return false;
    out = d;
    return true;
}

// A present `optional string` field as a view, else nullopt.
#define POSD_PRESENT(message, name)                                                        \
    ((message).has_##name() ? std::optional<std::string_view>{(message).name()}            \
                            : std::optional<std::string_view>{})

std::optional<std::string_view> switch_text(bool present, bool value) {
    if (!present) return std::nullopt;
    return value ? std::string_view{"Y"} : std::string_view{"N"};
}

// --- invalid UTF-8 ------------------------------------------------------------

// Well-formed UTF-8 as the Unicode standard defines it (no overlong forms,
// no surrogates, nothing above U+10FFFF), the rule protobuf applies.
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) { ++i; continue; }
        std::size_t len = 0;
        unsigned char lo = 0x80;
        unsigned char hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) { len = 2; }
        else if (c == 0xE0) { len = 3; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) { len = 3; }
        else if (c == 0xED) { len = 3; hi = 0x9F; }
        else if (c >= 0xEE && c <= 0xEF) { len = 3; }
        else if (c == 0xF0) { len = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) { len = 4; }
        else if (c == 0xF4) { len = 4; hi = 0x8F; }
        else return false;
        if (n - i < len) return false;
        const auto c1 = static_cast<unsigned char>(s[i + 1]);
        if (c1 < lo || c1 > hi) return false;
        for (std::size_t k = 2; k < len; ++k) {
            const auto ck = static_cast<unsigned char>(s[i + k]);
            if (ck < 0x80 || ck > 0xBF) return false;
        }
        i += len;
    }
    return true;
}

// Called only when the generated parser has refused a record. Proto3 has no
// required fields and the parser skips fields of an unexpected wire type, so
// on a structurally sound record the only cause is a `string` field holding
// invalid UTF-8. The record is re-read generically, two levels deep (the
// InputRecord and its activity/control message, which hold only scalars),
// to tell that case (INVALID_ENCODING, with the field's wire name) from
// broken bytes (MALFORMED).
model::reject classify_parse_failure(std::string_view bytes) {
    const model::reject malformed{model::reason::malformed, "",
                                  "not a parseable protobuf posd.v1.InputRecord"};
    pb::UnknownFieldSet top;
    if (!top.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return malformed;
    const pb::Descriptor* input = v1::InputRecord::descriptor();
    for (int i = 0; i < top.field_count(); ++i) {
        const pb::UnknownField& outer = top.field(i);
        const pb::FieldDescriptor* record_field = input->FindFieldByNumber(outer.number());
        if (record_field == nullptr || outer.type() != pb::UnknownField::TYPE_LENGTH_DELIMITED) continue;
        pb::UnknownFieldSet inner;
        const std::string& payload = outer.length_delimited();
        if (!inner.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return malformed;
        const pb::Descriptor* record = record_field->message_type();
        for (int j = 0; j < inner.field_count(); ++j) {
            const pb::UnknownField& f = inner.field(j);
            const pb::FieldDescriptor* field = record->FindFieldByNumber(f.number());
            if (field == nullptr || field->type() != pb::FieldDescriptor::TYPE_STRING ||
                f.type() != pb::UnknownField::TYPE_LENGTH_DELIMITED) {
                continue;
            }
            if (!valid_utf8(f.length_delimited())) {
                return model::reject{model::reason::invalid_encoding, field->json_name(),
                                     fmt::format("{} is not valid UTF-8", field->json_name())};
            }
        }
    }
    return malformed;
}

// --- input records ------------------------------------------------------------

raw_activity raw_from(const v1::ActivityRecord& m) {
    raw_activity raw;
    raw.activity_id = POSD_PRESENT(m, activity_id);
    raw.event_time = POSD_PRESENT(m, event_time);
    raw.maxx_key_code = POSD_PRESENT(m, maxx_key_code);
    raw.firm = POSD_PRESENT(m, firm);
    raw.ledger = POSD_PRESENT(m, ledger);
    raw.branch = POSD_PRESENT(m, branch);
    raw.base = POSD_PRESENT(m, base);
    raw.sub_acct_key = POSD_PRESENT(m, sub_acct_key);
    raw.acct_category = POSD_PRESENT(m, acct_category);
    raw.rr = POSD_PRESENT(m, rr);
    raw.us_citizenship = POSD_PRESENT(m, us_citizenship);
    raw.ny_resident = POSD_PRESENT(m, ny_resident);
    raw.paper = POSD_PRESENT(m, paper);
    raw.intracct_eligible_type = POSD_PRESENT(m, intracct_eligible_type);
    raw.intracct_min_amt = POSD_PRESENT(m, intracct_min_amt);
    raw.account_closed_date = POSD_PRESENT(m, account_closed_date);
    raw.cusip = POSD_PRESENT(m, cusip);
    raw.product_line = POSD_PRESENT(m, product_line);
    raw.quantity = POSD_PRESENT(m, quantity);
    raw.amount = POSD_PRESENT(m, amount);
    raw.price = POSD_PRESENT(m, price);
    raw.currency = POSD_PRESENT(m, currency);
    raw.trade_date = POSD_PRESENT(m, trade_date);
    raw.settle_date = POSD_PRESENT(m, settle_date);
    raw.bond_redeem_sw = switch_text(m.has_bond_redeem_sw(), m.bond_redeem_sw());
    raw.acct_transferred_sw = switch_text(m.has_acct_transferred_sw(), m.acct_transferred_sw());
    raw.reverse_split_sw = switch_text(m.has_reverse_split_sw(), m.reverse_split_sw());
    return raw;
}

raw_activity raw_from(const v1::ControlRecord& m) {
    raw_activity raw;
    // The oneof says "control"; an explicit type is passed on as written so
    // that the record validates exactly as its JSON mapping would.
    // An empty type means no type, as everywhere.
    raw.type = m.has_type() && !m.type().empty() ? std::string_view{m.type()} : std::string_view{"control"};
    raw.action = POSD_PRESENT(m, action);
    raw.business_date = POSD_PRESENT(m, business_date);
    return raw;
}

#undef POSD_PRESENT

// Sets an optional string field only when the text is non-empty.
template <typename Setter>
void put_if_nonempty(const std::string& value, Setter set) {
    if (!value.empty()) set(value);
}

std::string_view action_text(model::control_action action) {
    switch (action) {
    case model::control_action::end_of_day: return "END_OF_DAY";
    }
    vunreachable("control action {}", static_cast<int>(action));
}

// --- state ----------------------------------------------------------------------

void to_proto(const model::position& p, v1::Position& m) {
    m.set_firm_postrmt(p.firm_postrmt);
    m.set_ledger_postrmt(p.ledger_postrmt);
    m.set_branch_postrmt(p.branch_postrmt);
    m.set_base_postrmt(p.base_postrmt);
    m.set_acct_type_postrmt(p.acct_type_postrmt);
    m.set_sub_acct_key(p.sub_acct_key);
    m.set_cusip(p.cusip);
    put(m.mutable_td_qty(), p.td_qty);
    put(m.mutable_sd_qty(), p.sd_qty);
    put(m.mutable_td_qty_short_side(), p.td_qty_short_side);
    put(m.mutable_house_req(), p.house_req);
    put(m.mutable_equity_req(), p.equity_req);
    put(m.mutable_loss(), p.loss);
    if (p.short_exp_date) put(m.mutable_short_exp_date(), *p.short_exp_date);
    m.set_pairoff_acct_type(p.pairoff_acct_type);
    m.set_pairoff_cusip(p.pairoff_cusip);
    put(m.mutable_pairoff_td_qty(), p.pairoff_td_qty);
    put(m.mutable_cost_basis(), p.cost_basis);
    put(m.mutable_market_value(), p.market_value);
    put(m.mutable_loan_value(), p.loan_value);
    m.set_contributes_to_equity(p.contributes_to_equity);
    m.set_version(p.version);
    v1::PositionMetadata& md = *m.mutable_metadata();
    md.set_bond_redeem_sw(p.metadata.bond_redeem_sw);
    md.set_acct_transferred_sw(p.metadata.acct_transferred_sw);
    md.set_reverse_split_sw(p.metadata.reverse_split_sw);
    put(md.mutable_acct_activity_qty(), p.metadata.acct_activity_qty);
    put(md.mutable_acct_activity_amt(), p.metadata.acct_activity_amt);
}

bool from_proto(const v1::Position& m, model::position& p) {
    p.firm_postrmt = m.firm_postrmt();
    p.ledger_postrmt = m.ledger_postrmt();
    p.branch_postrmt = m.branch_postrmt();
    p.base_postrmt = m.base_postrmt();
    p.acct_type_postrmt = m.acct_type_postrmt();
    p.sub_acct_key = m.sub_acct_key();
    p.cusip = m.cusip();
    if (!read_decimal(m.td_qty(), p.td_qty) || !read_decimal(m.sd_qty(), p.sd_qty) ||
        !read_decimal(m.td_qty_short_side(), p.td_qty_short_side) ||
        !read_decimal(m.house_req(), p.house_req) || !read_decimal(m.equity_req(), p.equity_req) ||
        !read_decimal(m.loss(), p.loss) || !read_decimal(m.pairoff_td_qty(), p.pairoff_td_qty) ||
        !read_decimal(m.cost_basis(), p.cost_basis) ||
        !read_decimal(m.market_value(), p.market_value) ||
        !read_decimal(m.loan_value(), p.loan_value)) {
        return false;
    }
    p.short_exp_date.reset();
    if (m.has_short_exp_date()) {
        date d;
        if (!read_date(m.short_exp_date(), d)) return false;
        p.short_exp_date = d;
    }
    p.pairoff_acct_type = m.pairoff_acct_type();
    p.pairoff_cusip = m.pairoff_cusip();
    p.contributes_to_equity = m.contributes_to_equity();
    p.version = m.version();
    const v1::PositionMetadata& md = m.metadata();
    p.metadata.bond_redeem_sw = md.bond_redeem_sw();
    p.metadata.acct_transferred_sw = md.acct_transferred_sw();
    p.metadata.reverse_split_sw = md.reverse_split_sw();
    return read_decimal(md.acct_activity_qty(), p.metadata.acct_activity_qty) &&
           read_decimal(md.acct_activity_amt(), p.metadata.acct_activity_amt);
}

// Reads a present optional decimal field; absent stays nullopt.
bool read_optional_decimal(bool present, const std::string& text, std::optional<decimal>& out) {
    out.reset();
    if (!present) return true;
    decimal d;
    if (text.empty() || !read_decimal(text, d)) return false;
    out = d;
    return true;
}

bool read_optional_date(bool present, const std::string& text, std::optional<date>& out) {
    out.reset();
    if (!present) return true;
    date d;
    if (!read_date(text, d)) return false;
    out = d;
    return true;
}

void to_proto(const model::managed_position& p, v1::ManagedPosition& m) {
    m.set_firm_prodpc(p.firm_prodpc);
    m.set_ledger_prodpc(p.ledger_prodpc);
    m.set_branch_prodpc(p.branch_prodpc);
    m.set_base_prodpc(p.base_prodpc);
    m.set_sub_acct_prodpc(p.sub_acct_prodpc);
    m.set_uls(p.uls);
    m.set_cusip(p.cusip);
    m.set_product_line(p.product_line);
    if (p.price) put(m.mutable_price(), *p.price);
    if (p.prev_price) put(m.mutable_prev_price(), *p.prev_price);
    if (p.strike_price) put(m.mutable_strike_price(), *p.strike_price);
    if (p.contract_size) put(m.mutable_contract_size(), *p.contract_size);
    if (p.exp_or_maturity_date) put(m.mutable_exp_or_maturity_date(), *p.exp_or_maturity_date);
    m.set_security_found_sw(p.security_found_sw);
    m.set_uls_found_sw(p.uls_found_sw);
}

bool from_proto(const v1::ManagedPosition& m, model::managed_position& p) {
    p.firm_prodpc = m.firm_prodpc();
    p.ledger_prodpc = m.ledger_prodpc();
    p.branch_prodpc = m.branch_prodpc();
    p.base_prodpc = m.base_prodpc();
    p.sub_acct_prodpc = m.sub_acct_prodpc();
    p.uls = m.uls();
    p.cusip = m.cusip();
    p.product_line = m.product_line();
    p.security_found_sw = m.security_found_sw();
    p.uls_found_sw = m.uls_found_sw();
    return read_optional_decimal(m.has_price(), m.price(), p.price) &&
           read_optional_decimal(m.has_prev_price(), m.prev_price(), p.prev_price) &&
           read_optional_decimal(m.has_strike_price(), m.strike_price(), p.strike_price) &&
           read_optional_decimal(m.has_contract_size(), m.contract_size(), p.contract_size) &&
           read_optional_date(m.has_exp_or_maturity_date(), m.exp_or_maturity_date(),
                              p.exp_or_maturity_date);
}

void to_proto(const model::margin_balance& b, v1::MarginBalance& m) {
    m.set_firm(b.firm);
    m.set_ledger(b.ledger);
    m.set_branch(b.branch);
    m.set_base(b.base);
    m.set_acct_type(b.acct_type);
    m.set_acct_category(b.acct_category);
    put(m.mutable_td_bal(), b.td_bal);
    put(m.mutable_sd_bal(), b.sd_bal);
    put(m.mutable_sma(), b.sma);
    put(m.mutable_mv_td_long(), b.mv_td_long);
    put(m.mutable_mv_td_short(), b.mv_td_short);
    put(m.mutable_cash_avail(), b.cash_avail);
    put(m.mutable_loan_value(), b.loan_value);
    put(m.mutable_reqt_house(), b.reqt_house);
    put(m.mutable_reqt_exch(), b.reqt_exch);
    put(m.mutable_equity(), b.equity);
    // The proto enum's numbers are the model's (static_asserts below).
    m.set_margin_call(static_cast<v1::MarginBalance::MarginCallState>(b.margin_call));
    put(m.mutable_margin_call_amount(), b.margin_call_amount);
    m.set_version(b.version);
    m.set_base_currency(b.base_currency);
    for (const model::currency_cash& c : b.cash) {
        v1::CurrencyCash* cm = m.add_cash();
        cm->set_currency(c.currency);
        put(cm->mutable_td_bal(), c.td_bal);
        put(cm->mutable_sd_bal(), c.sd_bal);
        put(cm->mutable_rate(), c.rate);
        put(cm->mutable_td_bal_base(), c.td_bal_base);
        put(cm->mutable_sd_bal_base(), c.sd_bal_base);
    }
    put(m.mutable_td_bal_total(), b.td_bal_total);
    put(m.mutable_sd_bal_total(), b.sd_bal_total);
}

static_assert(static_cast<int>(model::margin_call_state::none) == v1::MarginBalance::NONE);
static_assert(static_cast<int>(model::margin_call_state::house) == v1::MarginBalance::HOUSE);
static_assert(static_cast<int>(model::margin_call_state::exchange) == v1::MarginBalance::EXCHANGE);

bool from_proto(const v1::MarginBalance& m, model::margin_balance& b) {
    b.firm = m.firm();
    b.ledger = m.ledger();
    b.branch = m.branch();
    b.base = m.base();
    b.acct_type = m.acct_type();
    b.acct_category = m.acct_category();
    switch (m.margin_call()) {
    case v1::MarginBalance::NONE: b.margin_call = model::margin_call_state::none; break;
    case v1::MarginBalance::HOUSE: b.margin_call = model::margin_call_state::house; break;
    case v1::MarginBalance::EXCHANGE: b.margin_call = model::margin_call_state::exchange; break;
    default: return false; // a value from a newer schema: not ours to guess
    }
    b.version = m.version();
    b.base_currency = m.base_currency();
    b.cash.clear();
    b.cash.reserve(static_cast<std::size_t>(m.cash_size()));
    for (const v1::CurrencyCash& cm : m.cash()) {
        model::currency_cash& c = b.cash.emplace_back();
        c.currency = cm.currency();
        if (!(read_decimal(cm.td_bal(), c.td_bal) && read_decimal(cm.sd_bal(), c.sd_bal) &&
              read_decimal(cm.rate(), c.rate) && read_decimal(cm.td_bal_base(), c.td_bal_base) &&
              read_decimal(cm.sd_bal_base(), c.sd_bal_base)))
            return false;
    }
    bool ok = read_decimal(m.td_bal_total(), b.td_bal_total) && read_decimal(m.sd_bal_total(), b.sd_bal_total) &&
           read_decimal(m.td_bal(), b.td_bal) && read_decimal(m.sd_bal(), b.sd_bal) &&
           read_decimal(m.sma(), b.sma) && read_decimal(m.mv_td_long(), b.mv_td_long) &&
           read_decimal(m.mv_td_short(), b.mv_td_short) &&
           read_decimal(m.cash_avail(), b.cash_avail) &&
           read_decimal(m.loan_value(), b.loan_value) &&
           read_decimal(m.reqt_house(), b.reqt_house) &&
           read_decimal(m.reqt_exch(), b.reqt_exch) && read_decimal(m.equity(), b.equity) &&
           read_decimal(m.margin_call_amount(), b.margin_call_amount);
    if (ok && m.td_bal_total().empty() && m.sd_bal_total().empty() && m.cash_size() == 0) {
        // Written before currencies were kept apart: all of it was one cash.
        b.td_bal_total = b.td_bal;
        b.sd_bal_total = b.sd_bal;
    }
    return ok;
}

void to_proto(const model::portfolio_concentration& c, v1::PortfolioConcentration& m) {
    m.set_account(c.account);
    m.set_cusip(c.cusip);
    put(m.mutable_td_qty_conc(), c.td_qty_conc);
    put(m.mutable_market_val(), c.market_val);
    put(m.mutable_cusip_conc(), c.cusip_conc);
    m.set_acct_category_conc(c.acct_category_conc);
    put(m.mutable_mv_long(), c.mv_long);
    put(m.mutable_mv_short(), c.mv_short);
    put(m.mutable_exch_req(), c.exch_req);
    put(m.mutable_loan_value(), c.loan_value);
    put(m.mutable_house_req(), c.house_req);
}

bool from_proto(const v1::PortfolioConcentration& m, model::portfolio_concentration& c) {
    c.account = m.account();
    c.cusip = m.cusip();
    c.acct_category_conc = m.acct_category_conc();
    return read_decimal(m.td_qty_conc(), c.td_qty_conc) &&
           read_decimal(m.market_val(), c.market_val) &&
           read_decimal(m.cusip_conc(), c.cusip_conc) && read_decimal(m.mv_long(), c.mv_long) &&
           read_decimal(m.mv_short(), c.mv_short) && read_decimal(m.exch_req(), c.exch_req) &&
           read_decimal(m.loan_value(), c.loan_value) && read_decimal(m.house_req(), c.house_req);
}

void to_proto(const model::pending_settlement& s, v1::PendingSettlement& m) {
    put(m.mutable_settle_date(), s.settle_date);
    m.set_sequence(s.sequence);
    m.set_position_key(s.position_key);
    put(m.mutable_sd_qty(), s.sd_qty);
    put(m.mutable_sd_bal(), s.sd_bal);
    m.set_activity_id(s.activity_id);
    m.set_currency(s.currency);
}

bool from_proto(const v1::PendingSettlement& m, model::pending_settlement& s) {
    s.sequence = m.sequence();
    s.position_key = m.position_key();
    s.activity_id = m.activity_id();
    s.currency = m.currency();
    return read_date(m.settle_date(), s.settle_date) && read_decimal(m.sd_qty(), s.sd_qty) &&
           read_decimal(m.sd_bal(), s.sd_bal);
}

void to_proto(const model::partition_meta& p, v1::PartitionMeta& m) {
    m.set_partition(p.partition);
    m.set_next_offset(p.next_offset);
    if (p.business_date) put(m.mutable_business_date(), *p.business_date);
    m.set_next_pending_sequence(p.next_pending_sequence);
    for (std::int64_t o : p.revalued_through) m.add_revalued_through(o);
}

bool from_proto(const v1::PartitionMeta& m, model::partition_meta& p) {
    p.partition = m.partition();
    p.next_offset = m.next_offset();
    p.next_pending_sequence = m.next_pending_sequence();
    p.revalued_through.assign(m.revalued_through().begin(), m.revalued_through().end());
    return read_optional_date(m.has_business_date(), m.business_date(), p.business_date);
}

// --- events ---------------------------------------------------------------------

static_assert(static_cast<int>(model::cause_kind::none) == v1::EventCause::KIND_UNSPECIFIED);
static_assert(static_cast<int>(model::cause_kind::activity) == v1::EventCause::ACTIVITY);
static_assert(static_cast<int>(model::cause_kind::settlement) == v1::EventCause::SETTLEMENT);
static_assert(static_cast<int>(model::cause_kind::revaluation) == v1::EventCause::REVALUATION);
static_assert(static_cast<int>(model::cause_kind::end_of_day) == v1::EventCause::END_OF_DAY);

void to_proto(const model::event_cause& c, v1::EventCause& m) {
    m.set_kind(static_cast<v1::EventCause::Kind>(c.kind));
    for (const std::string& id : c.settled_activity_ids) m.add_settled_activity_ids(id);
    if (c.business_date) put(m.mutable_business_date(), *c.business_date);
    if (c.end_of_day_offset >= 0) m.set_end_of_day_offset(c.end_of_day_offset);
    m.set_revalued_cusip(c.revalued_cusip);
    if (c.price_as_of) m.set_price_as_of(c.price_as_of->ms);
}

bool from_proto(const v1::EventCause& m, model::event_cause& c) {
    switch (m.kind()) {
    case v1::EventCause::KIND_UNSPECIFIED: c.kind = model::cause_kind::none; break;
    case v1::EventCause::ACTIVITY: c.kind = model::cause_kind::activity; break;
    case v1::EventCause::SETTLEMENT: c.kind = model::cause_kind::settlement; break;
    case v1::EventCause::REVALUATION: c.kind = model::cause_kind::revaluation; break;
    case v1::EventCause::END_OF_DAY: c.kind = model::cause_kind::end_of_day; break;
    default: return false; // a value from a newer schema: not ours to guess
    }
    c.settled_activity_ids.assign(m.settled_activity_ids().begin(), m.settled_activity_ids().end());
    c.end_of_day_offset = m.has_end_of_day_offset() ? m.end_of_day_offset() : -1;
    c.revalued_cusip = m.revalued_cusip();
    c.price_as_of.reset();
    if (m.has_price_as_of()) c.price_as_of = timestamp{m.price_as_of()};
    return read_optional_date(m.has_business_date(), m.business_date(), c.business_date);
}

void to_proto(const model::position_updated& e, v1::PositionUpdated& m) {
    to_proto(e.position, *m.mutable_position());
    m.mutable_activity_ids()->Reserve(static_cast<int>(e.activity_ids.size()));
    for (const std::string& id : e.activity_ids) m.add_activity_ids(id);
    m.mutable_offsets()->Reserve(static_cast<int>(e.offsets.size()));
    for (std::int64_t offset : e.offsets) m.add_offsets(offset);
    m.set_event_time(e.event_time.ms);
    m.set_processing_time(e.processing_time.ms);
    to_proto(e.cause, *m.mutable_cause());
}

bool from_proto(const v1::PositionUpdated& m, model::position_updated& e) {
    if (!from_proto(m.position(), e.position)) return false;
    e.activity_ids.assign(m.activity_ids().begin(), m.activity_ids().end());
    e.offsets.assign(m.offsets().begin(), m.offsets().end());
    e.event_time = timestamp{m.event_time()};
    e.processing_time = timestamp{m.processing_time()};
    return from_proto(m.cause(), e.cause);
}

void to_proto(const model::market_value_event& e, v1::MarketValue& m) {
    m.set_product_id(e.product_id);
    m.set_firm(e.firm);
    m.set_ledger(e.ledger);
    m.set_branch(e.branch);
    m.set_base(e.base);
    m.set_sub_acct_key(e.sub_acct_key);
    put(m.mutable_quantity(), e.quantity);
    put(m.mutable_price(), e.price);
    m.set_rule(e.rule);
    put(m.mutable_market_value(), e.market_value);
    m.set_timestamp(e.ts.ms);
    for (const std::string& id : e.activity_ids) m.add_activity_ids(id);
    for (std::int64_t offset : e.offsets) m.add_offsets(offset);
    to_proto(e.cause, *m.mutable_cause());
}

bool from_proto(const v1::MarketValue& m, model::market_value_event& e) {
    e.product_id = m.product_id();
    e.firm = m.firm();
    e.ledger = m.ledger();
    e.branch = m.branch();
    e.base = m.base();
    e.sub_acct_key = m.sub_acct_key();
    e.rule = m.rule();
    e.ts = timestamp{m.timestamp()};
    e.activity_ids.assign(m.activity_ids().begin(), m.activity_ids().end());
    e.offsets.assign(m.offsets().begin(), m.offsets().end());
    return read_decimal(m.quantity(), e.quantity) && read_decimal(m.price(), e.price) &&
           read_decimal(m.market_value(), e.market_value) && from_proto(m.cause(), e.cause);
}

void to_proto(const model::margin_updated& e, v1::MarginUpdated& m) {
    to_proto(e.balance, *m.mutable_balance());
    m.set_processing_time(e.processing_time.ms);
    for (const std::string& id : e.activity_ids) m.add_activity_ids(id);
    for (std::int64_t offset : e.offsets) m.add_offsets(offset);
    to_proto(e.cause, *m.mutable_cause());
}

bool from_proto(const v1::MarginUpdated& m, model::margin_updated& e) {
    e.processing_time = timestamp{m.processing_time()};
    e.activity_ids.assign(m.activity_ids().begin(), m.activity_ids().end());
    e.offsets.assign(m.offsets().begin(), m.offsets().end());
    return from_proto(m.balance(), e.balance) && from_proto(m.cause(), e.cause);
}

void to_proto(const model::dead_letter& e, v1::DeadLetter& m) {
    m.set_key(e.key);
    m.set_value(e.value);
    m.set_reason(std::string{model::reason_code(e.reject.reason)});
    m.set_message(e.reject.message);
    m.set_field(e.reject.field);
    m.set_partition(e.partition);
    m.set_offset(e.offset);
}

bool from_proto(const v1::DeadLetter& m, model::dead_letter& e) {
    auto reason = model::reason_from_code(m.reason());
    if (!reason) return false;
    e.key = m.key();
    e.value = m.value();
    e.reject = model::reject{*reason, m.field(), m.message()};
    e.partition = m.partition();
    e.offset = m.offset();
    return true;
}

// --- generic encode/decode over the pairs above -----------------------------------

template <typename Message, typename Value>
void encode_to(const Value& value, std::string& out) {
    Message& message = scratch<Message>();
    to_proto(value, message);
    serialize(message, out);
}

template <typename Message, typename Value>
std::string encode(const Value& value) {
    std::string out;
    encode_to<Message>(value, out);
    return out;
}

template <typename Message, typename Value>
bool decode(std::string_view bytes, Value& out) {
    Message& message = scratch<Message>();
    if (!parse(bytes, message)) return false;
    Value value;
    if (!from_proto(message, value)) return false;
    out = std::move(value);
    return true;
}

} // namespace

// --- input records ----------------------------------------------------------------

model::decoded_record decode_activity_protobuf(std::string_view bytes) {
    if (bytes.size() > limits::record_bytes_max) {
        return model::reject{model::reason::record_too_large, "",
                             fmt::format("protobuf record of {} bytes exceeds the limit of {}",
                                         bytes.size(), limits::record_bytes_max)};
    }
    v1::InputRecord& message = scratch<v1::InputRecord>();
    if (!parse(bytes, message)) return classify_parse_failure(bytes);
    // build_record copies what it keeps, so views into `message` are safe.
    switch (message.record_case()) {
    case v1::InputRecord::kActivity: return build_record(raw_from(message.activity()));
    case v1::InputRecord::kControl: return build_record(raw_from(message.control()));
    case v1::InputRecord::RECORD_NOT_SET: break;
    }
    return model::reject{model::reason::malformed, "",
                         "protobuf InputRecord carries neither an activity nor a control record"};
}

std::string encode_activity_protobuf(const model::activity_record& r) {
    v1::InputRecord message;
    v1::ActivityRecord& m = *message.mutable_activity();
    m.set_activity_id(r.activity_id);
    if (r.event_time) m.set_event_time(r.event_time->to_string());
    m.set_maxx_key_code(r.maxx_key_code);
    m.set_firm(r.firm);
    m.set_ledger(r.ledger);
    m.set_branch(r.branch);
    m.set_base(r.base);
    put_if_nonempty(r.sub_acct_key, [&m](const std::string& v) { m.set_sub_acct_key(v); });
    put_if_nonempty(r.acct_category, [&m](const std::string& v) { m.set_acct_category(v); });
    put_if_nonempty(r.rr, [&m](const std::string& v) { m.set_rr(v); });
    put_if_nonempty(r.us_citizenship, [&m](const std::string& v) { m.set_us_citizenship(v); });
    put_if_nonempty(r.ny_resident, [&m](const std::string& v) { m.set_ny_resident(v); });
    put_if_nonempty(r.paper, [&m](const std::string& v) { m.set_paper(v); });
    put_if_nonempty(r.intracct_eligible_type,
                    [&m](const std::string& v) { m.set_intracct_eligible_type(v); });
    if (r.intracct_min_amt) put(m.mutable_intracct_min_amt(), *r.intracct_min_amt);
    if (r.account_closed_date) put(m.mutable_account_closed_date(), *r.account_closed_date);
    put_if_nonempty(r.cusip, [&m](const std::string& v) { m.set_cusip(v); });
    put_if_nonempty(r.product_line, [&m](const std::string& v) { m.set_product_line(v); });
    put(m.mutable_quantity(), r.quantity);
    put(m.mutable_amount(), r.amount);
    if (r.price) put(m.mutable_price(), *r.price);
    put_if_nonempty(r.currency, [&m](const std::string& v) { m.set_currency(v); });
    if (r.trade_date) put(m.mutable_trade_date(), *r.trade_date);
    if (r.settle_date) put(m.mutable_settle_date(), *r.settle_date);
    m.set_bond_redeem_sw(r.bond_redeem_sw);
    m.set_acct_transferred_sw(r.acct_transferred_sw);
    m.set_reverse_split_sw(r.reverse_split_sw);
    std::string out;
    serialize(message, out);
    return out;
}

std::string encode_control_protobuf(const model::control_record& r) {
    v1::InputRecord message;
    v1::ControlRecord& m = *message.mutable_control();
    m.set_type("control");
    m.set_action(std::string{action_text(r.action)});
    put(m.mutable_business_date(), r.business_date);
    std::string out;
    serialize(message, out);
    return out;
}

// --- state --------------------------------------------------------------------------

std::string encode_state(const model::position& v) { return encode<v1::Position>(v); }
std::string encode_state(const model::managed_position& v) { return encode<v1::ManagedPosition>(v); }
std::string encode_state(const model::margin_balance& v) { return encode<v1::MarginBalance>(v); }
std::string encode_state(const model::portfolio_concentration& v) {
    return encode<v1::PortfolioConcentration>(v);
}
std::string encode_state(const model::pending_settlement& v) { return encode<v1::PendingSettlement>(v); }
std::string encode_state(const model::partition_meta& v) { return encode<v1::PartitionMeta>(v); }

void encode_state(const model::position& v, std::string& out) { encode_to<v1::Position>(v, out); }
void encode_state(const model::managed_position& v, std::string& out) {
    encode_to<v1::ManagedPosition>(v, out);
}
void encode_state(const model::margin_balance& v, std::string& out) {
    encode_to<v1::MarginBalance>(v, out);
}
void encode_state(const model::portfolio_concentration& v, std::string& out) {
    encode_to<v1::PortfolioConcentration>(v, out);
}
void encode_state(const model::pending_settlement& v, std::string& out) {
    encode_to<v1::PendingSettlement>(v, out);
}
void encode_state(const model::partition_meta& v, std::string& out) {
    encode_to<v1::PartitionMeta>(v, out);
}

bool decode_state(std::string_view b, model::position& out) { return decode<v1::Position>(b, out); }
bool decode_state(std::string_view b, model::managed_position& out) {
    return decode<v1::ManagedPosition>(b, out);
}
bool decode_state(std::string_view b, model::margin_balance& out) {
    return decode<v1::MarginBalance>(b, out);
}
bool decode_state(std::string_view b, model::portfolio_concentration& out) {
    return decode<v1::PortfolioConcentration>(b, out);
}
bool decode_state(std::string_view b, model::pending_settlement& out) {
    return decode<v1::PendingSettlement>(b, out);
}
bool decode_state(std::string_view b, model::partition_meta& out) {
    return decode<v1::PartitionMeta>(b, out);
}

// --- events -------------------------------------------------------------------------

std::string encode_protobuf(const model::position_updated& e) { return encode<v1::PositionUpdated>(e); }
std::string encode_protobuf(const model::market_value_event& e) { return encode<v1::MarketValue>(e); }
std::string encode_protobuf(const model::margin_updated& e) { return encode<v1::MarginUpdated>(e); }
std::string encode_protobuf(const model::dead_letter& e) { return encode<v1::DeadLetter>(e); }

bool decode_protobuf(std::string_view b, model::position_updated& out) {
    return decode<v1::PositionUpdated>(b, out);
}
bool decode_protobuf(std::string_view b, model::market_value_event& out) {
    return decode<v1::MarketValue>(b, out);
}
bool decode_protobuf(std::string_view b, model::margin_updated& out) {
    return decode<v1::MarginUpdated>(b, out);
}
bool decode_protobuf(std::string_view b, model::dead_letter& out) {
    return decode<v1::DeadLetter>(b, out);
}

} // namespace posd::codec
