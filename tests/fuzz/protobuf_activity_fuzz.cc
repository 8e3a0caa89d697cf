// Fuzz target: the protobuf decoder of the `activity` topic (codec::decoder
// with a protobuf content-type). Contract: as the JSON target's — a record
// or a reject with a known reason, and a decoded record round-trips through
// both encodings.

#include "activity_round_trip.h"
#include "codec/decoder.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static posd::codec::decoder decoder;
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    posd::fuzz::check_activity_contract(decoder, decoder.decode(bytes, posd::codec::content_type::protobuf));
    return 0;
}
