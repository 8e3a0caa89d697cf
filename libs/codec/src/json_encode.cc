#include "codec/json_encode.h"

#include "model/keys.h"
#include "model/reason.h"
#include "model/state.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <type_traits>

namespace posd::codec {
namespace {

constexpr bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// Whether any of the eight bytes of `word` needs escaping, without a loop:
// per byte, b - 0x20 sets the byte's top bit when b < 0x20 or when a lower
// byte borrowed, and a lower byte borrows only when it is a hit itself; the
// same with '"' and '\\' turned into zero bytes by the xor. A byte whose
// own top bit is set (UTF-8) is masked off by ~word, which has the same top
// bits as ~(word ^ c) for these c below 0x80.
constexpr bool any_needs_escape(std::uint64_t word) {
    constexpr std::uint64_t ones = 0x0101'0101'0101'0101ULL;
    constexpr std::uint64_t tops = 0x8080'8080'8080'8080ULL;
    const std::uint64_t below_space = word - ones * 0x20;
    const std::uint64_t quote = (word ^ (ones * '"')) - ones;
    const std::uint64_t backslash = (word ^ (ones * '\\')) - ones;
    return ((below_space | quote | backslash) & ~word & tops) != 0;
}

std::uint64_t load_word(const char* p) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    return word;
}

// The longest escaped text of one byte ("\u00XX").
constexpr std::size_t escaped_bytes_max = 6;

// Writes the escape of one byte that needs_escape() and returns the end.
char* write_escape(char* p, unsigned char c) {
    static constexpr char hex[] = "0123456789abcdef";
    p[0] = '\\';
    switch (c) {
    case '"': p[1] = '"'; return p + 2;
    case '\\': p[1] = '\\'; return p + 2;
    case '\b': p[1] = 'b'; return p + 2;
    case '\f': p[1] = 'f'; return p + 2;
    case '\n': p[1] = 'n'; return p + 2;
    case '\r': p[1] = 'r'; return p + 2;
    case '\t': p[1] = 't'; return p + 2;
    default:
        std::memcpy(p + 1, "u00", 3);
        p[4] = hex[c >> 4];
        p[5] = hex[c & 0xf];
        return p + 6;
    }
}

// Writes s escaped from its first byte that may need an escape: the
// bytes before `from` are copied already and need none.
[[gnu::noinline]] char* write_escaped_from(char* p, std::string_view s, std::size_t from) {
    p += from;
    for (std::size_t i = from; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (needs_escape(c)) p = write_escape(p, c);
        else *p++ = s[i];
    }
    return p;
}

// Writes the string's content, escaped per RFC 8259, without quotes, at p,
// which has room for escaped_bytes_max * s.size() chars; returns the end.
// Nearly every string needs no escape and is short (key parts, codes,
// ids): it is checked and copied as one or a few words, sized by its length
// so that no byte outside `s` is read (short ones as two overlapping
// halves); only a string that needs an escape goes byte by byte.
inline char* write_escaped(char* p, std::string_view s) {
    const char* const in = s.data();
    const std::size_t n = s.size();
    if (n >= 8) {
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            const std::uint64_t word = load_word(in + i);
            if (any_needs_escape(word)) [[unlikely]] return write_escaped_from(p, s, i);
            std::memcpy(p + i, &word, 8);
        }
        if (i != n) {
            const std::uint64_t last = load_word(in + n - 8);
            if (any_needs_escape(last)) [[unlikely]] return write_escaped_from(p, s, i);
            std::memcpy(p + n - 8, &last, 8);
        }
        return p + n;
    }
    if (n >= 4) {
        std::uint32_t head, tail;
        std::memcpy(&head, in, 4);
        std::memcpy(&tail, in + n - 4, 4);
        if (any_needs_escape(std::uint64_t{head} | std::uint64_t{tail} << 32)) [[unlikely]]
            return write_escaped_from(p, s, 0);
        std::memcpy(p, &head, 4);
        std::memcpy(p + n - 4, &tail, 4);
        return p + n;
    }
    if (n != 0) {
        // The first, middle and last byte cover 1 to 3 bytes; the other five
        // bytes of the word are a letter, which needs no escape.
        const auto first = static_cast<unsigned char>(in[0]);
        const auto middle = static_cast<unsigned char>(in[n / 2]);
        const auto last = static_cast<unsigned char>(in[n - 1]);
        const std::uint64_t word = 0x6161'6161'6100'0000ULL | std::uint64_t{last} << 16 |
                                   std::uint64_t{middle} << 8 | first;
        if (any_needs_escape(word)) [[unlikely]] return write_escaped_from(p, s, 0);
        p[0] = static_cast<char>(first);
        p[n / 2] = static_cast<char>(middle);
        p[n - 1] = static_cast<char>(last);
    }
    return p + n;
}

