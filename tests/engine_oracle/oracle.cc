#include "oracle.h"

#include "base/limits.h"
#include "base/vassert.h"

#include <algorithm>

namespace posd::oracle {
namespace {

decimal mul(decimal a, decimal b) {
    auto r = decimal::mul(a, b);
    vassert(r.has_value(), "oracle: overflow in {} * {}", a.to_string(), b.to_string());
    return *r;
}

decimal div(decimal a, decimal b) {
    auto r = decimal::div(a, b);
    vassert(r.has_value(), "oracle: bad division {} / {}", a.to_string(), b.to_string());
    return *r;
}

decimal round2(decimal d) { return d.round(2); }
decimal round0(decimal d) { return d.round(0); }

const decimal zero{};
const decimal one = decimal::from_units(1);

std::string account_of(const std::string& position_key) {
    return model::account_of(model::position_key{position_key}).value();
}

} // namespace

oracle::oracle(std::int32_t partition, const engine::engine_config& config,
               const engine::reference_data& refdata)
    : partition_(partition), config_(config), refdata_(refdata) {}

std::string oracle::account_type(const std::string& base) const {
    std::size_t i = config_.account_type_index_from_end;
    if (i >= base.size()) return {};
    return base.substr(base.size() - 1 - i, 1);
}

// ---------------------------------------------------------------- batches

result oracle::apply(std::span<const input> batch, timestamp now) {
    result out;
    if (!business_date) business_date = config_.initial_business_date ? *config_.initial_business_date : now.utc_date();
    for (const input& in : batch) {
        ++out.counts.records_in;
        next_offset = in.offset + 1;
        if (auto* rej = std::get_if<model::reject>(&in.decoded)) {
            ++out.counts.rejected;
            out.events.push_back(model::dead_letter{in.key, in.value, *rej, partition_, in.offset});
            hit("reject:" + std::string(model::reason_code(rej->reason)));
            continue;
        }
        if (auto* ctl = std::get_if<model::control_record>(&in.decoded)) {
            close_group(now, out);
            end_of_day(in, ctl->business_date, now, out);
            continue;
        }
        const auto& a = std::get<model::activity_record>(in.decoded);
        std::optional<model::reject> rej;
        if (in.key != a.account().value()) {
            rej = model::reject{model::reason::key_mismatch, "", ""};
        } else if (applied_set_.contains(a.activity_id)) {
            ++out.counts.duplicates;
            hit("duplicate");
            continue;
        } else {
            rej = validate(a);
        }
        if (rej) {
            ++out.counts.rejected;
            out.events.push_back(model::dead_letter{in.key, in.value, *rej, partition_, in.offset});
            hit("reject:" + std::string(model::reason_code(rej->reason)));
            continue;
        }
        std::string pk = a.position().value();
        if (group_ && group_->position_key == pk && group_->ids.size() >= limits::group_records_max)
            hit("group:split-at-max");
        if (group_ && (group_->position_key != pk || group_->ids.size() >= limits::group_records_max))
            close_group(now, out);
        if (!group_) {
            group_ = open_group{};
            group_->position_key = pk;
        }
        apply_record(a);
        group_->ids.push_back(a.activity_id);
        group_->offsets.push_back(in.offset);
        if (!a.product_line.empty()) group_->product_line = a.product_line;
        if (a.event_time && *a.event_time > group_->event_time) group_->event_time = *a.event_time;
        applied_ids.push_back(a.activity_id);
        applied_set_.insert(a.activity_id);
        ++out.counts.applied;
    }
    close_group(now, out);
    return out;
}

std::optional<model::reject> oracle::validate(const model::activity_record& a) const {
    auto reject = [](model::reason r) { return model::reject{r, "", ""}; };
    const model::bookkeeping_rule* rule = refdata_.bookkeeping_rule(a.maxx_key_code);
    if (!rule) return reject(model::reason::unknown_key_code);
    if (a.account_closed_date && *a.account_closed_date <= *business_date)
        return reject(model::reason::account_closed);
    const model::product_definition* product = nullptr;
    if (!a.cusip.empty()) {
        std::string line = a.product_line;
        if (line.empty()) {
            if (const model::security* s = refdata_.security(a.cusip)) line = s->product_line;
        }
        product = line.empty() ? nullptr : refdata_.product(line);
        if (!product) return reject(model::reason::unknown_product);
        if (!a.quantity.is_integer() && !product->fractions_allowed_sw)
            return reject(model::reason::fractional_not_allowed);
    }
    if (!a.intracct_eligible_type.empty() && a.intracct_min_amt && a.amount.abs() < *a.intracct_min_amt)
        return reject(model::reason::below_min_transfer);
    {
        const std::string base = base_currency_of(a.account().value());
        if (!a.currency.empty() && a.currency != base && !refdata_.fx_rate(a.currency, base)) {
            hit("currency:no-rate");
            return reject(model::reason::no_fx_rate);
        }
    }
    if (rule->upd_td_qty_sw && a.quantity.is_negative()) {
        decimal held;
        auto it = positions.find(a.position().value());
        if (it != positions.end()) held = it->second.td_qty;
        if (held + a.quantity < zero && !config_.short_account_types.contains(account_type(a.base)))
            return reject(model::reason::insufficient_position);
    }
    return std::nullopt;
}

std::string oracle::base_currency_of(const std::string& account) const {
    auto it = books_.find(account);
    return it != books_.end() ? it->second.base_currency : config_.base_currency;
}

void oracle::apply_record(const model::activity_record& a) {
    const model::bookkeeping_rule& rule = *refdata_.bookkeeping_rule(a.maxx_key_code);
    std::string pk = a.position().value();
    std::string ak = a.account().value();
    std::string type = account_type(a.base);

    auto [pit, new_position] = positions.try_emplace(pk);
    model::position& p = pit->second;
    if (new_position) {
        p.firm_postrmt = a.firm;
        p.ledger_postrmt = a.ledger;
        p.branch_postrmt = a.branch;
        p.base_postrmt = a.base;
        p.sub_acct_key = a.sub_acct_key;
        p.cusip = a.cusip;
    }
    auto [bit, new_account] = books_.try_emplace(ak);
    account_book& book = bit->second;
    if (new_account) {
        book.firm = a.firm;
        book.ledger = a.ledger;
        book.branch = a.branch;
        book.base = a.base;
        book.base_currency = config_.base_currency;
    }
    book.acct_type = type;
    // Money kept in the base currency (cost basis, SMA, acctActivityAmt)
    // takes the record's amount at today's rate, to cents.
    const bool foreign = !a.currency.empty() && a.currency != book.base_currency;
    const decimal amount_base =
        foreign ? round2(mul(a.amount, refdata_.fx_rate(a.currency, book.base_currency)->rate)) : a.amount;
    if (foreign) hit("currency:foreign-record");
    book.acct_category = a.acct_category;

    // Cost basis (average cost) moves only with the trade-date quantity.
    if (rule.upd_td_qty_sw) {
        decimal q0 = p.td_qty;
        decimal dq = a.quantity;
        decimal c = -amount_base;
        if (q0.is_zero() || q0.signum() == dq.signum()) {
            p.cost_basis += c;
            hit(q0.is_zero() ? "cost:open" : "cost:add");
        } else if (dq.abs() <= q0.abs()) {
            p.cost_basis -= round2(mul(p.cost_basis, div(dq.abs(), q0.abs())));
            hit("cost:reduce");
        } else {
            p.cost_basis = round2(mul(c, div(dq.abs() - q0.abs(), dq.abs())));
            hit("cost:cross-zero");
        }
        p.td_qty += a.quantity;
    }
    bool settle_now = !a.settle_date || *a.settle_date <= *business_date;
    if (rule.upd_sd_qty_sw && settle_now) p.sd_qty += a.quantity;
    if (a.settle_date && settle_now && (rule.upd_sd_qty_sw || rule.upd_sd_bal_sw)) hit("settle:dated-now");
    const bool moves_td = rule.upd_td_bal_sw, moves_sd = rule.upd_sd_bal_sw && settle_now;
    if (!foreign) {
        if (moves_td) book.td_bal += a.amount;
        if (moves_sd) book.sd_bal += a.amount;
    } else if ((moves_td || moves_sd) && !a.amount.is_zero()) {
        auto& [td, sd] = book.foreign[a.currency];
        if (moves_td) td += a.amount;
        if (moves_sd) sd += a.amount;
    }
    if (rule.adj_sma_sw) book.sma += amount_base;
    if (!settle_now && (rule.upd_sd_qty_sw || rule.upd_sd_bal_sw)) {
        model::pending_settlement s;
        s.settle_date = *a.settle_date;
        s.sequence = next_pending_sequence++;
        s.position_key = pk;
        s.sd_qty = rule.upd_sd_qty_sw ? a.quantity : zero;
        s.sd_bal = rule.upd_sd_bal_sw ? a.amount : zero;
        s.activity_id = a.activity_id;
        if (foreign) s.currency = a.currency;
        pending.push_back(s);
        hit("pending:added");
    }

    p.metadata.acct_activity_qty += a.quantity;
    p.metadata.acct_activity_amt += amount_base;
    p.metadata.bond_redeem_sw = a.bond_redeem_sw;
    p.metadata.acct_transferred_sw = a.acct_transferred_sw;
    p.metadata.reverse_split_sw = a.reverse_split_sw;
    p.acct_type_postrmt = type;
    p.td_qty_short_side = p.td_qty.is_negative() ? -p.td_qty : zero;
}

void oracle::close_group(timestamp now, result& out) {
    if (!group_) return;
    open_group g = std::move(*group_);
    group_.reset();
    if (g.ids.size() > 1) hit("group:several-records");
    const std::string& pk = g.position_key;
    join(pk, g.product_line, true);
    valuation v = value_position(pk, true);
    model::position& p = positions.at(pk);
    ++p.version;
    std::string ak = account_of(pk);
    if (!p.cusip.empty()) refresh_concentration(ak, p.cusip);
    const why reason{g.ids, g.offsets, {.kind = model::cause_kind::activity}};
    out.events.push_back(model::position_updated{p, g.ids, g.offsets, g.event_time, now, reason.cause});
    if (v.valued) emit_market_value(pk, v, now, out, reason);
    evaluate_account(ak, now, out, reason);
}

// ---------------------------------------------------------------- END_OF_DAY

void oracle::end_of_day(const input& in, date d, timestamp now, result& out) {
    const std::int64_t offset = in.offset;
    if (d < *business_date) {
        ++out.counts.duplicates;
        hit("eod:replay");
        return;
    }
    // libs/engine/README.md: an END_OF_DAY more than
    // end_of_day_max_days_ahead days after the business date, or one whose
    // next weekday is past 2999-12-31, is rejected DATE_OUT_OF_RANGE.
    const bool too_far = d.days() - business_date->days() > config_.end_of_day_max_days_ahead;
    if (too_far || d.next_weekday().year() > 2999) {
        ++out.counts.rejected;
        out.events.push_back(model::dead_letter{
            in.key, in.value, model::reject{model::reason::date_out_of_range, "businessDate", ""}, partition_, offset});
        hit(too_far ? "eod:too-far-ahead" : "eod:past-2999");
        hit("reject:DATE_OUT_OF_RANGE");
        return;
    }
    ++out.counts.applied;
    ++out.counts.controls;
    business_date = d.next_weekday();

    // Step 3: due settlements in (settle date, sequence) order.
    std::vector<model::pending_settlement> due, rest;
    for (auto& s : pending) (s.settle_date <= *business_date ? due : rest).push_back(s);
    pending = std::move(rest);
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
        return std::pair{a.settle_date, a.sequence} < std::pair{b.settle_date, b.sequence};
    });
    std::map<std::string, std::vector<std::string>> settled; // position key -> ids
    std::map<std::string, std::vector<std::string>> account_settled; // account key -> ids
    for (const auto& s : due) {
        account_settled[account_of(s.position_key)].push_back(s.activity_id);
        model::position& p = positions.at(s.position_key);
        p.sd_qty += s.sd_qty;
        account_book& book = books_.at(account_of(s.position_key));
        if (s.currency.empty() || s.currency == book.base_currency) book.sd_bal += s.sd_bal;
        else if (!s.sd_bal.is_zero()) book.foreign[s.currency].second += s.sd_bal;
        hit("pending:released");
        settled[s.position_key].push_back(s.activity_id);
    }
    // A settlement and the re-valuation of step 4 are one change.

    // Step 4: roll prices and re-value every position with a cusip.
    std::set<std::string> keys;
    for (auto& [pk, p] : positions)
        if (!p.cusip.empty()) keys.insert(pk);
    for (auto& [pk, ids] : settled) keys.insert(pk);
    const model::event_cause eod{.kind = model::cause_kind::end_of_day, .business_date = d, .end_of_day_offset = offset};
    revalue_pass(keys, true, settled, eod, now, out);

    // Step 5: every account; one that settled says so.
    for (auto& [ak, book] : books_) {
        why reason{{}, {}, eod};
        if (auto it = account_settled.find(ak); it != account_settled.end()) {
            reason.cause.kind = model::cause_kind::settlement;
            reason.cause.settled_activity_ids = it->second;
        }
        evaluate_account(ak, now, out, reason);
    }
}

