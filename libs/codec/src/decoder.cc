#include "codec/decoder.h"

#include "base/limits.h"
#include "codec/protobuf.h"

namespace posd::codec {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// JSON parameters: none, or charset=utf-8 (quoted or not, any case).
bool json_parameters_ok(std::string_view params) {
    while (!params.empty()) {
        std::size_t semi = params.find(';');
        std::string_view param = trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
        if (param.empty()) continue;
        std::size_t eq = param.find('=');
        if (eq == std::string_view::npos) return false;
        std::string_view name = trim(param.substr(0, eq));
        std::string_view value = trim(param.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        if (!iequals(name, "charset") || !(iequals(value, "utf-8") || iequals(value, "utf8"))) return false;
    }
    return true;
}

} // namespace

content_type content_type_from_header(std::optional<std::string_view> header) {
    if (!header) return content_type::json;
    std::string_view value = trim(*header);
    if (value.empty()) return content_type::json;
    std::size_t semi = value.find(';');
    std::string_view media = trim(value.substr(0, semi));
    std::string_view params = semi == std::string_view::npos ? std::string_view{} : value.substr(semi + 1);
    if (iequals(media, "application/json") || iequals(media, "json"))
        return json_parameters_ok(params) ? content_type::json : content_type::unsupported;
    if (iequals(media, "application/x-protobuf") || iequals(media, "application/protobuf") ||
        iequals(media, "application/vnd.google.protobuf"))
        return content_type::protobuf;
    return content_type::unsupported;
}

model::decoded_record decoder::decode(std::string_view bytes, content_type type) {
    if (bytes.size() > limits::record_bytes_max)
        return model::reject{model::reason::record_too_large, {}, "record larger than the size limit"};
    switch (type) {
    case content_type::json: return json_.decode_activity(bytes);
    case content_type::protobuf: return decode_activity_protobuf(bytes);
    case content_type::unsupported: break;
    }
    return model::reject{model::reason::unsupported_content_type, {}, "content-type names no supported encoding"};
}

} // namespace posd::codec
