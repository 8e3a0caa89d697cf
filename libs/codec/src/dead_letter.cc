#include "codec/dead_letter.h"

#include "base/vassert.h"
#include "codec/json_encode.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace posd::codec {

namespace {

std::string prefix(std::string_view bytes, std::size_t max) { return std::string(bytes.substr(0, max)); }

// Keeps `bytes` whole when it fits, else its prefix and headers naming the
// original size and hash.
std::string bounded(std::string_view bytes, std::size_t max, std::string_view what,
                    std::vector<std::pair<std::string, std::string>>& headers) {
    if (bytes.size() <= max) return std::string(bytes);
    headers.emplace_back(fmt::format("original.{}.bytes", what), std::to_string(bytes.size()));
    headers.emplace_back(fmt::format("original.{}.sha256", what), sha256_hex(bytes));
    return prefix(bytes, max);
}

} // namespace

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed (OpenSSL EVP_Digest)");
    std::string hex;
    hex.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) fmt::format_to(std::back_inserter(hex), "{:02x}", digest[i]);
    return hex;
}

dead_letter_message encode_dead_letter(const model::dead_letter& letter, std::string_view source_topic,
                                       std::optional<std::string_view> content_type) {
    dead_letter_message m;
    m.headers = dead_letter_headers(letter, source_topic);
    if (content_type) m.headers.emplace_back("content-type", std::string(*content_type));
    for (auto& [name, value] : m.headers)
        if (value.size() > dead_letter_header_bytes_max) value.resize(dead_letter_header_bytes_max);
    m.value = bounded(letter.value, dead_letter_value_bytes_max, "value", m.headers);
    m.key = bounded(letter.key, dead_letter_key_bytes_max, "key", m.headers);
    vassert(m.headers.size() <= dead_letter_headers_max, "a dead letter with {} headers", m.headers.size());
    return m;
}

} // namespace posd::codec
