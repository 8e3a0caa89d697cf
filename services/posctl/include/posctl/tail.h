#pragma once
// posctl tail: reads a topic and hands each message to a callback — from the
// end (new messages) or from the beginning, until a count of messages, a
// stretch of silence, or `stop`.
//
// It assigns every partition of the topic itself (no consumer group join,
// no offset commits), so it starts at once, disturbs no group and never
// moves anyone's committed offsets. Isolation is read_committed unless
// asked otherwise: a reader of posd's outputs should see only committed
// batches, as any downstream consumer does.
//
// Threading: tail() runs on the calling thread and owns its consumer;
// `stop` may be set from any thread (a signal handler).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace posd::posctl {

struct tail_options {
    std::map<std::string, std::string> kafka; // librdkafka properties; bootstrap.servers at least
    std::string topic;
    bool from_beginning = false;
    std::uint64_t count = 0;             // stop after this many messages (0: no limit)
    std::chrono::milliseconds timeout{0}; // stop after this long without a message (0: never)
    bool read_uncommitted = false;
};

struct tail_message {
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
    bool null_value = false; // a tombstone; `value` is empty
};

struct tail_result {
    std::uint64_t messages = 0;
    bool count_reached = false; // options.count > 0 and that many arrived
};

// `key<TAB>value`, then `<TAB>name=value;name=value...` when the message has
// headers (the dead-letter topic: reason, message, field, source.*). Tabs,
// newlines and carriage returns in the key or value are written `\t`, `\n`,
// `\r`, so one message is one line; header names and values also escape `\`,
// `;` and `=` with a backslash. No trailing newline.
std::string format_line(const tail_message& message);

// Reads until one of the stopping conditions. Throws std::invalid_argument
// (options) or stream::kafka_error (no such topic, client failure).
tail_result tail(const tail_options& options, const std::function<void(const tail_message&)>& on_message,
                 const std::atomic<bool>* stop = nullptr);

} // namespace posd::posctl