// A field name with its JSON punctuation, `,"name":"`, built at compile
// time: writing it is a couple of stores of constants. The last quote is
// written only before a string value.
template <std::size_t N>
struct field {
    static constexpr std::size_t key_bytes = N - 1 + 4;       // ,"name":
    static constexpr std::size_t quoted_bytes = key_bytes + 1; // ,"name":"
    char text[quoted_bytes];

    consteval field(const char (&name)[N]) : text{} {
        text[0] = ',';
        text[1] = '"';
        for (std::size_t i = 0; i + 1 < N; ++i) {
            // Names are posd's own identifiers: nothing to escape.
            if (name[i] == '"' || name[i] == '\\' || static_cast<unsigned char>(name[i]) < 0x20)
                throw "a field name that needs escaping";
            text[2 + i] = name[i];
        }
        text[N + 1] = '"';
        text[N + 2] = ':';
        text[N + 3] = '"';
    }
};

// Writes one JSON object straight into `out`'s characters through a pointer.
// Each field first makes sure that there is room for the longest text it
// can write (room()), so that the writes themselves are plain stores: no
// capacity check and no call per character or per piece, which is what
// std::string::push_back and append cost. `out` is grown with resize and cut
// back to what was written when the writer is destroyed; one char past the
// room is always kept for the closing brace.
//
// Every field writes `,"name":`; the first field's comma is where the
// opening brace goes, which the destructor puts there, so no field asks
// whether it is the first.

// The longest text each value type writes.
template <typename T> constexpr std::size_t text_room = 0;
template <> constexpr std::size_t text_room<decimal> = decimal::text_bytes_max;
template <> constexpr std::size_t text_room<date> = date::text_bytes;
template <> constexpr std::size_t text_room<timestamp> = timestamp::text_bytes;

class object_writer {
public:
    // `size_hint`: about the bytes the object usually takes, so that it is
    // grown once. Constructor and destructor are always inlined and grow()
    // is static, so that the writer's address does not escape: p_ and end_
    // then stay in registers across the calls that format values instead of
    // being stored and reloaded around each of them.
    [[gnu::always_inline]] object_writer(std::string& out, std::size_t size_hint)
        : out_(out), begin_(out.size()) {
        out_.resize(begin_ + std::max<std::size_t>(size_hint, 1) + 1);
        p_ = out_.data() + begin_;
        end_ = out_.data() + out_.size() - 1;
    }
    object_writer(const object_writer&) = delete;
    object_writer& operator=(const object_writer&) = delete;
    // Closes the object.
    [[gnu::always_inline]] ~object_writer() {
        char* const begin = out_.data() + begin_;
        if (p_ == begin) *p_++ = '{'; // no field
        else *begin = '{';
        *p_++ = '}';
        out_.resize(static_cast<std::size_t>(p_ - out_.data()));
    }