// ---------------------------------------------------------------- revalue

result oracle::revalue(const std::string& cusip, timestamp now) {
    result out;
    std::set<std::string> keys, accounts;
    for (auto& [pk, p] : positions)
        if (!cusip.empty() && p.cusip == cusip) keys.insert(pk);
    why reason{{}, {}, {.kind = model::cause_kind::revaluation, .revalued_cusip = cusip}};
    if (const model::price* px = refdata_.price(cusip)) reason.cause.price_as_of = px->as_of;
    revalue_pass(keys, false, {}, reason.cause, now, out);
    for (const auto& pk : keys) accounts.insert(account_of(pk));
    for (const auto& ak : accounts) evaluate_account(ak, now, out, reason);
    return out;
}

// Re-values the positions (in key order): with `roll`, the managed position
// rolls price into prevPrice and takes the current price (END_OF_DAY);
// without, it is re-joined (revalue). A position whose fields changed, or
// that has settled ids, gets a new version.
void oracle::revalue_pass(const std::set<std::string>& keys, bool roll,
                          const std::map<std::string, std::vector<std::string>>& settled,
                          const model::event_cause& cause, timestamp now, result& out) {
    std::map<std::string, model::position> before;
    std::map<std::string, valuation> values;
    auto finish = [&](const std::string& pk) {
        model::position& p = positions.at(pk);
        auto ids = settled.find(pk);
        bool has_ids = ids != settled.end();
        bool changed = has_ids || p != before.at(pk);
        // A settlement's ids are not applications: settledActivityIds, no activityIds.
        why reason{{}, {}, cause};
        if (has_ids) {
            reason.cause.kind = model::cause_kind::settlement;
            reason.cause.settled_activity_ids = ids->second;
        }
        if (changed) {
            ++p.version;
            out.events.push_back(model::position_updated{p, {}, {}, {}, now, reason.cause});
        }
        if (!p.cusip.empty())
            refresh_concentration(account_of(pk), p.cusip);
        const valuation& v = values.at(pk);
        if (v.valued && (!p.td_qty.is_zero() || p.market_value != before.at(pk).market_value))
            emit_market_value(pk, v, now, out, reason);
    };
    for (const auto& pk : keys) {
        model::position& p = positions.at(pk);
        before[pk] = p;
        if (p.cusip.empty()) {
            join(pk, "", true);
        } else if (roll) {
            // "re-joined and re-valued as in END_OF_DAY step 4 (without the
            // roll)": step 4 re-joins too. prevPrice is the rolled price.
            model::managed_position& m = managed.at(pk);
            if (const model::security* sec = refdata_.security(p.cusip))
                if (m.strike_price != sec->strike_price || m.contract_size != sec->contract_size ||
                    m.exp_or_maturity_date != sec->exp_or_maturity_date)
                    hit("eod:security-changed-since-join");
            m.prev_price = m.price;
            join(pk, "", false);
        } else {
            join(pk, "", true);
        }
        values[pk] = value_position(pk, false);
    }
    // House requirements with the concentrations after every position moved.
    for (const auto& pk : keys) set_house_requirement(pk);
    for (const auto& pk : keys) finish(pk);
}

