// Fuzz target: the JSON decoders of the reference topics (bookkeeping rules,
// products, securities, prices, margin rules); every input goes through all
// five. Contract: never crashes; an entity or a reject with a known reason;
// an entity re-encoded as JSON decodes to an entity with the same JSON.

#include "codec/json_decode.h"
#include "codec/json_encode.h"
#include "contract.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace {

using posd::codec::json_decoder;

template <typename T>
void check_reference(json_decoder& decoder, std::variant<T, posd::model::reject> (json_decoder::*decode)(std::string_view),
                     std::string_view bytes) {
    auto decoded = (decoder.*decode)(bytes);
    if (auto* r = std::get_if<posd::model::reject>(&decoded)) return posd::fuzz::check_reject(*r);
    std::string json;
    posd::codec::encode_json(std::get<T>(decoded), json);
    auto again = (decoder.*decode)(json);
    if (auto* r = std::get_if<posd::model::reject>(&again))
        posd::fuzz::contract_broken("a reference entity's JSON is rejected", json + " -> " + r->message);
    std::string json_again;
    posd::codec::encode_json(std::get<T>(again), json_again);
    posd::fuzz::check(json_again == json, "a reference entity's JSON decodes to another entity", json);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static json_decoder decoder;
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    check_reference(decoder, &json_decoder::decode_bookkeeping_rule, bytes);
    check_reference(decoder, &json_decoder::decode_product, bytes);
    check_reference(decoder, &json_decoder::decode_security, bytes);
    check_reference(decoder, &json_decoder::decode_price, bytes);
    check_reference(decoder, &json_decoder::decode_margin_rule, bytes);
    return 0;
}