    template <field F>
    void null() {
        room(F.key_bytes + 4);
        key<F>();
        std::memcpy(p_, "null", 4);
        p_ += 4;
    }
    template <field F>
    void text(std::string_view value) {
        room(F.quoted_bytes + escaped_bytes_max * value.size() + 1);
        quoted_key<F>();
        p_ = write_escaped(p_, value);
        *p_++ = '"';
    }
    // Leaves out an empty text (input records: empty = absent).
    template <field F>
    void text_if_set(std::string_view value) {
        if (!value.empty()) text<F>(value);
    }
    // A decimal, date or timestamp, as a JSON string (its to_string() text);
    // null when an optional is unset, or left out by value_if_set.
    template <field F, typename T>
    void value(const T& v) {
        room(F.quoted_bytes + text_room<T> + 1);
        quoted_key<F>();
        p_ = v.write_to(p_);
        *p_++ = '"';
    }
    template <field F, typename T>
    void value(const std::optional<T>& v) {
        if (v) value<F>(*v);
        else null<F>();
    }
    template <field F, typename T>
    void value_if_set(const std::optional<T>& v) {
        if (v) value<F>(*v);
    }
    template <field F>
    void flag(bool value) {
        room(F.quoted_bytes + 2);
        quoted_key<F>();
        p_[0] = value ? 'Y' : 'N';
        p_[1] = '"';
        p_ += 2;
    }
    template <field F, typename Int>
    void integer(Int value) {
        static_assert(std::is_integral_v<Int>);
        room(F.key_bytes + integer_bytes_max);
        key<F>();
        write_integer(value);
    }
    // A key in its wire form: the parts joined by '|', as one JSON string.
    template <field F>
    void joined(std::initializer_list<std::string_view> parts) {
        std::size_t bytes = F.quoted_bytes + 1;
        for (std::string_view part : parts) bytes += 1 + escaped_bytes_max * part.size();
        room(bytes);
        quoted_key<F>();
        for (std::string_view part : parts) {
            p_ = write_escaped(p_, part);
            *p_++ = '|';
        }
        // The last separator becomes the closing quote.
        if (parts.size() != 0) --p_;
        *p_++ = '"';
    }
    template <field F>
    void strings(const std::vector<std::string>& values) {
        room(F.key_bytes + 1);
        key<F>();
        *p_++ = '[';
        for (const std::string& value : values) {
            room(3 + escaped_bytes_max * value.size());
            *p_++ = '"';
            p_ = write_escaped(p_, value);
            *p_++ = '"';
            *p_++ = ',';
        }
        close_array(values.empty());
    }
    template <field F>
    void integers(const std::vector<std::int64_t>& values) {
        room(F.key_bytes + 1);
        key<F>();
        *p_++ = '[';
        for (std::int64_t value : values) {
            room(integer_bytes_max + 1);
            write_integer(value);
            *p_++ = ',';
        }
        close_array(values.empty());
    }

    // An account's foreign-currency cash: an array of objects.
    template <field F>
    void cash(const std::vector<model::currency_cash>& entries) {
        room(F.key_bytes + 1);
        key<F>();
        *p_++ = '[';
        for (const model::currency_cash& c : entries) {
            room(3 * 20 + 6 * text_room<decimal> + escaped_bytes_max * c.currency.size() + 100);
            p_ = put(p_, R"({"currency":")");
            p_ = write_escaped(p_, c.currency);
            p_ = put(p_, R"(","tdBal":")");
            p_ = c.td_bal.write_to(p_);
            p_ = put(p_, R"(","sdBal":")");
            p_ = c.sd_bal.write_to(p_);
            p_ = put(p_, R"(","rate":")");
            p_ = c.rate.write_to(p_);
            p_ = put(p_, R"(","tdBalBase":")");
            p_ = c.td_bal_base.write_to(p_);
            p_ = put(p_, R"(","sdBalBase":")");
            p_ = c.sd_bal_base.write_to(p_);
            p_ = put(p_, R"("},)");
        }
        close_array(entries.empty());
    }