// ---------------------------------------------------------------- join and valuation

void oracle::join(const std::string& pk, const std::string& record_product_line, bool take_prev_price) {
    const model::position& p = positions.at(pk);
    if (p.cusip.empty()) return; // a cash position has nothing to join
    model::managed_position& m = managed[pk];
    m.firm_prodpc = p.firm_postrmt;
    m.ledger_prodpc = p.ledger_postrmt;
    m.branch_prodpc = p.branch_postrmt;
    m.base_prodpc = p.base_postrmt;
    m.sub_acct_prodpc = p.sub_acct_key;
    m.cusip = p.cusip;
    const model::security* sec = p.cusip.empty() ? nullptr : refdata_.security(p.cusip);
    m.security_found_sw = sec != nullptr;
    if (!p.cusip.empty()) hit(sec ? "security:found" : "security:not-found");
    m.uls = sec ? sec->uls : std::string();
    m.uls_found_sw = sec && !sec->uls.empty() && refdata_.security(sec->uls) != nullptr;
    if (sec && !sec->uls.empty()) hit(m.uls_found_sw ? "uls:found" : "uls:not-found");
    // The record's productLine wins; else the security master's; else the
    // line joined before (a cusip the security master does not know keeps
    // the line its records named).
    if (!record_product_line.empty())
        m.product_line = record_product_line;
    else if (sec && !sec->product_line.empty())
        m.product_line = sec->product_line;
    m.strike_price = sec ? sec->strike_price : std::nullopt;
    m.contract_size = sec ? sec->contract_size : std::nullopt;
    m.exp_or_maturity_date = sec ? sec->exp_or_maturity_date : std::nullopt;
    if (const model::price* pr = p.cusip.empty() ? nullptr : refdata_.price(p.cusip)) {
        m.price = pr->price;
        if (take_prev_price && pr->prev_price) m.prev_price = *pr->prev_price;
    }
}

