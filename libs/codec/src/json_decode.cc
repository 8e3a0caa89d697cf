#include "codec/json_decode.h"

#include "base/limits.h"
#include "base/vassert.h"
#include "codec/activity_fields.h"
#include "field_rules.h"

#include <simdjson.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#define POSD_STRINGIFY_2(x) #x
#define POSD_STRINGIFY(x) POSD_STRINGIFY_2(x)

namespace posd::codec {
namespace {

namespace od = simdjson::ondemand;
using namespace field_rules;

// The rejects of the record as a whole (size, encoding, syntax, types,
// duplicates). Unlike field_rules::make_reject this one is not marked cold:
// with a cold builder GCC compiles the field walk less well (about 270 more
// instructions per activity record, callgrind).
model::reject parse_reject(reason r, std::string_view field, std::string_view message) {
    return model::reject{r, std::string(field), std::string(message)};
}

// ---------------------------------------------------------------------------
// Field tables: the wire name of every field a record type knows, what JSON
// types it accepts, and where its text goes.

enum class value_kind : std::uint8_t {
    text,   // a JSON string
    number, // a JSON number (its literal token text) or a JSON string
    flag,   // JSON true/false (as "Y"/"N") or a JSON string
};

template <typename Raw>
struct field_spec {
    std::string_view name;
    value_kind kind = value_kind::text;
    opt_text Raw::*member = nullptr;
};

// Finds a field by name with one hash probe and one compare, built at
// compile time: the slot is a multiplicative hash of the name's length and
// its first 8 bytes, with a multiplier chosen (at compile time) so that the
// table's names never share a slot. Every field of every record is looked
// up, so this replaced a length bucket walked name by name. Indexes are
// < 64 so that a 64-bit mask can remember which fields a record carried.
template <typename Raw, std::size_t N>
class field_table {
public:
    static_assert(N <= 64, "duplicate detection uses a 64-bit mask");
    static constexpr std::size_t name_bytes_max = 31;
    static constexpr int slot_bits = 8;
    static_assert(N < (std::size_t{1} << slot_bits) / 2);

    consteval explicit field_table(const field_spec<Raw> (&specs)[N]) {
        for (std::size_t i = 0; i < N; ++i) {
            const auto& s = specs[i];
            if (s.name.empty() || s.name.size() > name_bytes_max) throw "bad field name";
            specs_[i] = s;
            for (std::size_t j = 0; j < s.name.size(); ++j) padded_[i][j] = s.name[j];
        }
        for (std::uint64_t k = 0; k < 2'000; ++k) {
            // Steps of a large odd constant, so that the multipliers differ in
            // their high bits too: short names ("rate", "asOf") collided for
            // every one of 2,000 neighbouring multipliers.
            multiplier_ = 0x9e3779b97f4a7c15ULL + 2 * k * 0xbf58476d1ce4e5b9ULL;
            if (place()) return;
        }
        throw "no collision-free hash for these field names";
    }

    // The field's index, or -1 for a field this record type does not know.
    // `key` must have name_bytes_max + 1 readable bytes (the padded input
    // buffer guarantees it; see read_key), so that names compare whole
    // words without a call to memcmp.
    int find(const char* key, std::size_t n) const {
        if (n == 0 || n > name_bytes_max) return -1;
        std::uint64_t head = 0;
        std::memcpy(&head, key, 8);
        const slot_entry e = slots_[slot(head, n)];
        if (e.name_bytes != n) return -1; // also when the slot is empty
        return equal_prefix(padded_[e.index].data(), key, n) ? e.index : -1;
    }
    const field_spec<Raw>& operator[](int i) const { return specs_[static_cast<std::size_t>(i)]; }

private:
    // `head` is the 8 bytes at the name's start, little-endian; those past
    // the name's end (when it is shorter) do not count.
    constexpr std::size_t slot(std::uint64_t head, std::size_t n) const {
        if (n < 8) head &= (std::uint64_t{1} << (n * 8)) - 1;
        // Without folding the high half in first, no multiplier tried kept
        // the activity names apart (many share their first bytes: "acct",
        // "intracct", "updTd"/"updSd" in bookkeeping rules).
        std::uint64_t x = head ^ n;
        x ^= x >> 28;
        return static_cast<std::size_t>((x * multiplier_) >> (64 - slot_bits));
    }

