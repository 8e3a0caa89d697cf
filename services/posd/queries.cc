#include "queries.h"

#include "codec/json_encode.h"
#include "model/keys.h"
#include "ops/json_text.h"
#include "store/partitioner.h"

#include <fmt/format.h>

#include <algorithm>

namespace posd::service {

// Read-only queries over the store (README.md, "HTTP"). Positions and
// balances are the JSON of the position.updated / margin.updated events.
void add_query_routes(ops::http_server& http, store::rocks_store& store, std::int32_t partitions) {
    auto partition_of = [partitions](std::string_view account) {
        return store::kafka_partition_for_key(account, partitions);
    };
    auto position_json = [](const model::position& p) {
        std::string out;
        codec::encode_json(model::position_updated{p, {}, {}, timestamp{0}, timestamp{0}}, out);
        return out;
    };
    http.route("/positions/{key}", [&store, partition_of, position_json](const ops::http_request& r) {
        const std::string& key = r.param("key");
        if (std::count(key.begin(), key.end(), '|') != 5)
            return ops::http_response::error(400, "bad_key", "a position key is firm|ledger|branch|base|subAcctKey|cusip");
        const std::string account = model::account_of(model::position_key{key}).value();
        auto p = store.find_position(partition_of(account), key);
        if (!p) return ops::http_response::error(404, "not_found", "no position " + model::mask_account(key));
        return ops::http_response::json(position_json(*p));
    });
    // Answers with render(positions) for an account that has positions.
    auto with_positions = [&store, partition_of](const ops::http_request& r, auto render) {
        const std::string& account = r.param("account");
        if (std::count(account.begin(), account.end(), '|') != 3)
            return ops::http_response::error(400, "bad_key", "an account key is firm|ledger|branch|base");
        const auto positions = store.account_positions(partition_of(account), account);
        if (positions.empty())
            return ops::http_response::error(404, "not_found", "no positions for " + model::mask_account(account));
        return ops::http_response::json(render(positions));
    };
    http.route("/accounts/{account}/positions", [with_positions, position_json](const ops::http_request& r) {
        return with_positions(r, [&](const std::vector<model::position>& positions) {
            std::string body = "[";
            for (const auto& p : positions) {
                if (body.size() > 1) body += ',';
                body += position_json(p);
            }
            return body + "]";
        });
    });
    // The market value each position of the account holds now: the value of
    // its last market-value event (re-valuations included).
    http.route("/accounts/{account}/market-values", [with_positions](const ops::http_request& r) {
        return with_positions(r, [](const std::vector<model::position>& positions) {
            decimal total;
            std::string body = "{\"positions\":[";
            for (std::size_t i = 0; i < positions.size(); ++i) {
                const model::position& p = positions[i];
                total += p.market_value;
                if (i) body += ',';
                body += "{\"positionKey\":";
                ops::append_json_string(body, p.key().value());
                body += ",\"productId\":";
                ops::append_json_string(body, p.cusip);
                body += fmt::format(",\"quantity\":\"{}\",\"marketValue\":\"{}\",\"version\":{}}}",
                                    p.td_qty.to_string(), p.market_value.to_string(), p.version);
            }
            return body + fmt::format("],\"totalMarketValue\":\"{}\"}}", total.to_string());
        });
    });
    http.route("/accounts/{account}/balance", [&store, partition_of](const ops::http_request& r) {
        const std::string& account = r.param("account");
        if (std::count(account.begin(), account.end(), '|') != 3)
            return ops::http_response::error(400, "bad_key", "an account key is firm|ledger|branch|base");
        auto b = store.find_balance(partition_of(account), account);
        if (!b) return ops::http_response::error(404, "not_found", "no balance for " + model::mask_account(account));
        std::string out;
        codec::encode_json(model::margin_updated{*b, timestamp{0}}, out);
        return ops::http_response::json(out);
    });
}

} // namespace posd::service
