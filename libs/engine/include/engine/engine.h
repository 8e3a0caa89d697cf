#pragma once
// partition_engine: the pure position-keeping core (SPEC §6). It applies a
// batch of one partition's decoded input records, in offset order, to the
// state a state_reader shows, and returns the write_set: new state, output
// events, rejects and counts. It does no I/O and reads no clock: time comes
// in as an argument.
//
// One instance per partition thread; not thread-safe. Reference data and
// configuration are borrowed and must outlive the engine.

#include "engine/config.h"
#include "engine/reference_data.h"
#include "engine/state.h"
#include "model/records.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace posd::engine {

struct input_record {
    std::int64_t offset = 0;
    std::string_view key;       // message key bytes
    std::string_view value;     // original record bytes (kept on the dead-letter topic)
    model::decoded_record decoded;
};

class partition_engine {
public:
    partition_engine(std::int32_t partition, const engine_config& config, const reference_data& refdata);

    // Applies records (ascending offsets) and returns their whole effect.
    write_set apply(state_reader& state, std::span<const input_record> records, timestamp now);

    // Re-values every position of the partition in `cusip` after a price or
    // security change, emitting market-value (and position/margin where the
    // valuation changed the requirement) events.
    write_set revalue(state_reader& state, std::string_view cusip, timestamp now);
    // The same for several cusips in one write set (one batch).
    write_set revalue(state_reader& state, std::span<const std::string> cusips, timestamp now);

    std::int32_t partition() const { return partition_; }

private:
    std::int32_t partition_;
    const engine_config& config_;
    const reference_data& refdata_;
};

} // namespace posd::engine