oracle::valuation oracle::value_position(const std::string& pk, bool with_house) {
    model::position& p = positions.at(pk);
    valuation v;
    if (p.cusip.empty()) {
        // Cash positions are not valued; their money is in tdBal/sdBal.
        p.market_value = zero;
        p.loan_value = zero;
        p.equity_req = zero;
        p.house_req = zero;
        p.loss = decimal::max(zero, p.cost_basis);
        p.contributes_to_equity = false;
        p.short_exp_date.reset();
        return v;
    }
    const model::managed_position& m = managed.at(pk);
    const model::product_definition* prod = refdata_.product(m.product_line);
    vassert(prod != nullptr, "oracle: valued position without a product line '{}'", m.product_line);
    const model::price* pr = refdata_.price(p.cusip);
    v.valued = true;

    std::optional<decimal> price;
    const std::string& flag = prod->ext_rule_flag;
    if (flag == "P") {
        v.rule = "PREVIOUS_CLOSE";
        if (pr && pr->prev_price) price = *pr->prev_price;
    } else if (flag == "F") {
        v.rule = "FIXED";
        price = prod->default_price_for_mgn;
    } else if (flag == "Z") {
        v.rule = "NOT_VALUED";
        price = zero;
    } else {
        v.rule = "STANDARD";
        if (m.price) price = *m.price;
    }
    if (!price) {
        if (prod->default_price_for_mgn) {
            v.rule = "DEFAULT_PRICE";
            price = *prod->default_price_for_mgn;
        } else {
            v.rule = "NO_PRICE";
            price = zero;
        }
    }
    v.price = *price;
    hit("rule:" + v.rule);
    decimal contract_size = m.contract_size ? *m.contract_size : one;
    decimal factor = prod->factor;
    decimal mv = round0(mul(mul(mul(v.price, p.td_qty), factor), contract_size));

    bool contributes = prod->contributes_to_equity_sw;
    bool margin_account = is_margin_type(account_type(p.base_postrmt));
    p.market_value = mv;
    p.contributes_to_equity = contributes;
    p.loss = decimal::max(zero, p.cost_basis - mv);
    p.loan_value = (contributes && mv.is_positive() && prod->marginable_flag && margin_account)
                       ? round2(mul(mv, one - config_.reg_t_initial_rate))
                       : zero;
    decimal equity_req;
    if (contributes && p.td_qty.is_negative() && mv.is_zero()) hit("req:short-without-value");
    if (contributes && p.td_qty.is_positive()) {
        equity_req = prod->marginable_flag ? round2(mul(mv, config_.exch_long_rate)) : mv;
        hit(prod->marginable_flag ? "req:long" : "req:long-non-marginable");
    } else if (contributes && p.td_qty.is_negative()) {
        decimal qty = p.td_qty.abs();
        decimal amv = mv.abs();
        bool equity_like = factor == one && contract_size == one;
        auto per_share = [&](decimal rate) {
            return round2(mul(qty, rate));
        };
        hit(!equity_like ? "req:short-other" : v.price >= config_.exch_short_low_price ? "req:short-5-or-more" : "req:short-below-5");
        if (!equity_like)
            equity_req = round2(mul(amv, config_.exch_short_rate));
        else if (v.price >= config_.exch_short_low_price)
            equity_req = decimal::max(per_share(config_.exch_short_per_share), round2(mul(amv, config_.exch_short_rate)));
        else
            equity_req = decimal::max(per_share(config_.exch_short_low_per_share), amv);
    }
    p.equity_req = equity_req;
    p.short_exp_date = p.td_qty.is_negative() ? m.exp_or_maturity_date : std::nullopt;
    if (with_house) set_house_requirement(pk);
    return v;
}