    consteval bool place() {
        slots_ = {};
        for (std::size_t i = 0; i < N; ++i) {
            std::uint64_t head = 0;
            for (std::size_t j = 0; j < 8; ++j)
                head |= std::uint64_t{static_cast<unsigned char>(padded_[i][j])} << (8 * j);
            const std::size_t n = specs_[i].name.size();
            const std::size_t at = slot(head, n);
            if (slots_[at].name_bytes != 0) return false;
            slots_[at] = {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(n)};
        }
        return true;
    }

    // Whether the first n (<= name_bytes_max) bytes at a and b are equal;
    // both have name_bytes_max + 1 readable bytes.
    static bool equal_prefix(const char* a, const char* b, std::size_t n) {
#if defined(__AVX2__)
        static_assert(name_bytes_max + 1 == 32, "one 32-byte compare");
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
        const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
        const auto equal = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, y)));
        const std::uint32_t wanted = (std::uint32_t{1} << n) - 1;
        return (equal & wanted) == wanted;
#else
        for (std::size_t i = 0; i < n; i += 8) {
            std::uint64_t x = 0;
            std::uint64_t y = 0;
            std::memcpy(&x, a + i, 8);
            std::memcpy(&y, b + i, 8);
            std::uint64_t diff = x ^ y;
            if (n - i < 8) diff &= (std::uint64_t{1} << ((n - i) * 8)) - 1;
            if (diff != 0) return false;
        }
        return true;
#endif
    }

    std::array<field_spec<Raw>, N> specs_{};                       // in declaration order
    std::array<std::array<char, name_bytes_max + 1>, N> padded_{}; // names, zero-padded
    // A slot holds a name's index and length (0: no name), so that one load
    // after the hash tells whether the key can be that name.
    struct slot_entry {
        std::uint8_t index = 0;
        std::uint8_t name_bytes = 0;
    };
    std::array<slot_entry, std::size_t{1} << slot_bits> slots_{};
    std::uint64_t multiplier_ = 0;
};

template <typename Raw, std::size_t N>
consteval field_table<Raw, N> make_table(const field_spec<Raw> (&specs)[N]) {
    return field_table<Raw, N>(specs);
}

constexpr auto activity_table = make_table<raw_activity>({
    {"type", value_kind::text, &raw_activity::type},
    {"action", value_kind::text, &raw_activity::action},
    {"businessDate", value_kind::text, &raw_activity::business_date},
    {"activityId", value_kind::text, &raw_activity::activity_id},
    {"eventTime", value_kind::number, &raw_activity::event_time},
    {"maxxKeyCode", value_kind::text, &raw_activity::maxx_key_code},
    {"firm", value_kind::text, &raw_activity::firm},
    {"ledger", value_kind::text, &raw_activity::ledger},
    {"branch", value_kind::text, &raw_activity::branch},
    {"base", value_kind::text, &raw_activity::base},
    {"subAcctKey", value_kind::text, &raw_activity::sub_acct_key},
    {"acctCategory", value_kind::text, &raw_activity::acct_category},
    {"rr", value_kind::text, &raw_activity::rr},
    {"usCitizenship", value_kind::text, &raw_activity::us_citizenship},
    {"nyResident", value_kind::text, &raw_activity::ny_resident},
    {"paper", value_kind::text, &raw_activity::paper},
    {"intracctEligibleType", value_kind::text, &raw_activity::intracct_eligible_type},
    {"intracctMinAmt", value_kind::number, &raw_activity::intracct_min_amt},
    {"accountClosedDate", value_kind::text, &raw_activity::account_closed_date},
    {"cusip", value_kind::text, &raw_activity::cusip},
    {"productLine", value_kind::text, &raw_activity::product_line},
    {"quantity", value_kind::number, &raw_activity::quantity},
    {"amount", value_kind::number, &raw_activity::amount},
    {"price", value_kind::number, &raw_activity::price},
    {"currency", value_kind::text, &raw_activity::currency},
    {"tradeDate", value_kind::text, &raw_activity::trade_date},
    {"settleDate", value_kind::text, &raw_activity::settle_date},
    {"bondRedeemSw", value_kind::flag, &raw_activity::bond_redeem_sw},
    {"acctTransferredSw", value_kind::flag, &raw_activity::acct_transferred_sw},
    {"reverseSplitSw", value_kind::flag, &raw_activity::reverse_split_sw},
});

