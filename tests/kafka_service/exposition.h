#pragma once
// Reading a Prometheus text exposition (ops::service_metrics::serialize) in
// tests: the value of one sample, and the sum of a family's samples.

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace posd::test {

// "name{labels}" -> value, for every sample line of the exposition.
inline std::map<std::string, double, std::less<>> samples_of(const std::string& exposition) {
    std::map<std::string, double, std::less<>> out;
    std::istringstream in(exposition);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line.front() == '#') continue;
        const auto space = line.rfind(' ');
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

// Every sample of family `name` (labelled or not): labels -> value.
inline std::map<std::string, double> family_of(const std::map<std::string, double, std::less<>>& samples,
                                               std::string_view name) {
    std::map<std::string, double> out;
    for (const auto& [sample, value] : samples)
        if (sample == name || (sample.starts_with(name) && sample.size() > name.size() && sample[name.size()] == '{'))
            out[sample.substr(name.size())] = value;
    return out;
}

inline double sum_of(const std::map<std::string, double>& family) {
    double total = 0;
    for (const auto& [labels, value] : family) total += value;
    return total;
}

} // namespace posd::test
