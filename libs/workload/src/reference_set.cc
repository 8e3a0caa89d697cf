#include "workload/reference_set.h"

#include "workload/random.h"

#include "base/cusip.h"
#include "base/vassert.h"
#include "engine/reference_data.h"

#include <array>
#include <unordered_set>

namespace posd::workload {
namespace {

model::bookkeeping_rule rule(const char* code, const char* short_desc, const char* long_desc,
                             bool td_bal, bool sd_bal, bool sma, bool td_qty, bool sd_qty) {
    model::bookkeeping_rule r;
    r.maxx_key_code = std::string(code);
    r.short_desc = std::string(short_desc);
    r.long_desc = std::string(long_desc);
    r.upd_td_bal_sw = td_bal;
    r.upd_sd_bal_sw = sd_bal;
    r.adj_sma_sw = sma;
    r.upd_td_qty_sw = td_qty;
    r.upd_sd_qty_sw = sd_qty;
    return r;
}

std::vector<model::bookkeeping_rule> make_rules() {
    //            code    short           long                                                  tdBal sdBal  sma  tdQty sdQty
    return {
        rule("BUY", "BUY", "Purchase of securities, long", true, true, false, true, true),
        rule("SELL", "SELL", "Sale of securities held long", true, true, false, true, true),
        rule("SSHT", "SELL SHORT", "Short sale, requires short agreement", true, true, false, true, true),
        rule("BCOV", "BUY TO COVER", "Purchase closing a short position", true, true, false, true, true),
        rule("DEPO", "CASH DEPOSIT", "Cash deposit, credits SMA", true, true, true, false, false),
        rule("WDRL", "CASH WITHDRAWAL", "Cash withdrawal, debits SMA", true, true, true, false, false),
        rule("DIVD", "DIVIDEND", "Cash dividend on a security held", true, true, false, false, false),
        rule("FEE", "FEE", "Account or transaction fee", true, true, false, false, false),
        rule("XFRI", "JOURNAL IN", "Intra-account journal, receiving sub-account", true, true, false, false, false),
        rule("XFRO", "JOURNAL OUT", "Intra-account journal, delivering sub-account", true, true, false, false, false),
        rule("MEMO", "MEMO", "Informational memo entry, moves nothing", false, false, false, false, false),
        rule("RCVS", "RECEIVE SECURITIES", "Free receipt of securities (ACATS in)", false, false, false, true, true),
        rule("DELS", "DELIVER SECURITIES", "Free delivery of securities (ACATS out)", false, false, false, true, true),
    };
}

model::product_definition product(const char* line, const char* desc, decimal factor,
                                  std::optional<decimal> default_price, bool fractions,
                                  bool marginable, bool contributes, const char* ext_rule) {
    model::product_definition p;
    p.prodline = std::string(line);
    p.desc_short = std::string(desc);
    p.factor = factor;
    p.default_price_for_mgn = default_price;
    p.fractions_allowed_sw = fractions;
    p.marginable_flag = marginable;
    p.contributes_to_equity_sw = contributes;
    p.ext_rule_flag = std::string(ext_rule);
    return p;
}

std::vector<model::product_definition> make_products() {
    const decimal one = decimal::from_units(1);
    const decimal percent = decimal::from_scaled(1, 2);
    namespace pl = product_lines;
    return {
        product(pl::equity, "EQUITY", one, std::nullopt, false, true, true, "S"),
        product(pl::etf, "EXCHANGE TRADED FUND", one, std::nullopt, false, true, true, "S"),
        product(pl::mutual_fund, "MONEY MARKET FUND", one, one, true, true, true, "F"),
        product(pl::corporate_bond, "CORPORATE BOND", percent, std::nullopt, false, true, true, "S"),
        product(pl::municipal_bond, "MUNICIPAL BOND", percent, decimal::from_units(100), false, true, true, "P"),
        product(pl::option, "LISTED OPTION", one, std::nullopt, false, false, true, "S"),
        product(pl::penny_stock, "PENNY STOCK", one, std::nullopt, false, false, true, "S"),
        product(pl::restricted, "RESTRICTED STOCK", one, std::nullopt, false, false, true, "Z"),
        product(pl::annuity, "ANNUITY HELD AWAY", one, std::nullopt, true, false, false, ""),
    };
}

model::margin_rule mrule(const char* list, std::int32_t seq, int level_pct, int action_pct) {
    model::margin_rule r;
    r.nyrs_mgn_rule = std::string(list);
    r.nyrs_mgn_seq = seq;
    r.nyrs_level = decimal::from_scaled(level_pct, 2);
    r.nyrs_action = decimal::from_scaled(action_pct, 2);
    return r;
}

std::vector<model::margin_rule> make_margin_rules() {
    // Evaluated in sequence order; the first level the concentration reaches
    // gives the house rate. Retail is stricter on concentration, omnibus
    // accounts are diversified by construction and get lower rates.
    return {
        mrule("DEFAULT", 10, 50, 50), mrule("DEFAULT", 20, 30, 40), mrule("DEFAULT", 30, 15, 35),
        mrule("DEFAULT", 40, 0, 30),
        mrule("RETL", 10, 40, 60), mrule("RETL", 20, 25, 45), mrule("RETL", 30, 10, 35),
        mrule("RETL", 40, 0, 30),
        mrule("OMNI", 10, 70, 40), mrule("OMNI", 20, 40, 30), mrule("OMNI", 30, 0, 25),
    };
}

constexpr std::array<const char*, 9> line_order = {
    product_lines::equity, product_lines::etf, product_lines::mutual_fund,
    product_lines::corporate_bond, product_lines::municipal_bond, product_lines::option,
    product_lines::penny_stock, product_lines::restricted, product_lines::annuity,
};
// Per mille of the security master by product line, in line_order.
constexpr std::array<std::uint32_t, 9> line_weights = {520, 120, 60, 80, 40, 120, 30, 15, 15};

char alnum(rng& r, bool digits_only) {
    static constexpr char chars[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"; // no I, O (CUSIP practice)
    return chars[r.below(digits_only ? 10 : sizeof chars - 1)];
}

// A price with `digits` fraction digits, uniform in [lo, hi] units.
decimal random_price(rng& r, std::int64_t lo_units, std::int64_t hi_units, int digits) {
    std::int64_t scale = 1;
    for (int i = 0; i < digits; ++i) scale *= 10;
    return decimal::from_scaled(r.between(lo_units * scale, hi_units * scale), digits);
}

} // namespace

std::string make_cusip(std::string_view first_eight) {
    auto check = cusip::check_digit(first_eight);
    vassert(check && first_eight.size() == 8, "not a cusip prefix: {}", first_eight);
    std::string c(first_eight);
    c.push_back(*check);
    return c;
}

reference_set make_reference_data(const workload_config& config) {
    vassert(config.cusip_count >= 50, "cusip_count {} below 50", config.cusip_count);
    reference_set out;
    out.bookkeeping_rules = make_rules();
    out.products = make_products();
    out.margin_rules = make_margin_rules();

    rng r(config.seed ^ 0x5ec0'1d'a7a0ULL);
    std::unordered_set<std::string> used;
    std::vector<std::size_t> equities;
    const date start = config.start_business_date;
    const timestamp as_of{static_cast<std::int64_t>(start.days() - 1) * 86'400'000 + 21 * 3'600'000};

    // FX rates into USD, the default base currency (fixed: they draw nothing
    // from the generator's random stream). Units of USD per unit.
    for (auto [ccy, mantissa, digits] : {std::tuple{"CAD", 7391, 4}, std::tuple{"CHF", 11304, 4},
                                         std::tuple{"EUR", 10842, 4}, std::tuple{"GBP", 12671, 4},
                                         std::tuple{"JPY", 67, 4}})
        out.fx_rates.push_back({ccy, "USD", decimal::from_scaled(mantissa, digits), as_of});

    out.securities.reserve(config.cusip_count);
    for (std::size_t i = 0; i < config.cusip_count; ++i) {
        // The first cusips cover every product line once, so a small master
        // still has them all.
        const std::size_t line = i < line_order.size()
                                     ? i
                                     : pick_weighted(r, line_weights.data(), line_weights.size());
        const std::string_view pl = line_order[line];
        const bool bond = pl == product_lines::corporate_bond || pl == product_lines::municipal_bond;

        std::string cusip;
        do {
            std::string prefix;
            // Issuer: six characters, mostly digits; issue: two characters,
            // "10"/"20" style for equities, letters for debt.
            for (int k = 0; k < 6; ++k) prefix.push_back(alnum(r, k < 3));
            if (bond) {
                prefix.push_back(alnum(r, false));
                prefix.push_back(alnum(r, false));
            } else {
                prefix.push_back(static_cast<char>('1' + r.below(4)));
                prefix.push_back('0');
            }
            cusip = make_cusip(prefix);
        } while (!used.insert(cusip).second);

        model::security s;
        s.cusip = cusip;
        s.product_line = std::string(pl);
        if (pl == product_lines::option) {
            // Options are on an equity of the master, except a few whose
            // underlying is unknown (ulsFoundSw N).
            if (!equities.empty() && !r.chance(50)) {
                s.uls = out.securities[equities[r.below(equities.size())]].cusip;
            } else {
                std::string prefix;
                for (int k = 0; k < 6; ++k) prefix.push_back(alnum(r, k < 3));
                prefix += "10";
                s.uls = make_cusip(prefix);
            }
            s.strike_price = decimal::from_scaled(r.between(2, 80) * 250, 2); // $5.00 steps of 2.50
            s.contract_size = decimal::from_units(100);
            s.exp_or_maturity_date = start.plus_days(static_cast<std::int32_t>(r.between(3, 400)));
        } else if (bond) {
            s.exp_or_maturity_date = start.plus_days(static_cast<std::int32_t>(r.between(200, 30 * 365)));
        }
        if (pl == product_lines::equity) equities.push_back(i);

        // Prices: money market funds at 1.00; some cusips have none.
        std::optional<decimal> px;
        int digits = 2;
        if (pl == product_lines::mutual_fund) px = decimal::from_units(1);
        else if (r.chance(config.unpriced_cusip_per_mille)) px = std::nullopt;
        else if (pl == product_lines::equity) px = random_price(r, 5, 400, 2);
        else if (pl == product_lines::etf) px = random_price(r, 20, 500, 2);
        else if (bond) px = random_price(r, 85, 110, digits = 3);
        else if (pl == product_lines::option) px = random_price(r, 0, 25, 2) + decimal::from_scaled(5, 2);
        else if (pl == product_lines::penny_stock) px = random_price(r, 0, 4, digits = 4) + decimal::from_scaled(100, 4);
        else px = random_price(r, 10, 60, 2);
        if (px) {
            model::price p;
            p.cusip = cusip;
            p.price = *px;
            // Yesterday's close within 3% of today's, at the same precision;
            // a money market fund does not move.
            if (pl != product_lines::mutual_fund) {
                auto move = decimal::mul(*px, decimal::from_scaled(r.between(-30, 30), 3));
                p.prev_price = decimal::max(*px + move->round(digits), decimal::from_scaled(1, digits));
            } else {
                p.prev_price = *px;
            }
            p.as_of = as_of;
            out.prices.push_back(std::move(p));
        }
        out.securities.push_back(std::move(s));
    }
    return out;
}

void reference_set::load_into(engine::reference_data& out) const {
    for (const auto& x : bookkeeping_rules) out.upsert(x);
    for (const auto& x : products) out.upsert(x);
    for (const auto& x : securities) out.upsert(x);
    for (const auto& x : prices) out.upsert(x);
    for (const auto& x : margin_rules) out.upsert(x);
    for (const auto& x : fx_rates) out.upsert(x);
}

const model::bookkeeping_rule* reference_set::rule(std::string_view code) const {
    for (const auto& x : bookkeeping_rules)
        if (x.maxx_key_code == code) return &x;
    return nullptr;
}

const model::product_definition* reference_set::product(std::string_view line) const {
    for (const auto& x : products)
        if (x.prodline == line) return &x;
    return nullptr;
}

} // namespace posd::workload
