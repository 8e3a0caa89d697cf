#include "workload/random.h"
#include "workload/reference_set.h"

#include "base/cusip.h"
#include "engine/reference_data.h"

#include <catch2/catch.hpp>

#include <set>

using namespace posd;
using namespace posd::workload;

TEST_CASE("reference data is realistic and complete", "[workload]") {
    workload_config cfg;
    cfg.cusip_count = 2'000;
    const auto ref = make_reference_data(cfg);

    std::set<std::string> codes;
    for (const auto& r : ref.bookkeeping_rules) codes.insert(r.maxx_key_code);
    CHECK(codes == std::set<std::string>{"BUY", "SELL", "SSHT", "BCOV", "DEPO", "WDRL", "DIVD", "FEE", "XFRI",
                                         "XFRO", "MEMO", "RCVS", "DELS"});
    const auto* memo = ref.rule("MEMO");
    REQUIRE(memo);
    CHECK(!(memo->upd_td_bal_sw || memo->upd_sd_bal_sw || memo->adj_sma_sw || memo->upd_td_qty_sw ||
            memo->upd_sd_qty_sw));
    CHECK(ref.rule("DEPO")->adj_sma_sw);
    CHECK(!ref.rule("RCVS")->upd_td_bal_sw);
    CHECK(ref.rule("RCVS")->upd_td_qty_sw);

    const auto* mf = ref.product(product_lines::mutual_fund);
    REQUIRE(mf);
    CHECK(mf->fractions_allowed_sw);
    CHECK(mf->ext_rule_flag == "F");
    CHECK(mf->default_price_for_mgn == decimal::from_units(1));
    CHECK(ref.product(product_lines::corporate_bond)->factor == decimal::from_scaled(1, 2));
    CHECK(!ref.product(product_lines::penny_stock)->marginable_flag);
    CHECK(ref.product(product_lines::restricted)->ext_rule_flag == "Z");
    CHECK(!ref.product(product_lines::annuity)->contributes_to_equity_sw);

    std::set<std::string> cusips, lines;
    std::size_t options = 0;
    for (const auto& s : ref.securities) {
        CHECK(cusip::valid(s.cusip));
        cusips.insert(s.cusip);
        lines.insert(s.product_line);
        REQUIRE(ref.product(s.product_line));
        if (s.product_line == product_lines::option) {
            ++options;
            CHECK(s.contract_size == decimal::from_units(100));
            CHECK(cusip::valid(s.uls));
            CHECK(s.exp_or_maturity_date.has_value());
        }
    }
    CHECK(cusips.size() == ref.securities.size());
    CHECK(lines.size() == ref.products.size());
    CHECK(options > 100);
    // Some cusips have no price; money market funds are priced at 1.
    CHECK(ref.prices.size() < ref.securities.size());
    CHECK(ref.prices.size() > ref.securities.size() * 9 / 10);
    for (const auto& p : ref.prices) {
        CHECK(p.price.is_positive());
        REQUIRE(p.prev_price.has_value());
        CHECK(p.prev_price->is_positive());
    }

    std::set<std::string> lists;
    for (const auto& m : ref.margin_rules) lists.insert(m.nyrs_mgn_rule);
    CHECK(lists == std::set<std::string>{"DEFAULT", "RETL", "OMNI"});

    engine::reference_data eng;
    ref.load_into(eng);
    CHECK(eng.bookkeeping_rule("BUY"));
    CHECK(eng.security(ref.securities.back().cusip));
    CHECK(eng.price(ref.prices.front().cusip));
    const auto retl = eng.margin_rules("RETL");
    REQUIRE(retl.size() == 4);
    for (std::size_t i = 1; i < retl.size(); ++i) {
        CHECK(retl[i - 1].nyrs_mgn_seq < retl[i].nyrs_mgn_seq);
        CHECK(retl[i - 1].nyrs_level > retl[i].nyrs_level); // the strictest level is tried first
    }
}

TEST_CASE("random helpers are deterministic and in range", "[workload]") {
    rng a(42), b(42);
    for (int i = 0; i < 1000; ++i) {
        const auto x = a.below(7);
        CHECK(x == b.below(7));
        CHECK(x < 7);
        const auto y = a.between(-3, 3);
        b.between(-3, 3);
        CHECK(y >= -3);
        CHECK(y <= 3);
    }
    zipf_sampler z(1000, 10);
    std::size_t head = 0;
    for (int i = 0; i < 10'000; ++i) head += z.sample(a) < 100;
    // With offset 10 the first tenth of ranks draws about half the samples
    // (ln(111/11) / ln(1011/11)).
    CHECK(head > 4'500);
    CHECK(head < 5'700);
}
