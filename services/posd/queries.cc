#include "queries.h"

#include "codec/json_encode.h"
#include "model/keys.h"
#include "ops/json_text.h"
#include "store/partitioner.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

namespace posd::service {

std::optional<ops::http_response> reject_unknown_parameters(const ops::http_request& r,
                                                            std::span<const std::string_view> allowed) {
    for (const auto& [name, value] : r.query) {
        if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
        // json_error escapes the name; a very long one is cut.
        std::string message = fmt::format("unknown query parameter '{}'", std::string_view(name).substr(0, 100));
        if (allowed.empty()) message += "; this query takes none";
        return ops::http_response::error(400, "unknown_parameter", message);
    }
    return std::nullopt;
}

namespace {

// Routes one query to the instance that may answer it.
struct router {
    store::rocks_store& store;
    std::int32_t partitions;
    query_routing routing;

    // Answers with answer() when the key's partition is served here, with
    // the partition's headers; otherwise forwards or refuses.
    template <typename Answer>
    ops::http_response route(const ops::http_request& r, const std::string& account, Answer answer) const {
        // No query takes parameters yet (as-of queries are to come).
        if (auto bad = reject_unknown_parameters(r, {})) return *bad;
        const std::int32_t p = store::kafka_partition_for_key(account, partitions);
        const bool forwarded = r.header(forwarded_by_header).has_value();
        const std::string self = routing.self();
        const route_decision d = decide(p, self, forwarded);
        switch (d.action) {
        case route_action::answer: break;
        case route_action::restoring:
            return unavailable_response(p, "restoring", fmt::format("partition {} is being restored here", p));
        case route_action::forward:
            return forward_query(d.owner, r.target, self, p, routing.forward_timeout);
        case route_action::unavailable:
            return unavailable_response(p, "owner_unknown", fmt::format("partition {}: {}", p, d.why));
        }
        // The offset first: the data read after it reflects every record
        // before it (and perhaps a batch more).
        const auto meta = store.meta(p);
        ops::http_response out = answer(p);
        out.headers.emplace_back("X-Posd-Partition", std::to_string(p));
        out.headers.emplace_back("X-Posd-Offset", std::to_string(meta ? meta->next_offset : 0));
        if (!self.empty()) out.headers.emplace_back("X-Posd-Instance", self);
        return out;
    }

    route_decision decide(std::int32_t p, const std::string& self, bool forwarded) const {
        if (!routing.view) return {route_action::answer, {}, {}};
        const partition_status local = routing.view->status(p);
        std::optional<std::string> owner;
        if (routing.owners) {
            owner = routing.owners->owner(p);
            // A miss: not ours and no one else's, or ours and someone else's.
            const bool elsewhere = owner && *owner != self;
            if ((local == partition_status::not_owned && !elsewhere) || (local == partition_status::serving && elsewhere))
                owner = routing.owners->owner(p, true);
        }
        return decide_route(local, owner, self, forwarded);
    }
};

bool is_account_key(const std::string& key) { return std::count(key.begin(), key.end(), '|') == 3; }
const char* const bad_account = "an account key is firm|ledger|branch|base";

} // namespace

// Read-only queries over the store (README.md, "HTTP"). Positions and
// balances are the JSON of the position.updated / margin.updated events.
void add_query_routes(ops::http_server& http, store::rocks_store& store, std::int32_t partitions,
                      query_routing routing) {
    auto rt = std::make_shared<const router>(router{store, partitions, std::move(routing)});
    auto position_json = [](const model::position& p) {
        std::string out;
        codec::encode_json(model::position_updated{p, {}, {}, timestamp{0}, timestamp{0}}, out);
        return out;
    };
    http.route("/positions/{key}", [rt, position_json](const ops::http_request& r) {
        const std::string& key = r.param("key");
        if (std::count(key.begin(), key.end(), '|') != 5)
            return ops::http_response::error(400, "bad_key", "a position key is firm|ledger|branch|base|subAcctKey|cusip");
        const std::string account = model::account_of(model::position_key{key}).value();
        return rt->route(r, account, [&](std::int32_t p) {
            auto found = rt->store.find_position(p, key);
            if (!found) return ops::http_response::error(404, "not_found", "no position " + model::mask_account(key));
            return ops::http_response::json(position_json(*found));
        });
    });
    // Answers with render(positions) for an account that has positions.
    auto with_positions = [rt](const ops::http_request& r, auto render) {
        const std::string& account = r.param("account");
        if (!is_account_key(account)) return ops::http_response::error(400, "bad_key", bad_account);
        return rt->route(r, account, [&](std::int32_t p) {
            const auto positions = rt->store.account_positions(p, account);
            if (positions.empty())
                return ops::http_response::error(404, "not_found", "no positions for " + model::mask_account(account));
            return ops::http_response::json(render(positions));
        });
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
    http.route("/accounts/{account}/balance", [rt](const ops::http_request& r) {
        const std::string& account = r.param("account");
        if (!is_account_key(account)) return ops::http_response::error(400, "bad_key", bad_account);
        return rt->route(r, account, [&](std::int32_t p) {
            auto b = rt->store.find_balance(p, account);
            if (!b) return ops::http_response::error(404, "not_found", "no balance for " + model::mask_account(account));
            std::string out;
            codec::encode_json(model::margin_updated{*b, timestamp{0}}, out);
            return ops::http_response::json(out);
        });
    });
}

} // namespace posd::service
