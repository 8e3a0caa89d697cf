#include "stream/recovery.h"

namespace posd::stream {

recovery_decision decide_recovery(const recovery_input& in) {
    const auto& local = in.local_next_offset;
    const auto& committed = in.committed_offset;
    if (!local && !committed) return {recovery_action::current, "new partition: no local state and no commit"};
    if (!local) return {recovery_action::restore, "no local state: restore from the changelog"};
    // The batch before the outbox's is the committed one (or, for the first
    // batch of a partition, there was none and nothing was committed).
    const bool outbox_follows_commit =
        in.outbox_start && (committed ? *in.outbox_start == *committed && in.outbox_previous_batch_id ==
                                                                               in.committed_batch_id
                                      : *in.outbox_start == 0 && in.outbox_previous_batch_id.empty());
    if (committed && *local == *committed && in.local_batch_id == in.committed_batch_id)
        return {recovery_action::current, "local state is the committed state"};
    // L == C too: a price re-valuation batch does not move the input offset.
    if ((!committed || *local >= *committed) && outbox_follows_commit)
        return {recovery_action::republish_outbox, "last batch written locally, its transaction never committed"};
    return {recovery_action::restore, "local state is not the committed state: restore from the changelog"};
}

std::string_view to_string(recovery_action a) {
    switch (a) {
    case recovery_action::current: return "current";
    case recovery_action::republish_outbox: return "republish_outbox";
    case recovery_action::restore: return "restore";
    }
    return "?";
}

} // namespace posd::stream
