#pragma once
// Which instance answers a query (README.md, "HTTP"): the owner of the key's
// activity partition, and only once that partition is recovered there.
//
//   partition_view   the partitions this instance owns and whether each is
//                    recovered; kafka_service writes it on assignment and
//                    revocation (before the partition's store can be read
//                    stale), the HTTP handlers read it.
//   owner_directory  every partition's owner in the consumer group, as the
//                    advertised HTTP address each member carries in its
//                    consumer client.id (`<instance>@<host:port>`), read from
//                    the group coordinator (stream::describe_group); cached
//                    briefly, refreshed on a miss.
//   decide_route     the pure decision: answer, 503 restoring, forward to the
//                    owner, or 503 unavailable.
//   forward_query    proxies one GET to the owner with X-Posd-Forwarded-By,
//                    so that a request is forwarded at most once.
//
// Why client.id: librdkafka does not let an application put user data in
// the assignor's subscription (Kafka Streams' application.server travels
// there), but the group coordinator keeps each member's client.id and
// assignment and hands both out in DescribeGroups, so every instance
// learns every owner's address from the broker without a topic of its own.
//
// Threading: partition_view and owner_directory are thread-safe; the rest
// are pure functions or use only their arguments.

#include "ops/http_server.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace RdKafka {
class Producer;
}

namespace posd::service {

// The request header that marks a query forwarded by another instance: it
// is answered or refused, never forwarded again.
inline constexpr std::string_view forwarded_by_header = "X-Posd-Forwarded-By";
// Seconds a 503 asks the client to wait (Retry-After).
inline constexpr int retry_after_seconds = 1;

enum class partition_status { not_owned, recovering, serving };

class partition_view {
public:
    void recovering(std::int32_t p); // assigned; recovery (restore, republish) under way
    void serving(std::int32_t p);    // recovered: queries read the store
    void leave(std::int32_t p);      // revoked or lost: no more answers from here
    void clear();
    partition_status status(std::int32_t p) const;

private:
    mutable std::mutex mutex_;
    std::map<std::int32_t, partition_status> partitions_;
};

// The consumer client.id carrying the advertised HTTP address, and back.
std::string member_client_id(std::string_view instance, std::string_view advertised_address);
std::optional<std::string> advertised_address_of(std::string_view client_id);

// The address other instances reach this one at when http.advertised-address
// is unset: the bound address and port, or the host name when bound to every
// interface (0.0.0.0 / ::).
std::string default_advertised_address(std::string_view bound_address, std::uint16_t port,
                                       std::string_view host_name);

class owner_directory {
public:
    struct options {
        std::string group_id;
        std::string topic; // the activity topic
        std::chrono::milliseconds ttl{1'000};           // how long a description is trusted
        std::chrono::milliseconds refresh_min{100};     // at most one refresh per this, misses included
        std::chrono::milliseconds timeout{2'000};       // one group description
    };
    // `kafka`: librdkafka properties (bootstrap.servers, security...).
    owner_directory(const std::map<std::string, std::string>& kafka, options o);
    ~owner_directory();
    owner_directory(const owner_directory&) = delete;
    owner_directory& operator=(const owner_directory&) = delete;

    // The advertised address of p's owner: from a description younger than
    // the ttl, or a new one when it is older, or when `refresh` is set (a
    // miss: no owner, or an owner the caller knows to be wrong) and the
    // last refresh is older than refresh_min. nullopt: no member owns p, or
    // the group cannot be described (logged).
    std::optional<std::string> owner(std::int32_t p, bool refresh = false);

private:
    void describe(); // under mutex_
    options opts_;
    std::unique_ptr<RdKafka::Producer> client_;
    std::mutex mutex_;
    std::map<std::int32_t, std::string> owners_;
    std::chrono::steady_clock::time_point described_{};
    std::chrono::steady_clock::time_point next_failure_log_{};
};

enum class route_action {
    answer,      // owned and recovered here
    restoring,   // owned here, recovery under way: 503 + Retry-After
    forward,     // another instance owns it
    unavailable, // no owner known (a rebalance in flight), or a forwarded
                 // query this instance does not serve: 503 + Retry-After
};
struct route_decision {
    route_action action = route_action::unavailable;
    std::string owner; // for forward
    std::string why;   // for the 503's message
};

// `owner`: the directory's answer; `self`: this instance's advertised
// address; `forwarded`: the request came from another instance.
route_decision decide_route(partition_status local, const std::optional<std::string>& owner, std::string_view self,
                            bool forwarded);

// 503 with Retry-After and the partition.
ops::http_response unavailable_response(std::int32_t partition, std::string_view code, std::string_view message);

// GETs `target` from `owner` (HOST:PORT) with X-Posd-Forwarded-By: self and
// returns its answer (status, body, X-Posd-* and Retry-After headers). An
// owner that cannot be reached within `timeout` gives a 503.
ops::http_response forward_query(const std::string& owner, const std::string& target, std::string_view self,
                                 std::int32_t partition, std::chrono::milliseconds timeout);

} // namespace posd::service
