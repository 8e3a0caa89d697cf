#pragma once
// Writing JSON text by hand for the few small documents ops produces (log
// lines, HTTP error bodies). Stateless functions, safe from any thread.

#include <string>
#include <string_view>

namespace posd::ops {

// Appends `text` as a JSON string, quotes included. Control characters,
// '"' and '\\' are escaped; bytes that are not valid UTF-8 become U+FFFD, so
// the output is always valid JSON whatever a client or a record sent.
void append_json_string(std::string& out, std::string_view text);
std::string json_string(std::string_view text);

// {"error":"<code>","message":"<message>"}
std::string json_error(std::string_view code, std::string_view message);

} // namespace posd::ops
