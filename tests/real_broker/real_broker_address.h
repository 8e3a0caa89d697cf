#pragma once
// The real broker's address for the tests of this directory.

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

// The broker's address: $POSD_REAL_BROKER_BOOTSTRAP_FILE names the file the
// harness writes (to run these tests against a broker started by hand), else
// the fixture's file under the build tree.
inline const std::string& bootstrap_servers() {
    static const std::string servers = [] {
        const char* env = std::getenv("POSD_REAL_BROKER_BOOTSTRAP_FILE");
        const std::string path = env && *env ? env : POSD_REAL_BROKER_BOOTSTRAP_FILE;
        std::ifstream in(path);
        std::string s;
        in >> s;
        if (s.empty())
            throw std::runtime_error("no broker address in " + path +
                                     " (start one: scripts/kafka-broker.sh start DIR)");
        return s;
    }();
    return servers;
}