struct raw_bookkeeping_rule {
    opt_text maxx_key_code, short_desc, long_desc, upd_td_bal_sw, upd_sd_bal_sw, adj_sma_sw,
        upd_td_qty_sw, upd_sd_qty_sw;
};
constexpr auto bookkeeping_table = make_table<raw_bookkeeping_rule>({
    {"maxxKeyCode", value_kind::text, &raw_bookkeeping_rule::maxx_key_code},
    {"shortDesc", value_kind::text, &raw_bookkeeping_rule::short_desc},
    {"longDesc", value_kind::text, &raw_bookkeeping_rule::long_desc},
    {"updTdBalSw", value_kind::flag, &raw_bookkeeping_rule::upd_td_bal_sw},
    {"updSdBalSw", value_kind::flag, &raw_bookkeeping_rule::upd_sd_bal_sw},
    {"adjSmaSw", value_kind::flag, &raw_bookkeeping_rule::adj_sma_sw},
    {"updTdQtySw", value_kind::flag, &raw_bookkeeping_rule::upd_td_qty_sw},
    {"updSdQtySw", value_kind::flag, &raw_bookkeeping_rule::upd_sd_qty_sw},
});

struct raw_product {
    opt_text prodline, desc_short, factor, default_price_for_mgn, fractions_allowed_sw,
        marginable_flag, contributes_to_equity_sw, ext_rule_flag;
};
constexpr auto product_table = make_table<raw_product>({
    {"prodline", value_kind::text, &raw_product::prodline},
    {"descShort", value_kind::text, &raw_product::desc_short},
    {"factor", value_kind::number, &raw_product::factor},
    {"defaultPriceForMgn", value_kind::number, &raw_product::default_price_for_mgn},
    {"fractionsAllowedSw", value_kind::flag, &raw_product::fractions_allowed_sw},
    {"marginableFlag", value_kind::flag, &raw_product::marginable_flag},
    {"contributesToEquitySw", value_kind::flag, &raw_product::contributes_to_equity_sw},
    {"extRuleFlag", value_kind::text, &raw_product::ext_rule_flag},
});

struct raw_security {
    opt_text cusip, uls, product_line, strike_price, contract_size, exp_or_maturity_date;
};
constexpr auto security_table = make_table<raw_security>({
    {"cusip", value_kind::text, &raw_security::cusip},
    {"uls", value_kind::text, &raw_security::uls},
    {"productLine", value_kind::text, &raw_security::product_line},
    {"strikePrice", value_kind::number, &raw_security::strike_price},
    {"contractSize", value_kind::number, &raw_security::contract_size},
    {"expOrMaturityDate", value_kind::text, &raw_security::exp_or_maturity_date},
});

struct raw_price {
    opt_text cusip, price, prev_price, as_of;
};
constexpr auto price_table = make_table<raw_price>({
    {"cusip", value_kind::text, &raw_price::cusip},
    {"price", value_kind::number, &raw_price::price},
    {"prevPrice", value_kind::number, &raw_price::prev_price},
    {"asOf", value_kind::number, &raw_price::as_of},
});

struct raw_fx_rate {
    opt_text currency, base_currency, rate, as_of;
};
constexpr auto fx_rate_table = make_table<raw_fx_rate>({
    {"currency", value_kind::text, &raw_fx_rate::currency},
    {"baseCurrency", value_kind::text, &raw_fx_rate::base_currency},
    {"rate", value_kind::number, &raw_fx_rate::rate},
    {"asOf", value_kind::number, &raw_fx_rate::as_of},
});

struct raw_margin_rule {
    opt_text nyrs_mgn_rule, nyrs_mgn_seq, nyrs_level, nyrs_action;
};
constexpr auto margin_rule_table = make_table<raw_margin_rule>({
    {"nyrsMgnRule", value_kind::text, &raw_margin_rule::nyrs_mgn_rule},
    {"nyrsMgnSeq", value_kind::number, &raw_margin_rule::nyrs_mgn_seq},
    {"nyrsLevel", value_kind::number, &raw_margin_rule::nyrs_level},
    {"nyrsAction", value_kind::number, &raw_margin_rule::nyrs_action},
});

