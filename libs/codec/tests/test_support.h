#pragma once
// What codec's test files share: Catch2 prints decimals as their exact text,
// and the names every file uses unqualified.

#include "base/decimal.h"
#include "model/reason.h"

#include <catch2/catch.hpp>

#include <string>

namespace Catch {
template <>
struct StringMaker<posd::decimal> {
    static std::string convert(const posd::decimal& d) { return d.to_string(); }
};
} // namespace Catch

namespace {

using posd::decimal;
using posd::model::reason;

} // namespace
