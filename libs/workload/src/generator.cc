#include "workload/generator.h"

#include "base/limits.h"
#include "base/vassert.h"
#include "codec/json_encode.h"
#include "codec/protobuf.h"

#include <fmt/format.h>

#include <algorithm>

namespace posd::workload {
namespace {

// Activity items remembered for duplicates: far fewer than the engine's
// applied-id retention, so that a re-sent id is always recognised.
constexpr std::size_t recent_max = 1024;
static_assert(recent_max < limits::applied_ids_retained_default);
// Attempts at drawing a cusip or account with a property before falling back.
constexpr int draw_attempts_max = 64;

constexpr std::int64_t ms_per_day = 86'400'000;

timestamp day_start(date d, std::int64_t offset_ms) {
    return timestamp{static_cast<std::int64_t>(d.days()) * ms_per_day + offset_ms};
}

// Replaces the value of `"field":` in a flat JSON object with `raw` (a JSON
// token, quoted when a string), or appends the field when it is absent.
void replace_json_value(std::string& json, std::string_view field, std::string_view raw) {
    const std::string needle = fmt::format("\"{}\":", field);
    std::size_t pos = json.find(needle);
    if (pos == std::string::npos) {
        const std::size_t close = json.rfind('}');
        vassert(close != std::string::npos, "not a JSON object");
        json.insert(close, fmt::format(",\"{}\":{}", field, raw));
        return;
    }
    std::size_t start = pos + needle.size();
    while (start < json.size() && json[start] == ' ') ++start;
    std::size_t end = start;
    if (end < json.size() && json[end] == '"') {
        ++end;
        while (end < json.size() && json[end] != '"') end += json[end] == '\\' ? 2 : 1;
        ++end;
    } else {
        while (end < json.size() && json[end] != ',' && json[end] != '}') ++end;
    }
    json.replace(start, end - start, raw);
}

// The valid activities the generator makes, with their weights per mille.
enum class op : std::uint8_t { buy, sell, sell_short, buy_cover, deposit, withdrawal, dividend, fee,
                               journal, memo, receive, deliver };
constexpr std::array<std::uint32_t, 12> op_weights = {360, 260, 20, 15, 80, 40, 50, 40, 40, 20, 50, 25};

// Reasons of bad records, with their weights. Every reason a record can be
// rejected for is here (UNSUPPORTED_CONTENT_TYPE via the item's content
// type); RECORD_TOO_LARGE is rare because each such record is 64 KiB.
using model::reason;
struct bad_weight {
    reason r;
    std::uint32_t weight;
};
constexpr std::array<bad_weight, 19> bad_weights = {{
    {reason::malformed, 100},
    {reason::missing_field, 80},
    {reason::bad_field, 80},
    {reason::number_out_of_range, 60},
    {reason::bad_cusip_check_digit, 80},
    {reason::unknown_key_code, 70},
    {reason::account_closed, 70},
    {reason::fractional_not_allowed, 70},
    {reason::below_min_transfer, 60},
    {reason::insufficient_position, 80},
    {reason::key_mismatch, 60},
    {reason::unknown_product, 60},
    {reason::unsupported_content_type, 30},
    {reason::field_too_long, 40},
    {reason::invalid_encoding, 40},
    {reason::unknown_record_type, 30},
    {reason::record_too_large, 2},
    {reason::no_fx_rate, 0}, // workload_config::no_fx_rate_weight
    {reason::date_out_of_range, 40},
}};

// Fraction digits of a price by product line.
int price_digits(std::string_view line) {
    if (line == product_lines::corporate_bond || line == product_lines::municipal_bond) return 3;
    if (line == product_lines::penny_stock) return 4;
    return 2;
}

// Quantities trade in lots: bonds in 1,000 face, everything else in units.
std::int64_t lot_of(std::string_view line) {
    return line == product_lines::corporate_bond || line == product_lines::municipal_bond ? 1000 : 1;
}

bool buyable(std::string_view line) {
    // Restricted stock and annuities held away are received, never bought.
    return line != product_lines::restricted && line != product_lines::annuity;
}

const decimal journal_min_amt = decimal::from_scaled(2500, 2);

} // namespace

std::string_view to_string(item_kind k) {
    switch (k) {
    case item_kind::activity: return "activity";
    case item_kind::control: return "control";
    case item_kind::price_update: return "price_update";
    }
    return "?";
}

std::string_view to_string(outcome o) {
    switch (o) {
    case outcome::applied: return "applied";
    case outcome::duplicate: return "duplicate";
    case outcome::rejected: return "rejected";
    }
    return "?";
}

activity_generator::activity_generator(const workload_config& config)
    : config_(config), refdata_(make_reference_data(config)), rng_(config.seed),
      business_date_(config.start_business_date) {
    vassert(config_.account_count >= 2, "account_count {} below 2", config_.account_count);
    vassert(config_.hot_account_count < config_.account_count, "hot accounts {} not below accounts {}",
            config_.hot_account_count, config_.account_count);
    vassert(!config_.firms.empty(), "no firms");
    for (const auto& f : config_.firms) vassert(f.size() == 4, "firm '{}' is not 4 characters", f);
    vassert(!business_date_.is_weekend(), "start_business_date {} is a weekend", business_date_.to_string());
    clock_ = day_start(business_date_, config_.day_start_ms);

    const std::size_t n = refdata_.securities.size();
    product_index_.resize(n);
    cusips_by_line_.resize(refdata_.products.size());
    prices_.resize(n);
    closes_.resize(n);
    {
        std::vector<std::pair<std::string_view, std::uint32_t>> by_cusip;
        by_cusip.reserve(refdata_.prices.size());
        for (std::uint32_t i = 0; i < refdata_.prices.size(); ++i) by_cusip.emplace_back(refdata_.prices[i].cusip, i);
        std::sort(by_cusip.begin(), by_cusip.end());
        for (std::uint32_t c = 0; c < n; ++c) {
            const auto& sec = refdata_.securities[c];
            std::uint32_t p = 0;
            while (refdata_.products[p].prodline != sec.product_line) ++p;
            product_index_[c] = p;
            cusips_by_line_[p].push_back(c);
            auto it = std::lower_bound(by_cusip.begin(), by_cusip.end(),
                                       std::pair<std::string_view, std::uint32_t>{sec.cusip, 0});
            if (it != by_cusip.end() && it->first == sec.cusip) {
                prices_[c] = refdata_.prices[it->second].price;
                closes_[c] = refdata_.prices[it->second].price;
                if (sec.product_line != product_lines::mutual_fund) priced_cusips_.push_back(c);
            } else {
                // Unpriced in reference data; records still carry a trade price.
                const auto d = price_digits(sec.product_line);
                prices_[c] = d == 3 ? decimal::from_units(100) : decimal::from_units(d == 4 ? 1 : 25);
            }
        }
    }
    cusip_zipf_ = zipf_sampler(n, 5.0);
    account_zipf_ = zipf_sampler(config_.account_count - config_.hot_account_count,
                                 static_cast<double>(config_.zipf_offset));
    build_accounts();
}

void activity_generator::build_accounts() {
    rng r(config_.seed ^ 0xacc0'0017ULL);
    accounts_.resize(config_.account_count);
    const std::uint64_t spread = 9'000'000;
    const std::uint64_t shift = config_.seed % spread;
    const std::array<std::uint32_t, 3> type_weights = {
        config_.cash_account_per_mille, config_.margin_account_per_mille,
        1000 - std::min<std::uint32_t>(1000, config_.cash_account_per_mille + config_.margin_account_per_mille)};
    for (std::size_t i = 0; i < accounts_.size(); ++i) {
        account& a = accounts_[i];
        const bool hot = i < config_.hot_account_count;
        a.type = static_cast<char>('1' + pick_weighted(r, type_weights.data(), type_weights.size()));
        // Seven digits (a bijection of the index while accounts < 9,000,000)
        // and the account type as the last digit.
        const std::uint64_t number = 1'000'000 + (i * 7919 + shift) % spread;
        a.base = fmt::format("{}{}", number, a.type);
        a.firm = config_.firms[r.below(config_.firms.size())];
        a.ledger = r.chance(900) ? "01" : "02";
        a.branch = fmt::format("{:03}", 100 + r.below(40));
        a.key = model::make_account_key(a.firm, a.ledger, a.branch, a.base).value();
        // Omnibus accounts (correspondents, advisors) are the hot ones.
        a.acct_category = hot ? "OMNI" : (r.chance(800) ? "RETL" : "INST");
        a.rr = fmt::format("R{:03}", r.below(250));
        a.us_citizenship = std::string(r.chance(950) ? "Y" : "N");
        a.ny_resident = std::string(r.chance(180) ? "Y" : "N");
        const bool options = r.chance(300);
        a.paper = a.type == '1' ? (options ? "CO" : "C") : a.type == '2' ? (options ? "MO" : "M") : (options ? "MOS" : "MS");
    }
}

std::size_t activity_generator::pick_account() {
    if (config_.hot_account_count > 0 && rng_.chance(config_.hot_share_per_mille))
        return rng_.below(config_.hot_account_count);
    return config_.hot_account_count + account_zipf_.sample(rng_);
}

std::uint32_t activity_generator::pick_cusip() {
    for (int i = 0; i < draw_attempts_max; ++i) {
        auto c = static_cast<std::uint32_t>(cusip_zipf_.sample(rng_));
        if (buyable(refdata_.securities[c].product_line)) return c;
    }
    return 0; // the first cusip is an equity
}

std::uint32_t activity_generator::pick_cusip_in(std::string_view line) {
    for (std::uint32_t p = 0; p < refdata_.products.size(); ++p) {
        if (refdata_.products[p].prodline != line) continue;
        const auto& list = cusips_by_line_[p];
        vassert(!list.empty(), "no cusip of product line {}", line);
        // Popular first: the list is in cusip index order, which is Zipf rank.
        const std::size_t k = std::min(rng_.below(list.size()), rng_.below(list.size()));
        return list[k];
    }
    vunreachable("unknown product line {}", line);
}

const model::product_definition& activity_generator::product_of(std::uint32_t cusip) const {
    return refdata_.products[product_index_[cusip]];
}

activity_generator::holding* activity_generator::find_holding(account& a, std::uint32_t cusip, char sub) {
    for (auto& h : a.holdings)
        if (h.cusip == cusip && h.sub == sub) return &h;
    return nullptr;
}

activity_generator::holding& activity_generator::get_holding(account& a, std::uint32_t cusip, char sub) {
    if (auto* h = find_holding(a, cusip, sub)) return *h;
    a.holdings.push_back(holding{cusip, sub, decimal{}});
    return a.holdings.back();
}

activity_generator::holding* activity_generator::pick_long(account& a) {
    std::size_t longs = 0;
    for (auto& h : a.holdings) longs += h.td_qty.is_positive();
    if (longs == 0) return nullptr;
    std::size_t k = rng_.below(longs);
    for (auto& h : a.holdings)
        if (h.td_qty.is_positive() && k-- == 0) return &h;
    vunreachable("pick_long");
}

activity_generator::holding* activity_generator::pick_short(account& a) {
    for (auto& h : a.holdings)
        if (h.td_qty.is_negative()) return &h;
    return nullptr;
}

std::string activity_generator::next_activity_id() {
    return fmt::format("WL{:06X}-{:010}", config_.seed & 0xFF'FFFF, next_id_++);
}

model::activity_record activity_generator::base_record(const account& a, std::string_view key_code) {
    model::activity_record r;
    r.activity_id = next_activity_id();
    r.event_time = clock_;
    r.maxx_key_code = std::string(key_code);
    r.firm = a.firm;
    r.ledger = a.ledger;
    r.branch = a.branch;
    r.base = a.base;
    r.sub_acct_key = std::string("1");
    r.acct_category = a.acct_category;
    r.rr = a.rr;
    r.us_citizenship = a.us_citizenship;
    r.ny_resident = a.ny_resident;
    r.paper = a.paper;
    r.currency = std::string("USD");
    r.trade_date = business_date_;
    r.settle_date = business_date_;
    return r;
}

void activity_generator::set_instrument(model::activity_record& r, std::uint32_t cusip) {
    const auto& sec = refdata_.securities[cusip];
    r.cusip = sec.cusip;
    // Most feeds carry the product line; some leave it to the security master.
    r.product_line = rng_.chance(950) ? sec.product_line : std::string();
    // Securities settle T+1 (SEC Rule 15c6-1 since May 2024).
    r.settle_date = business_date_.next_weekday();
}

decimal activity_generator::whole_or_fraction_quantity(std::uint32_t cusip, std::int64_t lo, std::int64_t hi) {
    if (product_of(cusip).fractions_allowed_sw)
        return decimal::from_scaled(rng_.between(lo * 1000, hi * 1000), 3);
    return decimal::from_units(rng_.between(lo, hi) * lot_of(refdata_.securities[cusip].product_line));
}

void activity_generator::price_trade(model::activity_record& r, std::uint32_t cusip, bool buy) {
    const auto& sec = refdata_.securities[cusip];
    const auto& prod = product_of(cusip);
    const decimal px = current_price(cusip);
    r.price = px;
    decimal gross = *decimal::mul(px, r.quantity.abs());
    gross = *decimal::mul(gross, prod.factor);
    if (sec.contract_size) gross = *decimal::mul(gross, *sec.contract_size);
    gross = gross.round(2);
    decimal commission;
    if (sec.product_line == product_lines::option)
        commission = *decimal::mul(decimal::from_scaled(65, 2), r.quantity.abs());
    else if (lot_of(sec.product_line) > 1)
        commission = decimal::from_units(10);
    r.amount = buy ? -(gross + commission) : gross - commission;
}

void activity_generator::encode(const model::activity_record& r, item& out, bool allow_protobuf) {
    out.kind = item_kind::activity;
    out.key = r.account().value();
    out.activity_id = r.activity_id;
    out.maxx_key_code = r.maxx_key_code;
    out.price.reset();
    out.business_date = business_date_;
    out.event_time = r.event_time.value_or(clock_);
    if (allow_protobuf && protobuf_per_mille_ > 0 && rng_.chance(protobuf_per_mille_)) {
        out.value = codec::encode_activity_protobuf(r);
        out.content_type = std::string(content_type_protobuf);
    } else {
        out.value.clear();
        codec::encode_activity_json(r, out.value);
        out.content_type.clear();
    }
}

void activity_generator::queue(std::size_t account_index, model::activity_record r,
                               std::optional<std::uint32_t> cusip) {
    account& a = accounts_[account_index];
    a.active = true;
    const auto* rule = refdata_.rule(r.maxx_key_code);
    vassert(rule != nullptr, "generator built a record with unknown rule {}", r.maxx_key_code);
    if (rule->upd_td_bal_sw) a.td_bal += r.amount;
    if (rule->upd_td_qty_sw && cusip) get_holding(a, *cusip, r.sub_acct_key[0]).td_qty += r.quantity;
    item it;
    encode(r, it, true);
    it.expected = outcome::applied;
    pending_.push_back(std::move(it));
}

void activity_generator::queue_trade(std::size_t account_index, model::activity_record r, std::uint32_t cusip) {
    const bool buy = r.quantity.is_positive();
    const std::int64_t lot = lot_of(refdata_.securities[cusip].product_line);
    const decimal total = r.quantity.abs();
    // Fractional quantities (funds) are never split; whole ones may be.
    std::int64_t lots = total.is_integer() ? total.to_units() / lot : 0;
    std::int64_t fills = 1;
    if (lots >= 2 && rng_.chance(config_.multi_fill_per_mille)) fills = std::min<std::int64_t>(lots, rng_.between(2, 4));
    if (fills == 1) {
        price_trade(r, cusip, buy);
        queue(account_index, std::move(r), cusip);
        return;
    }
    const timestamp t0 = clock_;
    for (std::int64_t f = 0; f < fills; ++f) {
        const std::int64_t left = fills - f - 1;
        const std::int64_t take = left == 0 ? lots : rng_.between(1, lots - left);
        lots -= take;
        model::activity_record fill = r;
        if (f > 0) fill.activity_id = next_activity_id();
        fill.event_time = timestamp{t0.ms + f};
        fill.quantity = decimal::from_units(take * lot);
        if (!buy) fill.quantity = -fill.quantity;
        price_trade(fill, cusip, buy);
        queue(account_index, std::move(fill), cusip);
    }
}

void activity_generator::emit_valid(item& out) {
    const std::size_t ai = pick_account();
    account& a = accounts_[ai];
    auto o = static_cast<op>(pick_weighted(rng_, op_weights.data(), op_weights.size()));

    // Fall back to what the account can do.
    holding* h = nullptr;
    if (o == op::sell || o == op::dividend || o == op::deliver) {
        h = pick_long(a);
        if (h && o == op::sell && !buyable(refdata_.securities[h->cusip].product_line)) o = op::deliver;
        if (h && o == op::dividend && refdata_.securities[h->cusip].product_line == product_lines::option) o = op::sell;
        if (!h) o = o == op::dividend ? op::deposit : op::buy;
    }
    if (o == op::sell_short && !account_can_short(a)) o = op::buy;
    if (o == op::buy_cover) {
        h = pick_short(a);
        if (!h) o = op::buy;
    }
    if (o == op::withdrawal && a.td_bal < decimal::from_units(200)) o = op::deposit;

    switch (o) {
    case op::buy: {
        const std::uint32_t c = pick_cusip();
        auto r = base_record(a, "BUY");
        set_instrument(r, c);
        r.sub_acct_key = rng_.chance(800) ? "1" : "2";
        const auto& line = refdata_.securities[c].product_line;
        std::int64_t hi = line == product_lines::penny_stock ? 50'000 : line == product_lines::option ? 20 : 500;
        if (lot_of(line) > 1) hi = 50;
        if (product_of(c).fractions_allowed_sw) hi = 5'000;
        r.quantity = whole_or_fraction_quantity(c, line == product_lines::penny_stock ? 100 : 1, hi);
        queue_trade(ai, std::move(r), c);
        break;
    }
    case op::sell:
    case op::deliver: {
        const std::uint32_t c = h->cusip;
        auto r = base_record(a, o == op::sell ? "SELL" : "DELS");
        set_instrument(r, c);
        r.sub_acct_key = std::string(1, h->sub);
        decimal q = h->td_qty;
        if (!rng_.chance(o == op::sell ? 400 : 700)) {
            // Part of the position: whole lots, or thousandths for funds.
            if (q.is_integer()) {
                const std::int64_t lot = lot_of(refdata_.securities[c].product_line);
                const std::int64_t lots = q.to_units() / lot;
                if (lots >= 1) q = decimal::from_units(rng_.between(1, lots) * lot);
            } else {
                const auto thousandths = static_cast<std::int64_t>(q.raw() / 1'000'000);
                if (thousandths >= 1) q = decimal::from_scaled(rng_.between(1, thousandths), 3);
            }
        }
        r.quantity = -q;
        if (o == op::sell) {
            r.bond_redeem_sw = lot_of(refdata_.securities[c].product_line) > 1 && rng_.chance(50);
            queue_trade(ai, std::move(r), c);
        } else {
            r.acct_transferred_sw = true;
            queue(ai, std::move(r), c);
        }
        break;
    }
    case op::sell_short: {
        std::uint32_t c = pick_cusip_in(rng_.chance(800) ? product_lines::equity : product_lines::etf);
        auto r = base_record(a, "SSHT");
        set_instrument(r, c);
        r.sub_acct_key = "2"; // shorts live in the margin sub-account
        holding* held = find_holding(a, c, '2');
        if (held && held->td_qty.is_positive()) {
            // Already long there: a plain sale of part of it instead.
            r.maxx_key_code = "SELL";
            const std::int64_t units = held->td_qty.is_integer() ? held->td_qty.to_units() : 0;
            if (units < 1) break;
            r.quantity = -decimal::from_units(rng_.between(1, units));
        } else {
            r.quantity = -decimal::from_units(rng_.between(1, 500));
        }
        queue_trade(ai, std::move(r), c);
        break;
    }
    case op::buy_cover: {
        const std::uint32_t c = h->cusip;
        auto r = base_record(a, "BCOV");
        set_instrument(r, c);
        r.sub_acct_key = std::string(1, h->sub);
        const std::int64_t short_units = (-h->td_qty).to_units();
        r.quantity = decimal::from_units(rng_.chance(400) ? short_units : rng_.between(1, short_units));
        queue_trade(ai, std::move(r), c);
        break;
    }
    case op::deposit: {
        auto r = base_record(a, "DEPO");
        std::int64_t cents = rng_.between(100'00, 50'000'00);
        if (rng_.chance(10)) cents *= 100; // an occasional large wire
        r.amount = decimal::from_scaled(cents, 2);
        queue(ai, std::move(r), std::nullopt);
        break;
    }
    case op::withdrawal: {
        auto r = base_record(a, "WDRL");
        const std::int64_t max_cents =
            std::min<std::int64_t>(25'000'00, static_cast<std::int64_t>(a.td_bal.raw() / 20'000'000)); // half, in cents
        r.amount = -decimal::from_scaled(rng_.between(100'00, std::max<std::int64_t>(100'00, max_cents)), 2);
        queue(ai, std::move(r), std::nullopt);
        break;
    }
    case op::dividend: {
        const std::uint32_t c = h->cusip;
        auto r = base_record(a, "DIVD");
        set_instrument(r, c);
        r.settle_date = business_date_; // payable date
        r.sub_acct_key = std::string(1, h->sub);
        const bool bond = lot_of(refdata_.securities[c].product_line) > 1;
        const decimal rate = bond ? decimal::from_scaled(rng_.between(5, 35), 3) // coupon per unit of face
                                  : decimal::from_scaled(rng_.between(1, 150), 2); // per share
        r.amount = decimal::mul(h->td_qty, rate)->round(2);
        if (r.amount.is_zero()) r.amount = decimal::from_scaled(1, 2);
        queue(ai, std::move(r), c);
        break;
    }
    case op::fee: {
        auto r = base_record(a, "FEE");
        r.amount = -decimal::from_scaled(rng_.between(1'00, 75'00), 2);
        queue(ai, std::move(r), std::nullopt);
        break;
    }
    case op::journal: {
        // An intra-account journal: out of the cash sub-account, into the
        // margin one, as two consecutive records.
        const decimal amt = decimal::from_scaled(rng_.between(25'00, 10'000'00), 2);
        auto out_leg = base_record(a, "XFRO");
        out_leg.intracct_eligible_type = "J";
        out_leg.intracct_min_amt = journal_min_amt;
        out_leg.amount = -amt;
        auto in_leg = out_leg;
        in_leg.activity_id = next_activity_id();
        in_leg.maxx_key_code = "XFRI";
        in_leg.sub_acct_key = "2";
        in_leg.amount = amt;
        queue(ai, std::move(out_leg), std::nullopt);
        queue(ai, std::move(in_leg), std::nullopt);
        break;
    }
    case op::memo: {
        auto r = base_record(a, "MEMO");
        r.amount = decimal::from_scaled(rng_.between(1, 100'000'00), 2); // informational: moves nothing
        queue(ai, std::move(r), std::nullopt);
        break;
    }
    case op::receive: {
        // Free receipts (ACATS in) bring any product, restricted stock and
        // annuities included.
        std::uint32_t c = static_cast<std::uint32_t>(cusip_zipf_.sample(rng_));
        auto r = base_record(a, "RCVS");
        set_instrument(r, c);
        const auto& line = refdata_.securities[c].product_line;
        r.quantity = whole_or_fraction_quantity(c, 1, line == product_lines::option ? 10 : 1'000);
        r.acct_transferred_sw = true;
        r.reverse_split_sw = rng_.chance(5);
        queue(ai, std::move(r), c);
        break;
    }
    }
    if (pending_.empty()) {
        // A sell_short that found nothing to do: make a deposit instead.
        auto r = base_record(a, "DEPO");
        r.amount = decimal::from_units(1000);
        queue(ai, std::move(r), std::nullopt);
    }
    out = std::move(pending_.front());
    pending_.pop_front();
}

void activity_generator::emit_bad(item& out) {
    std::array<std::uint32_t, bad_weights.size()> w{};
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = bad_weights[i].r == reason::no_fx_rate ? config_.no_fx_rate_weight : bad_weights[i].weight;
    const reason why = bad_weights[pick_weighted(rng_, w.data(), w.size())].r;

    std::size_t ai = pick_account();
    if (why == reason::insufficient_position) {
        // Only accounts that may not go short can be short of a position.
        for (int i = 0; i < draw_attempts_max && account_can_short(accounts_[ai]); ++i) ai = pick_account();
        if (account_can_short(accounts_[ai])) {
            for (ai = 0; ai < accounts_.size() && account_can_short(accounts_[ai]); ++ai) {}
            vassert(ai < accounts_.size(), "every account may go short: no INSUFFICIENT_POSITION possible");
        }
    }
    account& a = accounts_[ai];

    // The template: a plain equity purchase that would apply.
    std::uint32_t c = pick_cusip_in(product_lines::equity);
    auto r = base_record(a, "BUY");
    set_instrument(r, c);
    r.product_line = refdata_.securities[c].product_line;
    r.quantity = decimal::from_units(rng_.between(1, 300));
    price_trade(r, c, true);

    out.kind = item_kind::activity;
    out.content_type.clear();
    std::optional<std::string> raw_json; // set when the bytes are edited as text
    std::string key_override;
    const auto variant = rng_.below(4);

    switch (why) {
    case reason::malformed: break; // edited below
    case reason::missing_field:
        switch (variant) {
        case 0: r.activity_id.clear(); break;
        case 1: r.maxx_key_code.clear(); break;
        case 2: r.firm.clear(); break;
        default: r.base.clear(); break;
        }
        break;
    case reason::bad_field:
        switch (variant) {
        case 0: r.currency = "usd"; break;
        case 1: r.firm = r.firm.substr(0, 3); break;
        case 2: r.settle_date = r.trade_date->plus_days(-1); break;
        default: break; // an impossible tradeDate, below
        }
        break;
    case reason::number_out_of_range:
        if (variant % 2 == 0) r.quantity = decimal::from_units(limits::quantity_units_max) + decimal::from_units(1);
        else r.price = decimal::from_units(limits::price_units_max) + decimal::from_scaled(1, 2);
        break;
    case reason::bad_cusip_check_digit:
        r.cusip.back() = static_cast<char>('0' + (r.cusip.back() - '0' + 1 + static_cast<int>(rng_.below(9))) % 10);
        break;
    case reason::unknown_key_code: {
        static constexpr std::array<const char*, 4> codes = {"BUYX", "CXL", "ZZZZ", "JRNL"};
        r.maxx_key_code = codes[variant];
        break;
    }
    case reason::account_closed:
        r.account_closed_date = business_date_.plus_days(-static_cast<std::int32_t>(rng_.below(400)));
        break;
    case reason::fractional_not_allowed: {
        // The operands of + are unsequenced: draw in a fixed order (the one
        // GCC used for the committed sample files), or clang draws otherwise.
        const auto thousandths = rng_.between(1, 999);
        r.quantity = decimal::from_units(rng_.between(0, 100)) + decimal::from_scaled(thousandths, 3);
        price_trade(r, c, true);
        break;
    }
    case reason::below_min_transfer:
        r = base_record(a, "XFRO");
        r.intracct_eligible_type = "J";
        r.intracct_min_amt = journal_min_amt;
        r.amount = -decimal::from_scaled(rng_.between(1, 24'99), 2);
        break;
    case reason::insufficient_position: {
        // Sell more than the account holds: certain to go below zero.
        r.maxx_key_code = "SELL";
        holding* h = pick_long(a);
        if (h && buyable(refdata_.securities[h->cusip].product_line)) {
            c = h->cusip;
            set_instrument(r, c);
            r.product_line = refdata_.securities[c].product_line;
            r.sub_acct_key = std::string(1, h->sub);
            r.quantity = -(h->td_qty + decimal::from_units(rng_.between(1, 100) * lot_of(refdata_.securities[c].product_line)));
        } else {
            const holding* held = find_holding(a, c, '1');
            const decimal q = held ? held->td_qty : decimal{};
            r.quantity = -(q + decimal::from_units(rng_.between(1, 100)));
        }
        price_trade(r, c, false);
        break;
    }
    case reason::key_mismatch: {
        std::size_t other = pick_account();
        if (other == ai) other = (ai + 1) % accounts_.size();
        key_override = accounts_[other].key;
        break;
    }
    case reason::unknown_product: {
        static constexpr std::array<const char*, 4> lines = {"EQTY", "ZZQ", "FUT", "CRYPTO"};
        r.product_line = lines[variant];
        break;
    }
    case reason::unsupported_content_type: out.content_type = std::string(content_type_unsupported); break;
    case reason::field_too_long:
        if (variant % 2 == 0) r.rr = std::string(limits::field_bytes_max + 1 + rng_.below(100), 'R');
        else r.acct_category = std::string(limits::field_bytes_max + 1, 'C');
        break;
    case reason::invalid_encoding:
        // A Latin-1 "é" in the rep code, as a mis-configured upstream would send.
        r.rr = variant % 2 == 0 ? std::string("R\xe9") + "1" : std::string("R1\xc3\x28");
        break;
    case reason::unknown_record_type: break; // below
    case reason::record_too_large: break;    // below
    case reason::no_fx_rate: {
        // A currency reference_set has no rate for (it has CAD, CHF, EUR, GBP, JPY).
        static constexpr std::array<const char*, 4> currencies = {"XYZ", "AUD", "BRL", "ZAR"};
        r.currency = currencies[variant];
        break;
    }
    case reason::date_out_of_range:
        // A year typed wrong upstream: trade, settlement or event time
        // outside 1900-2999, or an END_OF_DAY for 2999-12-31 (below).
        switch (variant) {
        case 0: r.trade_date = date::min_value().plus_days(-static_cast<std::int32_t>(rng_.between(1, 3650))); break;
        case 1: r.settle_date = date::max_value().plus_days(static_cast<std::int32_t>(rng_.between(1, 3650))); break;
        case 2: r.event_time = timestamp{timestamp::ms_end + static_cast<std::int64_t>(rng_.below(86'400'000))}; break;
        default: break;
        }
        break;
    default: vunreachable("reason {} not generated", reason_code(why));
    }

    out.value.clear();
    codec::encode_activity_json(r, out.value);
    if (why == reason::malformed) {
        switch (variant) {
        case 0: out.value.resize(out.value.size() / 2); break; // truncated in transit
        case 1: replace_json_value(out.value, "quantity", "true"); break; // wrong JSON type
        case 2: out.value.replace(out.value.find(','), 1, ",,"); break; // broken token
        default: out.value = "activity " + out.value; break; // not JSON
        }
    } else if (why == reason::bad_field && variant == 3) {
        replace_json_value(out.value, "tradeDate", fmt::format("\"{}-02-30\"", business_date_.year()));
    } else if (why == reason::unknown_record_type) {
        if (variant % 2 == 0) {
            out.value.insert(1, "\"type\":\"heartbeat\",");
        } else {
            out.value = fmt::format("{{\"type\":\"control\",\"action\":\"START_OF_DAY\",\"businessDate\":\"{}\"}}",
                                    business_date_.to_string());
            out.kind = item_kind::control;
        }
    } else if (why == reason::record_too_large) {
        out.value.append(limits::record_bytes_max, ' '); // whitespace is still JSON
    } else if (why == reason::date_out_of_range && variant == 3) {
        // Rejected by the engine on every partition, whatever
        // end-of-day.max-days-ahead: its next weekday is 3000-01-01.
        out.value.clear();
        codec::encode_control_json(model::control_record{model::control_action::end_of_day, date::max_value()},
                                   out.value);
        out.kind = item_kind::control;
    }
    out.key = out.kind == item_kind::control ? std::string() : key_override.empty() ? a.key : key_override;
    out.activity_id = r.activity_id;
    out.maxx_key_code = r.maxx_key_code;
    out.expected = outcome::rejected;
    out.reason = why;
    out.price.reset();
    out.business_date = business_date_;
    out.event_time = clock_;
}

bool activity_generator::emit_duplicate(item& out) {
    if (last_end_of_day_ && rng_.chance(30)) {
        // A replayed END_OF_DAY (the CronJob fired twice, or a restart).
        model::control_record cr{model::control_action::end_of_day, *last_end_of_day_};
        out.kind = item_kind::control;
        out.key.clear();
        out.value.clear();
        codec::encode_control_json(cr, out.value);
        out.content_type.clear();
        out.activity_id.clear();
        out.maxx_key_code.clear();
        out.business_date = *last_end_of_day_;
    } else {
        if (recent_.empty()) return false;
        const recent& r = recent_[rng_.below(recent_.size())];
        out.kind = item_kind::activity;
        out.key = r.key;
        out.value = r.value;
        out.content_type = r.content_type;
        out.activity_id = r.activity_id;
        out.maxx_key_code = r.maxx_key_code;
        out.business_date = business_date_;
    }
    out.expected = outcome::duplicate;
    out.price.reset();
    out.event_time = clock_;
    return true;
}

void activity_generator::emit_end_of_day(item& out) {
    const date d = business_date_;
    model::control_record cr{model::control_action::end_of_day, d};
    out.kind = item_kind::control;
    out.key.clear();
    out.value.clear();
    codec::encode_control_json(cr, out.value);
    out.content_type.clear();
    out.expected = outcome::applied;
    out.activity_id.clear();
    out.maxx_key_code.clear();
    out.price.reset();
    out.business_date = d;
    out.event_time = clock_;
    last_end_of_day_ = d;
    business_date_ = d.next_weekday();
    clock_ = std::max(clock_, day_start(business_date_, config_.day_start_ms));
    // Today's prices become the closes that the next day's updates carry.
    for (std::size_t c = 0; c < closes_.size(); ++c)
        if (closes_[c]) closes_[c] = prices_[c];
}

void activity_generator::emit_price_update(item& out) {
    std::uint32_t c = priced_cusips_[rng_.below(priced_cusips_.size())];
    for (int i = 0; i < draw_attempts_max; ++i) {
        // Popular cusips move (and are re-valued) more often.
        auto k = static_cast<std::uint32_t>(cusip_zipf_.sample(rng_));
        if (closes_[k] && refdata_.securities[k].product_line != product_lines::mutual_fund) {
            c = k;
            break;
        }
    }
    const int digits = price_digits(refdata_.securities[c].product_line);
    const decimal old = prices_[c];
    // A move of up to 2% either way, at the product's tick.
    decimal px = (old + *decimal::mul(old, decimal::from_scaled(rng_.between(-200, 200), 4))).round(digits);
    px = decimal::max(px, decimal::from_scaled(1, digits));
    prices_[c] = px;

    model::price p;
    p.cusip = refdata_.securities[c].cusip;
    p.price = px;
    p.prev_price = closes_[c];
    p.as_of = clock_;
    out.kind = item_kind::price_update;
    out.key = p.cusip;
    out.value.clear();
    codec::encode_json(p, out.value);
    out.content_type.clear();
    out.expected = outcome::applied;
    out.activity_id.clear();
    out.maxx_key_code.clear();
    out.business_date = business_date_;
    out.event_time = clock_;
    out.price = std::move(p);
}

void activity_generator::emit(item& out) {
    if (!pending_.empty()) {
        out = std::move(pending_.front());
        pending_.pop_front();
    } else if (end_of_day_due_) {
        end_of_day_due_ = false;
        emit_end_of_day(out);
    } else if (price_update_due_ && !priced_cusips_.empty()) {
        price_update_due_ = false;
        emit_price_update(out);
    } else {
        const auto roll = rng_.below(1000);
        bool done = false;
        if (roll < config_.duplicate_per_mille) {
            done = emit_duplicate(out);
        } else if (roll < config_.duplicate_per_mille + config_.bad_per_mille) {
            emit_bad(out);
            done = true;
        }
        if (!done) emit_valid(out);
    }
    finish(out);
}

void activity_generator::finish(item& out) {
    out.sequence = sequence_++;
    clock_.ms += config_.event_interval_ms;
    ++counts_.items;
    switch (out.kind) {
    case item_kind::activity: ++counts_.activities; break;
    case item_kind::control: ++counts_.controls; break;
    case item_kind::price_update: ++counts_.price_updates; break;
    }
    if (out.kind != item_kind::price_update) {
        switch (out.expected) {
        case outcome::applied: ++counts_.applied; break;
        case outcome::duplicate: ++counts_.duplicates; break;
        case outcome::rejected:
            ++counts_.rejected;
            ++counts_.rejected_by_reason[static_cast<std::size_t>(out.reason)];
            break;
        }
    }
    if (out.kind == item_kind::activity && out.expected == outcome::applied) {
        if (recent_.size() == recent_max) recent_.pop_front();
        recent_.push_back(recent{out.key, out.value, out.content_type, out.activity_id, out.maxx_key_code});
    }
    if (config_.end_of_day_every > 0 && sequence_ % config_.end_of_day_every == 0) end_of_day_due_ = true;
    if (config_.price_update_every > 0 && sequence_ % config_.price_update_every == 0) price_update_due_ = true;
}

void activity_generator::next(item& out) { emit(out); }

item activity_generator::next() {
    item out;
    emit(out);
    return out;
}

std::vector<item> activity_generator::take(std::size_t n) {
    std::vector<item> out(n);
    for (auto& it : out) emit(it);
    return out;
}

void activity_generator::for_each_expected_position(
    const std::function<void(std::string_view, decimal)>& fn) const {
    for (const auto& a : accounts_)
        for (const auto& h : a.holdings) {
            const auto key = model::make_position_key(a.firm, a.ledger, a.branch, a.base,
                                                      std::string_view(&h.sub, 1),
                                                      refdata_.securities[h.cusip].cusip);
            fn(key.value(), h.td_qty);
        }
}

void activity_generator::for_each_expected_balance(
    const std::function<void(std::string_view, decimal)>& fn) const {
    for (const auto& a : accounts_)
        if (a.active) fn(a.key, a.td_bal);
}

} // namespace posd::workload
