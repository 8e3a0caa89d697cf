#pragma once
// named_type<T, Tag>: a distinct type over T so that values that must not be
// mixed (an account key and a position key, an offset and a count) cannot be
// passed for one another by accident.

#include <compare>
#include <functional>
#include <utility>

namespace posd {

template <typename T, typename Tag>
class named_type {
public:
    using value_type = T;
    named_type() = default;
    explicit named_type(T v) : value_(std::move(v)) {}
    const T& value() const& { return value_; }
    T& value() & { return value_; }
    T&& value() && { return std::move(value_); }
    friend bool operator==(const named_type&, const named_type&) = default;
    friend auto operator<=>(const named_type&, const named_type&) = default;

private:
    T value_{};
};

} // namespace posd

template <typename T, typename Tag>
struct std::hash<posd::named_type<T, Tag>> {
    std::size_t operator()(const posd::named_type<T, Tag>& v) const noexcept {
        return std::hash<T>{}(v.value());
    }
};
