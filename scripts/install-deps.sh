#!/usr/bin/env bash
# Installs everything posd needs to build, test and run on Debian 12.
# Idempotent: a second run installs nothing new.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libfmt-dev libsimdjson-dev protobuf-compiler libprotobuf-dev
  libboost-dev libboost-program-options-dev
  catch2
  librdkafka-dev librocksdb-dev prometheus-cpp-dev kcat
  libspdlog-dev libssl-dev
  # promtool and a Prometheus server for the metrics tests (tests/metrics)
  prometheus curl python3
  # the sanitizer build and libFuzzer targets (tests/fuzz): clang 14 and its
  # runtimes (libclang_rt.fuzzer, asan, ubsan)
  clang libclang-rt-14-dev
  # the real Apache Kafka broker of the tests (tests/broker), fetched by Maven
  openjdk-17-jre-headless maven
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