// ---------------------------------------------------------------------------
// JSON values

// simdjson reports a failure as an error code; posd's message says what was
// wrong in a few words, without quoting the input.
std::string_view describe(simdjson::error_code e) {
    switch (e) {
    case simdjson::EMPTY: return "empty record";
    case simdjson::TAPE_ERROR: return "invalid JSON structure";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT: return "JSON ends inside an object or array";
    case simdjson::UNCLOSED_STRING: return "JSON string not closed";
    case simdjson::UNESCAPED_CHARS: return "unescaped control character in a JSON string";
    case simdjson::STRING_ERROR: return "invalid escape in a JSON string";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR: return "invalid JSON literal";
    case simdjson::NUMBER_ERROR: return "invalid JSON number";
    case simdjson::DEPTH_ERROR: return "JSON nested too deeply";
    case simdjson::INCORRECT_TYPE: return "invalid JSON value";
    case simdjson::UTF8_ERROR: return "invalid UTF-8";
    default: return simdjson::error_message(e);
    }
}

struct value_failure {
    simdjson::error_code code;
    std::string_view message; // describe(code) when empty
};
using maybe_failure = std::optional<value_failure>;

[[gnu::always_inline]] inline std::string_view trim_right(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259 number grammar. simdjson's on-demand parser checks a number only
// when asked to convert it; posd never converts through double, so it checks
// the literal itself: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
[[gnu::always_inline]] inline bool is_json_number(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    if (i < n && s[i] == '-') ++i;
    if (i >= n) return false;
    if (s[i] == '0') {
        ++i;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit(s[i])) ++i;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        std::size_t start = ++i;
        while (i < n && is_digit(s[i])) ++i;
        if (i == start) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        std::size_t start = i;
        while (i < n && is_digit(s[i])) ++i;
        if (i == start) return false;
    }
    return i == n;
}

// Byte scanning eight bytes at a time (SWAR). Every text scanned here lies
// in the padded input buffer, so reading up to 7 bytes past its end stays
// inside the buffer (SIMDJSON_PADDING bytes follow the input).
static_assert(std::endian::native == std::endian::little, "byte masks assume little-endian loads");
constexpr std::uint64_t low_bits = 0x0101010101010101ULL;
constexpr std::uint64_t high_bits = 0x8080808080808080ULL;

[[gnu::always_inline]] inline std::uint64_t load8(const char* p) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    return w;
}

// The high bit of each byte of `word` equal to `c`. Bytes above a match may
// be flagged too (borrows), so only the lowest flag is exact; callers use
// only that one.
[[gnu::always_inline]] inline std::uint64_t byte_mask(std::uint64_t word, char c) {
    const std::uint64_t x = word ^ (low_bits * static_cast<unsigned char>(c));
    return (x - low_bits) & ~x & high_bits;
}

[[gnu::always_inline]] inline bool has_backslash(std::string_view s) {
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8)
        if (byte_mask(load8(s.data() + i), '\\') != 0) return true;
    if (i == s.size()) return false;
    const std::uint64_t tail = (std::uint64_t{1} << ((s.size() - i) * 8)) - 1;
    return (byte_mask(load8(s.data() + i), '\\') & tail) != 0;
}

// The index of the first '"' or '\\' at `p` or after it.
[[gnu::always_inline]] inline std::size_t find_quote_or_backslash(const char* p) {
    for (std::size_t i = 0;; i += 8) {
        const std::uint64_t w = load8(p + i);
        const std::uint64_t m = byte_mask(w, '"') | byte_mask(w, '\\');
        if (m != 0) return i + static_cast<std::size_t>(std::countr_zero(m) >> 3);
    }
}

// A string's content straight from the input when it has no escapes (the
// common case: no copy, no call into simdjson's unescaper), else unescaped
// by simdjson into its string buffer. Stage 1 has already checked that
// strings are closed, valid UTF-8 and free of raw control characters.
[[gnu::always_inline]] inline maybe_failure read_string(od::value& v, std::string_view token, std::string_view& out) {
    if (token.size() >= 2 && token.back() == '"') {
        std::string_view content = token.substr(1, token.size() - 2);
        if (!has_backslash(content)) {
            out = content;
            return std::nullopt;
        }
    }
    if (auto e = v.get_string().get(out)) return value_failure{e, {}};
    return std::nullopt;
}

