#include "model/keys.h"

#include "base/vassert.h"

namespace posd::model {

void write_account_key(std::string& s, std::string_view firm, std::string_view ledger,
                       std::string_view branch, std::string_view base) {
    s.clear();
    s.reserve(firm.size() + ledger.size() + branch.size() + base.size() + 3);
    s.append(firm).append(1, '|').append(ledger).append(1, '|').append(branch).append(1, '|').append(base);
}

void write_position_key(std::string& s, std::string_view firm, std::string_view ledger,
                        std::string_view branch, std::string_view base, std::string_view sub_acct_key,
                        std::string_view cusip) {
    s.clear();
    s.reserve(firm.size() + ledger.size() + branch.size() + base.size() + sub_acct_key.size() +
              cusip.size() + 5);
    s.append(firm).append(1, '|').append(ledger).append(1, '|').append(branch).append(1, '|');
    s.append(base).append(1, '|').append(sub_acct_key).append(1, '|').append(cusip);
}

account_key make_account_key(std::string_view firm, std::string_view ledger,
                             std::string_view branch, std::string_view base) {
    std::string s;
    write_account_key(s, firm, ledger, branch, base);
    return account_key{std::move(s)};
}

position_key make_position_key(std::string_view firm, std::string_view ledger,
                               std::string_view branch, std::string_view base,
                               std::string_view sub_acct_key, std::string_view cusip) {
    std::string s;
    write_position_key(s, firm, ledger, branch, base, sub_acct_key, cusip);
    return position_key{std::move(s)};
}

account_key account_of(const position_key& key) {
    const std::string& s = key.value();
    std::size_t pos = 0;
    for (int i = 0; i < 4; ++i) {
        pos = s.find('|', pos);
        vassert(pos != std::string::npos, "position key with fewer than 6 parts: {}", mask_account(s));
        ++pos;
    }
    return account_key{s.substr(0, pos - 1)};
}

std::string mask_account(std::string_view key) {
    std::string out(key);
    // The base is the fourth '|'-separated part; a bare base has no '|'.
    std::size_t start = 0;
    for (int i = 0; i < 3; ++i) {
        std::size_t p = out.find('|', start);
        if (p == std::string::npos) { start = 0; break; }
        start = p + 1;
    }
    std::size_t end = out.find('|', start);
    if (end == std::string::npos) end = out.size();
    for (std::size_t i = start; i + 2 < end; ++i) out[i] = '*';
    return out;
}

} // namespace posd::model
