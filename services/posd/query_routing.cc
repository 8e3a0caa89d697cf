#include "query_routing.h"

#include "ops/log.h"
#include "stream/admin.h"
#include "stream/batch_publisher.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

namespace posd::service {

// ---- partition_view ----

void partition_view::recovering(std::int32_t p) {
    std::lock_guard lock(mutex_);
    partitions_[p] = partition_status::recovering;
}

void partition_view::serving(std::int32_t p) {
    std::lock_guard lock(mutex_);
    partitions_[p] = partition_status::serving;
}

void partition_view::leave(std::int32_t p) {
    std::lock_guard lock(mutex_);
    partitions_.erase(p);
}

void partition_view::clear() {
    std::lock_guard lock(mutex_);
    partitions_.clear();
}

partition_status partition_view::status(std::int32_t p) const {
    std::lock_guard lock(mutex_);
    auto it = partitions_.find(p);
    return it == partitions_.end() ? partition_status::not_owned : it->second;
}

// ---- addresses ----

std::string member_client_id(std::string_view instance, std::string_view advertised_address) {
    return fmt::format("{}@{}", instance, advertised_address);
}

std::optional<std::string> advertised_address_of(std::string_view client_id) {
    const auto at = client_id.rfind('@');
    if (at == std::string_view::npos || at + 1 == client_id.size()) return std::nullopt;
    const std::string_view address = client_id.substr(at + 1);
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size()) return std::nullopt;
    return std::string(address);
}

std::string default_advertised_address(std::string_view bound_address, std::uint16_t port,
                                       std::string_view host_name) {
    if (bound_address == "0.0.0.0" || bound_address == "::") return fmt::format("{}:{}", host_name, port);
    if (bound_address.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", bound_address, port);
    return fmt::format("{}:{}", bound_address, port);
}

// ---- owner_directory ----

owner_directory::owner_directory(const std::map<std::string, std::string>& kafka, options o)
    : opts_(std::move(o)), client_(stream::make_producer(kafka)) {}

owner_directory::~owner_directory() = default;

std::optional<std::string> owner_directory::owner(std::int32_t p, bool refresh) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - described_ >= opts_.ttl || (refresh && now - described_ >= opts_.refresh_min)) describe();
    auto it = owners_.find(p);
    if (it == owners_.end()) return std::nullopt;
    return it->second;
}

void owner_directory::describe() {
    described_ = std::chrono::steady_clock::now();
    try {
        std::map<std::int32_t, std::string> owners;
        for (const stream::group_member& m : stream::describe_group(*client_, opts_.group_id, opts_.timeout)) {
            const std::optional<std::string> address = advertised_address_of(m.client_id);
            if (!address) continue; // not a posd instance that serves queries
            for (const auto& tp : m.assignment)
                if (tp.topic == opts_.topic) owners[tp.partition] = *address;
        }
        owners_ = std::move(owners);
    } catch (const std::exception& e) {
        owners_.clear(); // unknown rather than stale
        if (described_ >= next_failure_log_) {
            ops::log_warn("cannot describe the consumer group; query owners unknown",
                          {{"group", opts_.group_id}, {"error", e.what()}});
            next_failure_log_ = described_ + std::chrono::seconds(10);
        }
    }
}

// ---- the decision ----

route_decision decide_route(partition_status local, const std::optional<std::string>& owner, std::string_view self,
                            bool forwarded) {
    const bool owner_elsewhere = owner && *owner != self;
    switch (local) {
    case partition_status::recovering:
        return {route_action::restoring, {}, "the partition is being recovered here"};
    case partition_status::serving:
        // The group gave the partition to another member and this instance
        // has not heard yet (a paused or partitioned zombie): its store may
        // be behind, so the new owner answers.
        if (owner_elsewhere) {
            if (forwarded) return {route_action::unavailable, {}, "the owners disagree; a rebalance is in flight"};
            return {route_action::forward, *owner, "the group assigned the partition elsewhere"};
        }
        return {route_action::answer, {}, {}};
    case partition_status::not_owned:
        break;
    }
    if (forwarded) return {route_action::unavailable, {}, "forwarded here, but this instance does not own the partition"};
    if (owner_elsewhere) return {route_action::forward, *owner, {}};
    return {route_action::unavailable, {}, "no instance owns the partition now; a rebalance is in flight"};
}

ops::http_response unavailable_response(std::int32_t partition, std::string_view code, std::string_view message) {
    ops::http_response r = ops::http_response::error(503, code, message);
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
    r.headers.emplace_back("X-Posd-Partition", std::to_string(partition));
    return r;
}

// ---- forwarding ----

ops::http_response forward_query(const std::string& owner, const std::string& target, std::string_view self,
                                 std::int32_t partition, std::chrono::milliseconds timeout) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    namespace net = boost::asio;
    const auto colon = owner.rfind(':');
    std::string host = owner.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string port = owner.substr(colon + 1);
    try {
        net::io_context ioc;
        beast::tcp_stream stream(ioc);
        stream.expires_after(timeout);
        // Names resolve synchronously (no timeout of ours); owners advertise
        // what their peers can resolve quickly (a pod's DNS name, an address).
        stream.connect(net::ip::tcp::resolver(ioc).resolve(host, port));
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, owner);
        req.set(std::string(forwarded_by_header), std::string(self));
        http::write(stream, req);
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(256ULL * 1024 * 1024);
        http::read(stream, buffer, parser);
        auto& res = parser.get();
        ops::http_response out;
        out.status = res.result_int();
        out.content_type = std::string(res[http::field::content_type]);
        out.body = std::move(res.body());
        for (const auto& field : res) {
            const std::string name(field.name_string());
            if (beast::iequals(name, "Retry-After") || (name.size() > 7 && beast::iequals(name.substr(0, 7), "X-Posd-")))
                out.headers.emplace_back(name, std::string(field.value()));
        }
        out.headers.emplace_back(std::string(forwarded_by_header), std::string(self));
        beast::error_code ignored;
        stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
        return out;
    } catch (const std::exception& e) {
        ops::log_warn("query not forwarded", {{"owner", owner}, {"partition", partition}, {"error", e.what()}});
        return unavailable_response(partition, "owner_unreachable",
                                    fmt::format("the owner of partition {} ({}) did not answer", partition, owner));
    }
}

} // namespace posd::service