// A field name, the same way: raw when it has no escapes. `padded` tells
// whether the text lies in the padded input buffer (with at least
// SIMDJSON_PADDING readable bytes after it) rather than in simdjson's
// string buffer.
[[gnu::always_inline]] inline maybe_failure read_key(od::field& field, std::string_view& out, bool& padded) {
    const char* raw = field.key().raw();
    const std::size_t n = find_quote_or_backslash(raw);
    padded = raw[n] == '"';
    if (padded) {
        out = std::string_view(raw, n);
        return std::nullopt;
    }
    if (auto e = field.unescaped_key().get(out)) return value_failure{e, {}};
    return std::nullopt;
}

template <typename Raw, std::size_t N>
int find_field(const field_table<Raw, N>& table, std::string_view key, bool padded) {
    if (padded) return table.find(key.data(), key.size());
    if (key.size() > table.name_bytes_max) return -1;
    std::array<char, field_table<Raw, N>::name_bytes_max + 1> copy{}; // not table.: clang 14 (P2280)
    std::memcpy(copy.data(), key.data(), key.size());
    return table.find(copy.data(), key.size());
}

// Reads a value from its token (simdjson's raw_json_token: the bytes up to
// the next structural character), so one call tells the JSON type from the
// first byte and gives the text: strings their content (unescaped when they
// have escapes), numbers and literals their literal. Containers are left to
// the caller (`type` object/array, `text` empty).
[[gnu::always_inline]] inline maybe_failure read_token(od::value& v, od::json_type& type, std::string_view& text) {
    const std::string_view token = trim_right(v.raw_json_token());
    if (token.empty()) return value_failure{simdjson::TAPE_ERROR, {}};
    switch (token[0]) {
    case '"':
        type = od::json_type::string;
        return read_string(v, token, text);
    case '{': type = od::json_type::object; return std::nullopt;
    case '[': type = od::json_type::array; return std::nullopt;
    case 't':
    case 'f':
        type = od::json_type::boolean;
        if (token != "true" && token != "false") return value_failure{simdjson::T_ATOM_ERROR, {}};
        text = token;
        return std::nullopt;
    case 'n':
        type = od::json_type::null;
        if (token != "null") return value_failure{simdjson::N_ATOM_ERROR, {}};
        return std::nullopt;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        type = od::json_type::number;
        if (!is_json_number(token)) return value_failure{simdjson::NUMBER_ERROR, {}};
        text = token;
        return std::nullopt;
    default: return value_failure{simdjson::INCORRECT_TYPE, "invalid JSON value"};
    }
}

// Walks a value the record does not use, so that invalid JSON inside an
// unknown field is rejected like anywhere else (on-demand skipping would
// only count brackets). Recursion is bounded by json_depth_max.
maybe_failure validate_value(od::value v, std::size_t depth) {
    od::json_type type{};
    std::string_view text;
    if (auto f = read_token(v, type, text)) return f;
    if (type == od::json_type::object) {
        if (depth > json_depth_max) return value_failure{simdjson::DEPTH_ERROR, {}};
        od::object obj;
        if (auto e = v.get_object().get(obj)) return value_failure{e, {}};
        for (auto result : obj) {
            if (auto e = result.error()) return value_failure{e, {}};
            od::field& field = result.value_unsafe();
            std::string_view key;
            bool padded = false;
            if (auto f = read_key(field, key, padded)) return f;
            if (auto f = validate_value(field.value(), depth + 1)) return f;
        }
    } else if (type == od::json_type::array) {
        if (depth > json_depth_max) return value_failure{simdjson::DEPTH_ERROR, {}};
        od::array arr;
        if (auto e = v.get_array().get(arr)) return value_failure{e, {}};
        for (auto element : arr) {
            od::value child;
            if (auto e = element.get(child)) return value_failure{e, {}};
            if (auto f = validate_value(child, depth + 1)) return f;
        }
    }
    return std::nullopt;
}