// The house requirement needs the cusip's concentration with this
// position's new contribution in the account's sums.
void oracle::set_house_requirement(const std::string& pk) {
    model::position& p = positions.at(pk);
    if (p.cusip.empty() || !p.contributes_to_equity) {
        p.house_req = zero;
        return;
    }
    decimal rate = house_rate(account_of(pk), p.cusip);
    p.house_req = decimal::max(p.equity_req, round2(mul(rate, p.market_value.abs())));
    if (p.house_req > p.equity_req) hit("house:surcharge");
}

std::map<std::string, oracle::cusip_sums> oracle::account_sums(const std::string& account) const {
    std::map<std::string, cusip_sums> sums;
    // Position keys are the account key, '|', sub-account, '|', cusip, and
    // no key field holds '|': the account's positions are the keys that
    // start with account + '|', one range of the sorted map.
    const std::string prefix = account + '|';
    for (auto it = positions.lower_bound(prefix); it != positions.end() && it->first.starts_with(prefix); ++it) {
        const model::position& p = it->second;
        if (p.cusip.empty()) continue;
        cusip_sums& s = sums[p.cusip];
        s.td_qty += p.td_qty;
        s.market_val += p.market_value;
        if (!p.contributes_to_equity) continue;
        if (p.market_value.is_positive()) s.mv_long += p.market_value;
        if (p.market_value.is_negative()) s.mv_short += p.market_value.abs();
        s.exch_req += p.equity_req;
        s.loan_value += p.loan_value;
        s.house_req += p.house_req;
    }
    return sums;
}

