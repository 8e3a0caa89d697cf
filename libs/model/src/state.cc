#include "model/state.h"

namespace posd::model {
std::string_view to_string(margin_call_state s) {
    switch (s) {
    case margin_call_state::none: return "NONE";
    case margin_call_state::house: return "HOUSE";
    case margin_call_state::exchange: return "EXCHANGE";
    }
    return "UNKNOWN";
}
} // namespace posd::model