// Reads a known field's value as text (see value_kind); JSON null leaves it
// absent.
[[gnu::always_inline]] inline maybe_failure read_value(od::value& v, value_kind kind, opt_text& out) {
    od::json_type type{};
    std::string_view text;
    if (auto f = read_token(v, type, text)) return f;
    switch (type) {
    case od::json_type::null: out.reset(); return std::nullopt;
    case od::json_type::string: out = text; return std::nullopt;
    case od::json_type::number:
        if (kind != value_kind::number) break;
        out = text;
        return std::nullopt;
    case od::json_type::boolean:
        if (kind != value_kind::flag) break;
        out = text[0] == 't' ? std::string_view{"Y"} : std::string_view{"N"};
        return std::nullopt;
    case od::json_type::object:
    case od::json_type::array: break;
    }
    switch (kind) {
    case value_kind::text: return value_failure{simdjson::INCORRECT_TYPE, "expected a JSON string"};
    case value_kind::number: return value_failure{simdjson::INCORRECT_TYPE, "expected a number or a string"};
    case value_kind::flag: return value_failure{simdjson::INCORRECT_TYPE, "expected true, false or a string"};
    }
    return value_failure{simdjson::INCORRECT_TYPE, {}};
}

model::reject malformed(std::string_view field, const value_failure& f) {
    std::string_view message = f.message.empty() ? describe(f.code) : f.message;
    return parse_reject(reason::malformed, field, message);
}

// An unknown field's name is reported only when it looks like a field name:
// short, printable ASCII.
std::string_view reportable_name(std::string_view key) {
    if (key.size() > 64) return {};
    for (char c : key)
        if (c < 0x21 || c > 0x7e) return {};
    return key;
}

// Walks the object's fields once: known fields go to their slot in `raw`,
// unknown ones are validated and skipped.
template <typename Raw, std::size_t N>
maybe_reject collect_fields(od::object& obj, const field_table<Raw, N>& table, Raw& raw) {
    std::uint64_t seen = 0;
    for (auto result : obj) {
        if (auto e = result.error()) return malformed({}, value_failure{e, {}});
        od::field& field = result.value_unsafe();
        std::string_view key;
        bool padded = false;
        if (auto f = read_key(field, key, padded)) return malformed({}, *f);
        od::value& v = field.value();
        const int index = find_field(table, key, padded);
        if (index < 0) {
            if (auto f = validate_value(v, 2)) return malformed(reportable_name(key), *f);
            continue;
        }
        const field_spec<Raw>& spec = table[index];
        const std::uint64_t bit = std::uint64_t{1} << index;
        if (seen & bit) return parse_reject(reason::malformed, spec.name, "duplicate field");
        seen |= bit;
        if (auto f = read_value(v, spec.kind, raw.*spec.member)) return malformed(spec.name, *f);
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Reference data rules (libs/codec/README.md, "Reference data"); the rules
// they share with activity records are in field_rules.h.

// A required integer in int32 range (the caller checks that it is present).
maybe_reject int32_field(const opt_text& v, std::string_view wire, std::int32_t& out) {
    if (too_long(v)) return reject_too_long(wire);
    bool digits_only = false;
    std::int64_t n = 0;
    if (!parse_integer(*v, digits_only, n)) return make_reject(reason::number_out_of_range, wire, "integer out of range");
    if (!digits_only) return make_reject(reason::bad_field, wire, "not an integer");
    if (n < std::numeric_limits<std::int32_t>::min() || n > std::numeric_limits<std::int32_t>::max())
        return make_reject(reason::number_out_of_range, wire, "integer out of range");
    out = static_cast<std::int32_t>(n);
    return std::nullopt;
}

// A rate or level: a required fraction between 0 and 1.
maybe_reject fraction_field(const opt_text& v, std::string_view wire, decimal& out) {
    POSD_TRY(required(v, wire));
    return decimal_field(v, wire, 1, sign_rule::non_negative, out);
}

} // namespace

// ---------------------------------------------------------------------------

struct json_decoder::impl {
    static constexpr std::size_t buffer_bytes = limits::record_bytes_max + simdjson::SIMDJSON_PADDING;

    od::parser parser;
    std::unique_ptr<char[]> buffer = std::make_unique<char[]>(buffer_bytes);

    impl() {
        auto e = parser.allocate(limits::record_bytes_max);
        vassert(e == simdjson::SUCCESS, "simdjson parser allocation failed: {}", simdjson::error_message(e));
    }

    // Parses `bytes` and collects the top-level object's fields into `raw`.
    // The texts in `raw` point into the parser and the buffer: valid until
    // the next call.
    template <typename Raw, std::size_t N>
    maybe_reject parse(std::string_view bytes, const field_table<Raw, N>& table, Raw& raw) {
        if (bytes.size() > limits::record_bytes_max)
            return parse_reject(reason::record_too_large, {}, "record larger than the size limit");
        if (bytes.empty()) return parse_reject(reason::malformed, {}, "empty record");
        std::memcpy(buffer.get(), bytes.data(), bytes.size());
        std::memset(buffer.get() + bytes.size(), 0, simdjson::SIMDJSON_PADDING);

        od::document doc;
        if (auto e = parser.iterate(buffer.get(), bytes.size(), bytes.size() + simdjson::SIMDJSON_PADDING).get(doc)) {
            // Stage 1 validates the UTF-8 of the whole input; when it stops
            // at another error first, look again so that an invalid encoding
            // is always reported as such.
            if (e == simdjson::UTF8_ERROR || !simdjson::validate_utf8(bytes.data(), bytes.size()))
                return parse_reject(reason::invalid_encoding, {}, "invalid UTF-8");
            return parse_reject(reason::malformed, {}, describe(e));
        }
        od::object obj;
        if (auto e = doc.get_object().get(obj)) {
            return parse_reject(reason::malformed, {},
                               e == simdjson::INCORRECT_TYPE ? "not a JSON object" : describe(e));
        }
        POSD_TRY(collect_fields(obj, table, raw));
        if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS)
            return parse_reject(reason::malformed, {}, "content after the JSON object");
        return std::nullopt;
    }
};

