#include "engine/memory_state.h"

#include "base/vassert.h"

namespace posd::engine {

bool memory_state::load_meta(std::int32_t partition, model::partition_meta& out) {
    auto it = partitions_.find(partition);
    if (it == partitions_.end() || !it->second.has_meta) return false;
    out = it->second.meta;
    return true;
}

bool memory_state::load_position(std::string_view key, model::position& out) {
    auto it = positions_.find(key);
    if (it == positions_.end()) return false;
    out = it->second;
    return true;
}

bool memory_state::load_managed_position(std::string_view key, model::managed_position& out) {
    auto it = managed_.find(key);
    if (it == managed_.end()) return false;
    out = it->second;
    return true;
}

bool memory_state::load_balance(std::string_view key, model::margin_balance& out) {
    auto it = balances_.find(key);
    if (it == balances_.end()) return false;
    out = it->second;
    return true;
}

namespace {
void write_concentration_key(std::string& out, std::string_view account, std::string_view cusip) {
    out.clear();
    out.append(account);
    out.push_back('|');
    out.append(cusip);
}
} // namespace

bool memory_state::load_concentration(std::string_view account, std::string_view cusip,
                                      model::portfolio_concentration& out) {
    write_concentration_key(conc_key_buffer_, account, cusip);
    auto it = concentration_index_.find(conc_key_buffer_);
    if (it == concentration_index_.end()) return false;
    out = *it->second;
    return true;
}

bool memory_state::is_applied(std::int32_t partition, std::string_view id) {
    auto it = partitions_.find(partition);
    return it != partitions_.end() && it->second.applied.contains(id);
}

void memory_state::load_pending_due(std::int32_t partition, date through,
                                    std::vector<model::pending_settlement>& out) {
    auto it = partitions_.find(partition);
    if (it == partitions_.end()) return;
    for (auto& [k, p] : it->second.pending) {
        if (p.settle_date > through) break;
        out.push_back(p);
    }
}

void memory_state::for_each_position_key(std::int32_t partition,
                                         const std::function<void(std::string_view)>& fn) {
    auto it = partitions_.find(partition);
    if (it == partitions_.end()) return;
    for (auto& k : it->second.position_keys) fn(k);
}

void memory_state::for_each_position_key_in_cusip(std::int32_t partition, std::string_view cusip,
                                                  const std::function<void(std::string_view)>& fn) {
    auto it = partitions_.find(partition);
    if (it == partitions_.end()) return;
    auto keys = it->second.cusip_index.find(cusip);
    if (keys == it->second.cusip_index.end()) return;
    for (auto& k : keys->second) fn(k);
}

namespace {
// Moves from an rvalue write set's element, copies from a const one.
template <typename WriteSet, typename T> decltype(auto) pass(T& v) {
    if constexpr (std::is_const_v<std::remove_reference_t<WriteSet>> || std::is_lvalue_reference_v<WriteSet>)
        return static_cast<const T&>(v);
    else
        return std::move(v);
}
} // namespace

template <typename WriteSet> void memory_state::apply_impl(WriteSet&& ws) {
    using W = WriteSet;
    auto& p = part(ws.partition);
    vassert(ws.meta.partition == ws.partition, "write set for partition {} carries meta of {}",
            ws.partition, ws.meta.partition);
    vassert(!p.has_meta || ws.meta.next_offset >= p.meta.next_offset,
            "partition {} offset would go back from {} to {}", ws.partition, p.meta.next_offset,
            ws.meta.next_offset);
    p.meta = ws.meta;
    p.has_meta = true;
    // Keys go through one reused buffer; a key string is allocated only
    // for an entity the store has not seen.
    std::string& key = key_buffer_;
    for (auto& pos : ws.positions) {
        model::write_position_key(key, pos.firm_postrmt, pos.ledger_postrmt, pos.branch_postrmt,
                                  pos.base_postrmt, pos.sub_acct_key, pos.cusip);
        auto it = positions_.find(key);
        if (it != positions_.end()) {
            it->second = pass<W>(pos);
            continue;
        }
        p.cusip_index[pos.cusip].push_back(key);
        p.position_keys.push_back(key);
        positions_.emplace(key, pass<W>(pos));
    }
    for (auto& m : ws.managed_positions) {
        model::write_position_key(key, m.firm_prodpc, m.ledger_prodpc, m.branch_prodpc, m.base_prodpc,
                                  m.sub_acct_prodpc, m.cusip);
        auto it = managed_.find(key);
        if (it != managed_.end()) it->second = pass<W>(m);
        else managed_.emplace(key, pass<W>(m));
    }
    for (auto& b : ws.balances) {
        model::write_account_key(key, b.firm, b.ledger, b.branch, b.base);
        auto it = balances_.find(key);
        if (it != balances_.end()) it->second = pass<W>(b);
        else balances_.emplace(key, pass<W>(b));
    }
    for (auto& c : ws.concentrations) {
        write_concentration_key(conc_key_buffer_, c.account, c.cusip);
        auto indexed = concentration_index_.find(conc_key_buffer_);
        if (indexed != concentration_index_.end()) {
            *indexed->second = pass<W>(c);
            continue;
        }
        auto acct = concentrations_.find(c.account);
        if (acct == concentrations_.end()) acct = concentrations_.try_emplace(c.account).first;
        std::string cusip = c.cusip;
        auto [it, inserted] = acct->second.emplace(std::move(cusip), pass<W>(c));
        vassert(inserted, "concentration {} {} missing from the index", model::mask_account(c.account), it->first);
        concentration_index_.emplace(conc_key_buffer_, &it->second);
    }
    for (auto& s : ws.pending_released) {
        auto n = p.pending.erase({s.settle_date.days(), s.sequence});
        vassert(n == 1, "released pending settlement {} not found", s.sequence);
    }
    for (auto& s : ws.pending_added) {
        auto [it, inserted] = p.pending.emplace(std::pair{s.settle_date.days(), s.sequence}, pass<W>(s));
        (void)it;
        vassert(inserted, "pending settlement {} added twice", s.sequence);
    }
    for (auto& id : ws.applied_ids) {
        auto [it, inserted] = p.applied.insert(pass<W>(id));
        vassert(inserted, "activity id applied twice in partition {}", ws.partition);
        p.applied_order.push_back(*it); // a view of the set's own (node-stable) string
        if (p.applied_order.size() > applied_ids_retained_) {
            p.applied.erase(p.applied.find(p.applied_order.front()));
            p.applied_order.pop_front();
        }
    }
}

void memory_state::apply(const write_set& ws) { apply_impl(ws); }
void memory_state::apply(write_set&& ws) { apply_impl(std::move(ws)); }

std::size_t memory_state::pending_count(std::int32_t partition) const {
    auto it = partitions_.find(partition);
    return it == partitions_.end() ? 0 : it->second.pending.size();
}

std::size_t memory_state::applied_id_count(std::int32_t partition) const {
    auto it = partitions_.find(partition);
    return it == partitions_.end() ? 0 : it->second.applied.size();
}

} // namespace posd::engine
