# POSD_SANITIZE: the AddressSanitizer + UndefinedBehaviorSanitizer build
# (clang) of the libraries, their unit tests, the tests that need neither
# posd's service nor a broker, and the libFuzzer targets of tests/fuzz.
# Every object is also compiled with libFuzzer's coverage instrumentation
# (-fsanitize=fuzzer-no-link) so that one build serves both; only the fuzz
# targets link libFuzzer. Build type Debug with -O1: quick to compile,
# readable stacks. scripts/test.sh builds it in build-sanitize.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "POSD_SANITIZE needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
endif()
set(POSD_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
add_compile_options(${POSD_SANITIZE_FLAGS} -fsanitize=fuzzer-no-link -O1)
add_link_options(${POSD_SANITIZE_FLAGS})