json_decoder::json_decoder() : impl_(std::make_unique<impl>()) {}
json_decoder::~json_decoder() = default;
json_decoder::json_decoder(json_decoder&&) noexcept = default;
json_decoder& json_decoder::operator=(json_decoder&&) noexcept = default;

model::decoded_record json_decoder::decode_activity(std::string_view bytes) {
    raw_activity raw;
    POSD_TRY(impl_->parse(bytes, activity_table, raw));
    return build_record(raw);
}

std::variant<model::bookkeeping_rule, model::reject> json_decoder::decode_bookkeeping_rule(std::string_view bytes) {
    raw_bookkeeping_rule raw;
    POSD_TRY(impl_->parse(bytes, bookkeeping_table, raw));
    model::bookkeeping_rule out;
    POSD_TRY(text_field<text_rule::required>(raw.maxx_key_code, "maxxKeyCode", out.maxx_key_code));
    POSD_TRY(text_field(raw.short_desc, "shortDesc", out.short_desc));
    POSD_TRY(text_field(raw.long_desc, "longDesc", out.long_desc));
    POSD_TRY(switch_field(raw.upd_td_bal_sw, "updTdBalSw", out.upd_td_bal_sw));
    POSD_TRY(switch_field(raw.upd_sd_bal_sw, "updSdBalSw", out.upd_sd_bal_sw));
    POSD_TRY(switch_field(raw.adj_sma_sw, "adjSmaSw", out.adj_sma_sw));
    POSD_TRY(switch_field(raw.upd_td_qty_sw, "updTdQtySw", out.upd_td_qty_sw));
    POSD_TRY(switch_field(raw.upd_sd_qty_sw, "updSdQtySw", out.upd_sd_qty_sw));
    return out;
}

std::variant<model::product_definition, model::reject> json_decoder::decode_product(std::string_view bytes) {
    raw_product raw;
    POSD_TRY(impl_->parse(bytes, product_table, raw));
    model::product_definition out;
    POSD_TRY(text_field<text_rule::required>(raw.prodline, "prodline", out.prodline));
    POSD_TRY(text_field(raw.desc_short, "descShort", out.desc_short));
    POSD_TRY(decimal_field(raw.factor, "factor", limits::factor_units_max, sign_rule::positive, out.factor));
    POSD_TRY(decimal_field(raw.default_price_for_mgn, "defaultPriceForMgn", limits::price_units_max,
                           sign_rule::non_negative, out.default_price_for_mgn));
    POSD_TRY(switch_field(raw.fractions_allowed_sw, "fractionsAllowedSw", out.fractions_allowed_sw));
    POSD_TRY(switch_field(raw.marginable_flag, "marginableFlag", out.marginable_flag));
    POSD_TRY(switch_field(raw.contributes_to_equity_sw, "contributesToEquitySw", out.contributes_to_equity_sw));
    POSD_TRY(text_field(raw.ext_rule_flag, "extRuleFlag", out.ext_rule_flag));
    return out;
}

