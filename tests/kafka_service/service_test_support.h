#pragma once
// Helpers shared by the service tests (tests/kafka_service, and the
// real-broker query test): a temporary directory, the sample's accounts.

#include "codec/decoder.h"

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace posd::test_support {

// A fresh directory under the system's temporary one, removed with everything in it.
struct temp_dir {
    std::filesystem::path path;
    explicit temp_dir(const std::string& stem = "posd-test") {
        std::string tmpl = (std::filesystem::temp_directory_path() / (stem + "-XXXXXX")).string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

// Every account key of a JSON-lines activity file.
inline std::set<std::string> accounts_of(const std::string& activity_file) {
    std::set<std::string> out;
    codec::decoder decoder;
    std::ifstream in(activity_file);
    std::string line;
    while (std::getline(in, line)) {
        const model::decoded_record d = decoder.decode(line, codec::content_type::json);
        if (const auto* a = std::get_if<model::activity_record>(&d)) out.insert(a->account().value());
    }
    return out;
}

} // namespace posd::test_support