private:
    template <std::size_t N>
    static char* put(char* p, const char (&text)[N]) {
        std::memcpy(p, text, N - 1);
        return p + N - 1;
    }
    // Enough for any 64-bit integer ("-9223372036854775808" is 20).
    static constexpr std::size_t integer_bytes_max = 20;

    // Writes `,"name":`.
    template <field F>
    void key() {
        std::memcpy(p_, F.text, F.key_bytes);
        p_ += F.key_bytes;
    }
    // Writes `,"name":"`, before a string value.
    template <field F>
    void quoted_key() {
        std::memcpy(p_, F.text, F.quoted_bytes);
        p_ += F.quoted_bytes;
    }
    template <typename Int>
    void write_integer(Int value) {
        p_ = std::to_chars(p_, p_ + integer_bytes_max, value).ptr;
    }
    // Closes an array whose elements each left a comma behind: the last
    // comma becomes the bracket.
    void close_array(bool empty) {
        room(1);
        if (!empty) --p_;
        *p_++ = ']';
    }
    // Makes sure that `bytes` chars can be written at p_ (plus the closing
    // brace).
    void room(std::size_t bytes) {
        if (static_cast<std::size_t>(end_ - p_) < bytes) [[unlikely]] {
            const auto used = static_cast<std::size_t>(p_ - out_.data());
            grow(out_, begin_, used + bytes);
            p_ = out_.data() + used;
            end_ = out_.data() + out_.size() - 1;
        }
    }
    // Static, so that the writer's address does not escape (see the
    // constructor); out of line, as it is rarely called.
    [[gnu::noinline]] static void grow(std::string& out, std::size_t begin, std::size_t needed) {
        // At least double the object's room, so that a long object grows a
        // few times, not once per field.
        out.resize(std::max(needed, out.size() + (out.size() - begin)) + 1);
    }

    std::string& out_;
    const std::size_t begin_; // where the object starts in out_
    char* p_;                 // the next char to write
    char* end_;               // the last usable char, one before the room for '}'
};

template <typename... F>
struct overloaded : F... {
    using F::operator()...;
};
template <typename... F>
overloaded(F...) -> overloaded<F...>;

// The event's cause and the ids it concerns (README.md "Message formats"),
// after the event's own fields; nothing for a query's view of state (cause
// none). `activity` holds the activityIds/offsets of an event that does not
// carry them among its own fields.
void write_cause(object_writer& w, const model::event_cause& c, const std::vector<std::string>* activity_ids,
                 const std::vector<std::int64_t>* offsets) {
    if (c.kind == model::cause_kind::none) return;
    w.text<"cause">(model::to_string(c.kind));
    if (activity_ids) w.strings<"activityIds">(*activity_ids);
    if (offsets) w.integers<"offsets">(*offsets);
    switch (c.kind) {
    case model::cause_kind::none:
    case model::cause_kind::activity: break;
    case model::cause_kind::settlement:
        w.strings<"settledActivityIds">(c.settled_activity_ids);
        [[fallthrough]];
    case model::cause_kind::end_of_day:
        w.value<"businessDate">(c.business_date);
        w.integer<"endOfDayOffset">(c.end_of_day_offset);
        break;
    case model::cause_kind::revaluation:
        w.text<"revaluedCusip">(c.revalued_cusip);
        w.value<"priceAsOf">(c.price_as_of);
        break;
    }
}

} // namespace

void append_json_string(std::string_view text, std::string& out) {
    const std::size_t at = out.size();
    out.resize(at + 2 + escaped_bytes_max * text.size());
    char* p = out.data() + at;
    *p++ = '"';
    p = write_escaped(p, text);
    *p++ = '"';
    out.resize(static_cast<std::size_t>(p - out.data()));
}