std::variant<model::security, model::reject> json_decoder::decode_security(std::string_view bytes) {
    raw_security raw;
    POSD_TRY(impl_->parse(bytes, security_table, raw));
    model::security out;
    POSD_TRY(cusip_field(raw.cusip, "cusip", out.cusip, presence::required));
    POSD_TRY(text_field(raw.uls, "uls", out.uls));
    POSD_TRY(text_field(raw.product_line, "productLine", out.product_line));
    POSD_TRY(decimal_field(raw.strike_price, "strikePrice", limits::price_units_max, sign_rule::non_negative,
                           out.strike_price));
    POSD_TRY(decimal_field(raw.contract_size, "contractSize", limits::contract_size_units_max, sign_rule::positive,
                           out.contract_size));
    POSD_TRY(date_field(raw.exp_or_maturity_date, "expOrMaturityDate", out.exp_or_maturity_date));
    return out;
}

std::variant<model::price, model::reject> json_decoder::decode_price(std::string_view bytes) {
    raw_price raw;
    POSD_TRY(impl_->parse(bytes, price_table, raw));
    model::price out;
    POSD_TRY(cusip_field(raw.cusip, "cusip", out.cusip, presence::required));
    POSD_TRY(required(raw.price, "price"));
    POSD_TRY(decimal_field(raw.price, "price", limits::price_units_max, sign_rule::non_negative, out.price));
    POSD_TRY(decimal_field(raw.prev_price, "prevPrice", limits::price_units_max, sign_rule::non_negative,
                           out.prev_price));
    POSD_TRY(timestamp_field(raw.as_of, "asOf", out.as_of));
    return out;
}

std::variant<model::margin_rule, model::reject> json_decoder::decode_margin_rule(std::string_view bytes) {
    raw_margin_rule raw;
    POSD_TRY(impl_->parse(bytes, margin_rule_table, raw));
    model::margin_rule out;
    POSD_TRY(text_field<text_rule::required>(raw.nyrs_mgn_rule, "nyrsMgnRule", out.nyrs_mgn_rule));
    POSD_TRY(required(raw.nyrs_mgn_seq, "nyrsMgnSeq"));
    POSD_TRY(int32_field(raw.nyrs_mgn_seq, "nyrsMgnSeq", out.nyrs_mgn_seq));
    POSD_TRY(fraction_field(raw.nyrs_level, "nyrsLevel", out.nyrs_level));
    POSD_TRY(fraction_field(raw.nyrs_action, "nyrsAction", out.nyrs_action));
    return out;
}

std::variant<model::fx_rate, model::reject> json_decoder::decode_fx_rate(std::string_view bytes) {
    raw_fx_rate raw;
    POSD_TRY(impl_->parse(bytes, fx_rate_table, raw));
    model::fx_rate out;
    for (auto [v, wire, field] : {std::tuple{&raw.currency, "currency", &out.currency},
                                  std::tuple{&raw.base_currency, "baseCurrency", &out.base_currency}}) {
        POSD_TRY(required(*v, wire));
        POSD_TRY(length_of(*v, wire));
        if (!is_currency_code(**v))
            return make_reject(reason::bad_field, wire, "currency must be 3 letters A-Z (ISO 4217)");
        field->assign(**v);
    }
    if (out.currency == out.base_currency)
        return make_reject(reason::bad_field, "baseCurrency", "a rate from a currency into itself");
    POSD_TRY(required(raw.rate, "rate"));
    POSD_TRY(decimal_field(raw.rate, "rate", limits::fx_rate_units_max, sign_rule::positive, out.rate));
    POSD_TRY(timestamp_field(raw.as_of, "asOf", out.as_of));
    return out;
}

std::string_view json_decoder::compiled_implementation() {
    return POSD_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);
}

std::string_view json_decoder::active_implementation() {
    return simdjson::get_active_implementation()->name();
}

} // namespace posd::codec
