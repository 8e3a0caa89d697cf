#pragma once
// Account and position keys (SPEC §2). On the wire the parts are joined by
// '|': account key "firm|ledger|branch|base", position key
// "firm|ledger|branch|base|subAcctKey|cusip" (cash positions: empty cusip).
// Strong types so that an account key is never used as a position key.

#include "base/named_type.h"

#include <string>
#include <string_view>

namespace posd::model {

struct account_key_tag {};
struct position_key_tag {};
using account_key = named_type<std::string, account_key_tag>;
using position_key = named_type<std::string, position_key_tag>;

account_key make_account_key(std::string_view firm, std::string_view ledger,
                             std::string_view branch, std::string_view base);
position_key make_position_key(std::string_view firm, std::string_view ledger,
                               std::string_view branch, std::string_view base,
                               std::string_view sub_acct_key, std::string_view cusip);
// The same keys written into `out` (cleared first), for hot paths that
// reuse one buffer instead of allocating a key per record.
void write_account_key(std::string& out, std::string_view firm, std::string_view ledger,
                       std::string_view branch, std::string_view base);
void write_position_key(std::string& out, std::string_view firm, std::string_view ledger,
                        std::string_view branch, std::string_view base, std::string_view sub_acct_key,
                        std::string_view cusip);
// The account key that a position key starts with.
account_key account_of(const position_key& key);

// Masks an account number for logs and dead-letter messages: every character
// of the base but the last two becomes '*' ("ABCD|01|123|***78").
std::string mask_account(std::string_view account_or_position_key);

} // namespace posd::model