std::pair<std::string, std::span<const model::margin_rule>> oracle::rule_list(const std::string& account) const {
    const std::string& category = books_.at(account).acct_category;
    auto rules = refdata_.margin_rules(category);
    if (!category.empty() && !rules.empty()) return {category, rules};
    hit("rule-list:default");
    return {config_.default_margin_rule, refdata_.margin_rules(config_.default_margin_rule)};
}

static decimal concentration(const std::map<std::string, oracle::cusip_sums>& sums, const std::string& cusip) {
    decimal gross;
    for (const auto& [c, s] : sums) gross += s.mv_long + s.mv_short;
    if (gross.is_zero()) return zero;
    auto it = sums.find(cusip);
    if (it == sums.end()) return zero;
    return div(it->second.mv_long + it->second.mv_short, gross);
}

static decimal rate_at(std::span<const model::margin_rule> rules, decimal conc) {
    std::vector<model::margin_rule> sorted(rules.begin(), rules.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.nyrs_mgn_seq < b.nyrs_mgn_seq; });
    for (const auto& r : sorted)
        if (conc >= r.nyrs_level) return r.nyrs_action;
    return zero;
}

decimal oracle::house_rate(const std::string& account, const std::string& cusip) const {
    auto sums = account_sums(account);
    return rate_at(rule_list(account).second, concentration(sums, cusip));
}

void oracle::refresh_concentration(const std::string& account, const std::string& cusip) {
    auto sums = account_sums(account);
    const cusip_sums& s = sums[cusip];
    model::portfolio_concentration& c = concentrations[{account, cusip}];
    c.account = account;
    c.cusip = cusip;
    c.td_qty_conc = s.td_qty;
    c.market_val = s.market_val;
    c.mv_long = s.mv_long;
    c.mv_short = s.mv_short;
    c.exch_req = s.exch_req;
    c.loan_value = s.loan_value;
    c.house_req = s.house_req;
    c.cusip_conc = concentration(sums, cusip);
    c.acct_category_conc = rule_list(account).first;
}

