// Fuzz target: the JSON decoder of the `activity` topic (codec::decoder with
// no content-type). Contract: never crashes; a record or a reject with a
// known reason; a decoded record re-encoded as JSON decodes to the same
// record, and so does its protobuf encoding (the two codecs agree).

#include "activity_round_trip.h"
#include "codec/decoder.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static posd::codec::decoder decoder;
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    posd::fuzz::check_activity_contract(decoder, decoder.decode(bytes, posd::codec::content_type::json));
    return 0;
}