void encode_json(const model::position_updated& event, std::string& out) {
    const model::position& p = event.position;
    // The activity ids and offsets live in allocations of their own that are
    // usually out of cache by the time the event is encoded (ids are longer
    // than the small-string buffer): start loading them now, so that the
    // misses overlap the writing of the position's fields instead of
    // stalling at the end. Prefetching never faults, empty vectors included.
    __builtin_prefetch(event.activity_ids.data());
    __builtin_prefetch(event.offsets.data());
    object_writer w(out, 1024);
    w.joined<"positionKey">({p.firm_postrmt, p.ledger_postrmt, p.branch_postrmt, p.base_postrmt, p.sub_acct_key, p.cusip});
    w.text<"firmPostrmt">(p.firm_postrmt);
    w.text<"ledgerPostrmt">(p.ledger_postrmt);
    w.text<"branchPostrmt">(p.branch_postrmt);
    w.text<"basePostrmt">(p.base_postrmt);
    w.text<"acctTypePostrmt">(p.acct_type_postrmt);
    w.text<"subAcctKey">(p.sub_acct_key);
    w.text<"cusip">(p.cusip);
    w.value<"tdQty">(p.td_qty);
    w.value<"sdQty">(p.sd_qty);
    w.value<"tdQtyShortSide">(p.td_qty_short_side);
    w.value<"houseReq">(p.house_req);
    w.value<"equityReq">(p.equity_req);
    w.value<"loss">(p.loss);
    w.value<"shortExpDate">(p.short_exp_date);
    w.text<"pairoffAcctType">(p.pairoff_acct_type);
    w.text<"pairoffCusip">(p.pairoff_cusip);
    w.value<"pairoffTdQty">(p.pairoff_td_qty);
    w.value<"costBasis">(p.cost_basis);
    w.value<"marketValue">(p.market_value);
    w.value<"loanValue">(p.loan_value);
    // By now the id vector's buffer has arrived: the ids' own bytes next.
    for (const std::string& id : event.activity_ids) __builtin_prefetch(id.data());
    w.flag<"bondRedeemSw">(p.metadata.bond_redeem_sw);
    w.flag<"acctTransferredSw">(p.metadata.acct_transferred_sw);
    w.flag<"reverseSplitSw">(p.metadata.reverse_split_sw);
    w.value<"acctActivityQty">(p.metadata.acct_activity_qty);
    w.value<"acctActivityAmt">(p.metadata.acct_activity_amt);
    w.integer<"version">(p.version);
    w.strings<"activityIds">(event.activity_ids);
    w.integers<"offsets">(event.offsets);
    w.value<"eventTime">(event.event_time);
    w.value<"processingTime">(event.processing_time);
    write_cause(w, event.cause, nullptr, nullptr);
}

void encode_json(const model::market_value_event& event, std::string& out) {
    object_writer w(out, 384);
    w.joined<"positionKey">({event.firm, event.ledger, event.branch, event.base, event.sub_acct_key, event.product_id});
    w.text<"productId">(event.product_id);
    w.text<"firm">(event.firm);
    w.text<"ledger">(event.ledger);
    w.text<"branch">(event.branch);
    w.text<"base">(event.base);
    w.text<"subAcctKey">(event.sub_acct_key);
    w.value<"quantity">(event.quantity);
    w.value<"price">(event.price);
    w.text<"rule">(event.rule);
    w.value<"marketValue">(event.market_value);
    w.value<"timestamp">(event.ts);
    write_cause(w, event.cause, &event.activity_ids, &event.offsets);
}

void encode_json(const model::margin_updated& event, std::string& out) {
    const model::margin_balance& b = event.balance;
    object_writer w(out, 768 + 200 * b.cash.size());
    w.joined<"accountKey">({b.firm, b.ledger, b.branch, b.base});
    w.text<"firm">(b.firm);
    w.text<"ledger">(b.ledger);
    w.text<"branch">(b.branch);
    w.text<"base">(b.base);
    w.text<"acctType">(b.acct_type);
    w.text<"acctCategory">(b.acct_category);
    w.text<"baseCurrency">(b.base_currency);
    w.value<"tdBal">(b.td_bal);
    w.value<"sdBal">(b.sd_bal);
    w.cash<"cash">(b.cash);
    w.value<"tdBalTotal">(b.td_bal_total);
    w.value<"sdBalTotal">(b.sd_bal_total);
    w.value<"sma">(b.sma);
    w.value<"mvTdLong">(b.mv_td_long);
    w.value<"mvTdShort">(b.mv_td_short);
    w.value<"cashAvail">(b.cash_avail);
    w.value<"loanValue">(b.loan_value);
    w.value<"reqtHouse">(b.reqt_house);
    w.value<"reqtExch">(b.reqt_exch);
    w.value<"equity">(b.equity);
    w.text<"marginCall">(model::to_string(b.margin_call));
    w.value<"marginCallAmount">(b.margin_call_amount);
    w.integer<"version">(b.version);
    w.value<"processingTime">(event.processing_time);
    write_cause(w, event.cause, &event.activity_ids, &event.offsets);
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
    object_writer w(out, 640);
    w.text<"activityId">(r.activity_id);
    if (r.event_time) w.value<"eventTime">(*r.event_time);
    w.text<"maxxKeyCode">(r.maxx_key_code);
    w.text<"firm">(r.firm);
    w.text<"ledger">(r.ledger);
    w.text<"branch">(r.branch);
    w.text<"base">(r.base);
    w.text_if_set<"subAcctKey">(r.sub_acct_key);
    w.text_if_set<"acctCategory">(r.acct_category);
    w.text_if_set<"rr">(r.rr);
    w.text_if_set<"usCitizenship">(r.us_citizenship);
    w.text_if_set<"nyResident">(r.ny_resident);
    w.text_if_set<"paper">(r.paper);
    w.text_if_set<"intracctEligibleType">(r.intracct_eligible_type);
    w.value_if_set<"intracctMinAmt">(r.intracct_min_amt);
    w.value_if_set<"accountClosedDate">(r.account_closed_date);
    w.text_if_set<"cusip">(r.cusip);
    w.text_if_set<"productLine">(r.product_line);
    w.value<"quantity">(r.quantity);
    w.value<"amount">(r.amount);
    w.value_if_set<"price">(r.price);
    w.text_if_set<"currency">(r.currency);
    w.value_if_set<"tradeDate">(r.trade_date);
    w.value_if_set<"settleDate">(r.settle_date);
    w.flag<"bondRedeemSw">(r.bond_redeem_sw);
    w.flag<"acctTransferredSw">(r.acct_transferred_sw);
    w.flag<"reverseSplitSw">(r.reverse_split_sw);
}

