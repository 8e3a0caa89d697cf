#include "field_rules.h"

namespace posd::codec::field_rules {

model::reject make_reject(reason r, std::string_view field, std::string_view message) {
    return model::reject{r, std::string(field), std::string(message)};
}

model::reject reject_too_long(std::string_view field) {
    return model::reject{reason::field_too_long, std::string(field), std::string(field) + " too long"};
}

model::reject reject_missing(std::string_view field) {
    return model::reject{reason::missing_field, std::string(field), std::string(field) + " is missing"};
}

model::reject reject_separator(std::string_view field) {
    return model::reject{reason::bad_field, std::string(field), std::string(field) + " must not contain '|'"};
}

} // namespace posd::codec::field_rules
