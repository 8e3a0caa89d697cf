#include "model/events.h"

#include <array>
#include <utility>

namespace posd::model {
namespace {

constexpr std::array<std::pair<cause_kind, std::string_view>, 5> cause_names{{
    {cause_kind::none, "none"},
    {cause_kind::activity, "activity"},
    {cause_kind::settlement, "settlement"},
    {cause_kind::revaluation, "revaluation"},
    {cause_kind::end_of_day, "end_of_day"},
}};

} // namespace

std::string_view to_string(cause_kind kind) {
    for (const auto& [k, name] : cause_names)
        if (k == kind) return name;
    return "unknown";
}

std::optional<cause_kind> cause_kind_from(std::string_view name) {
    for (const auto& [k, n] : cause_names)
        if (n == name) return k;
    return std::nullopt;
}

} // namespace posd::model