void encode_control_json(const model::control_record& r, std::string& out) {
    object_writer w(out, 96);
    w.text<"type">("control");
    switch (r.action) {
    case model::control_action::end_of_day: w.text<"action">("END_OF_DAY"); break;
    }
    w.value<"businessDate">(r.business_date);
}

void encode_json(const model::bookkeeping_rule& r, std::string& out) {
    object_writer w(out, 256);
    w.text<"maxxKeyCode">(r.maxx_key_code);
    w.text<"shortDesc">(r.short_desc);
    w.text<"longDesc">(r.long_desc);
    w.flag<"updTdBalSw">(r.upd_td_bal_sw);
    w.flag<"updSdBalSw">(r.upd_sd_bal_sw);
    w.flag<"adjSmaSw">(r.adj_sma_sw);
    w.flag<"updTdQtySw">(r.upd_td_qty_sw);
    w.flag<"updSdQtySw">(r.upd_sd_qty_sw);
}

void encode_json(const model::product_definition& p, std::string& out) {
    object_writer w(out, 256);
    w.text<"prodline">(p.prodline);
    w.text<"descShort">(p.desc_short);
    w.value<"factor">(p.factor);
    w.value<"defaultPriceForMgn">(p.default_price_for_mgn);
    w.flag<"fractionsAllowedSw">(p.fractions_allowed_sw);
    w.flag<"marginableFlag">(p.marginable_flag);
    w.flag<"contributesToEquitySw">(p.contributes_to_equity_sw);
    w.text<"extRuleFlag">(p.ext_rule_flag);
}

void encode_json(const model::security& s, std::string& out) {
    object_writer w(out, 192);
    w.text<"cusip">(s.cusip);
    w.text<"uls">(s.uls);
    w.text<"productLine">(s.product_line);
    w.value<"strikePrice">(s.strike_price);
    w.value<"contractSize">(s.contract_size);
    w.value<"expOrMaturityDate">(s.exp_or_maturity_date);
}

void encode_json(const model::price& p, std::string& out) {
    object_writer w(out, 160);
    w.text<"cusip">(p.cusip);
    w.value<"price">(p.price);
    w.value<"prevPrice">(p.prev_price);
    w.value<"asOf">(p.as_of);
}

void encode_json(const model::fx_rate& r, std::string& out) {
    object_writer w(out, 96);
    w.text_if_set<"currency">(r.currency);
    w.text<"baseCurrency">(r.base_currency);
    w.value<"rate">(r.rate);
    w.value<"asOf">(r.as_of);
}

void encode_json(const model::margin_rule& r, std::string& out) {
    object_writer w(out, 128);
    w.text<"nyrsMgnRule">(r.nyrs_mgn_rule);
    w.integer<"nyrsMgnSeq">(r.nyrs_mgn_seq);
    w.value<"nyrsLevel">(r.nyrs_level);
    w.value<"nyrsAction">(r.nyrs_action);
}

} // namespace posd::codec
