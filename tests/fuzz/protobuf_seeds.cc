// Writes seeds for the protobuf fuzz target: each line of standard input is
// a JSON `activity` record (data/sample/activity.jsonl's form); each that
// decodes is written in protobuf as OUT_DIR/PREFIX<line number>.pb.
//   build/tests/fuzz/fuzz_protobuf_seeds tests/fuzz/corpus/protobuf_activity sample_ < data/sample/activity.jsonl

#include "codec/decoder.h"
#include "codec/protobuf.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <variant>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s OUT_DIR PREFIX < records.jsonl\n", argv[0]);
        return 2;
    }
    posd::codec::decoder decoder;
    std::string line;
    int written = 0;
    for (int number = 1; std::getline(std::cin, line); ++number) {
        auto decoded = decoder.decode(line, posd::codec::content_type::json);
        std::string bytes;
        if (auto* a = std::get_if<posd::model::activity_record>(&decoded)) bytes = posd::codec::encode_activity_protobuf(*a);
        if (auto* c = std::get_if<posd::model::control_record>(&decoded)) bytes = posd::codec::encode_control_protobuf(*c);
        if (bytes.empty()) continue;
        std::ofstream out(std::string(argv[1]) + "/" + argv[2] + std::to_string(number) + ".pb", std::ios::binary);
        out << bytes;
        if (!out) {
            std::fprintf(stderr, "cannot write into %s\n", argv[1]);
            return 1;
        }
        ++written;
    }
    std::printf("%d seeds written\n", written);
    return 0;
}