void oracle::evaluate_account(const std::string& account, timestamp now, result& out, const why& reason) {
    account_book& book = books_.at(account);
    auto sums = account_sums(account);
    model::margin_balance b;
    b.firm = book.firm;
    b.ledger = book.ledger;
    b.branch = book.branch;
    b.base = book.base;
    b.acct_type = book.acct_type;
    b.acct_category = book.acct_category;
    b.td_bal = book.td_bal;
    b.sd_bal = book.sd_bal;
    b.base_currency = book.base_currency;
    b.td_bal_total = book.td_bal;
    b.sd_bal_total = book.sd_bal;
    for (const auto& [ccy, cash] : book.foreign) { // std::map: in currency order
        decimal& rate = book.last_rate[ccy];
        if (const model::fx_rate* fx = refdata_.fx_rate(ccy, book.base_currency)) rate = fx->rate;
        else hit("currency:rate-gone");
        model::currency_cash c;
        c.currency = ccy;
        c.td_bal = cash.first;
        c.sd_bal = cash.second;
        c.rate = rate;
        c.td_bal_base = round2(mul(cash.first, rate));
        c.sd_bal_base = round2(mul(cash.second, rate));
        b.td_bal_total += c.td_bal_base;
        b.sd_bal_total += c.sd_bal_base;
        b.cash.push_back(std::move(c));
    }
    decimal gross;
    for (const auto& [c, s] : sums) {
        b.mv_td_long += s.mv_long;
        b.mv_td_short += s.mv_short;
        b.loan_value += s.loan_value;
        b.reqt_exch += s.exch_req;
        // Each position's house requirement as of its last change or
        // re-valuation (libs/engine/README.md), summed from scratch.
        b.reqt_house += s.house_req;
    }
    gross = b.mv_td_long + b.mv_td_short;
    b.equity = b.td_bal_total + b.mv_td_long - b.mv_td_short;
    // SMA is only the ledger adjSmaSw moves; excess equity counts towards
    // buying power when cash available is computed, not in the stored SMA.
    b.sma = book.sma;
    if (is_margin_type(book.acct_type)) {
        decimal excess = b.equity - round2(mul(config_.reg_t_initial_rate, gross));
        decimal buying_power = decimal::max(b.sma, excess);
        if (excess > b.sma && excess < b.equity - b.reqt_house && excess.is_positive()) hit("cash-avail:excess-equity");
        b.cash_avail = decimal::max(zero, decimal::min(buying_power, b.equity - b.reqt_house));
    } else {
        b.cash_avail = decimal::max(zero, decimal::min(b.td_bal_total, b.sd_bal_total));
    }
    if (b.equity < b.reqt_exch) {
        b.margin_call = model::margin_call_state::exchange;
        hit("call:EXCHANGE");
    } else if (b.equity < b.reqt_house) {
        b.margin_call = model::margin_call_state::house;
        hit("call:HOUSE");
    } else {
        b.margin_call = model::margin_call_state::none;
        hit("call:NONE");
    }
    b.margin_call_amount = b.margin_call == model::margin_call_state::none ? zero : b.reqt_house - b.equity;

    auto it = balances.find(account);
    if (it != balances.end()) {
        b.version = it->second.version;
        if (b == it->second) return; // unchanged: no new version
    }
    ++b.version;
    balances[account] = b;
    out.events.push_back(model::margin_updated{b, now, reason.activity_ids, reason.offsets, reason.cause});
}

void oracle::emit_market_value(const std::string& pk, const valuation& v, timestamp now, result& out,
                               const why& reason) {
    const model::position& p = positions.at(pk);
    model::market_value_event e;
    e.product_id = p.cusip;
    e.firm = p.firm_postrmt;
    e.ledger = p.ledger_postrmt;
    e.branch = p.branch_postrmt;
    e.base = p.base_postrmt;
    e.sub_acct_key = p.sub_acct_key;
    e.quantity = p.td_qty;
    e.price = v.price;
    e.rule = v.rule;
    e.market_value = p.market_value;
    e.ts = now;
    e.activity_ids = reason.activity_ids;
    e.offsets = reason.offsets;
    e.cause = reason.cause;
    out.events.push_back(e);
}

} // namespace posd::oracle
