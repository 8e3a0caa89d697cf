# The one place that says how posd builds a library, a binary or a test.
# Every module's CMakeLists.txt is a few calls of these functions, so flags,
# warnings and aliases are the same everywhere.

set(POSD_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough)
# GCC 12 at -O3 reports std::string code inside libstdc++ as overlapping
# memcpy or as reading uninitialised bytes (false positives, GCC bugs 105329
# and 105562); without this a Release tree does not build under -Werror.
# The other build types keep both warnings.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND POSD_WARNINGS $<$<CONFIG:Release>:-Wno-restrict$<SEMICOLON>-Wno-maybe-uninitialized>)
endif()

# simdjson's on-demand parser falls back to its slow kernel unless the
# translation unit may use AVX2/PCLMUL; posd targets x86-64-v3 machines.
set(POSD_ARCH_FLAGS -march=haswell)

function(posd_apply_flags target)
  target_compile_options(${target} PRIVATE ${POSD_WARNINGS} ${POSD_ARCH_FLAGS})
  if(POSD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# posd_library(<name> SOURCES ... DEPS ... [PUBLIC_DEPS ...])
# Creates posd_<name> with alias posd::<name>; headers live in include/<name>/.
function(posd_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target posd_${name})
  add_library(${target} STATIC ${ARG_SOURCES})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
  posd_apply_flags(${target})
  add_library(posd::${name} ALIAS ${target})
endfunction()

# posd_executable(<name> SOURCES ... DEPS ...)
function(posd_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  posd_apply_flags(${name})
endfunction()

# posd_test(<name> SOURCES ... DEPS ...): a Catch2 v2 test binary whose
# test cases are registered with CTest one by one.
function(posd_test name)
  if(NOT POSD_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} Catch2::Catch2WithMain)
  posd_apply_flags(${name})
  catch_discover_tests(${name} TEST_PREFIX "${name}:" PROPERTIES TIMEOUT 600)
endfunction()

# posd_module(<name> [DEPS ...] [PUBLIC_DEPS ...] [TEST_DEPS ...])
# The convention for libs/<name>: every src/*.cc is part of posd::<name>,
# headers are under include/<name>/, and every tests/*_test.cc is part of
# one Catch2 binary <name>_tests.
function(posd_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;PUBLIC_DEPS;TEST_DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cc)
  posd_library(${name} SOURCES ${srcs} DEPS ${ARG_DEPS} PUBLIC_DEPS ${ARG_PUBLIC_DEPS})
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/*_test.cc)
  if(tests)
    posd_test(${name}_tests SOURCES ${tests} DEPS posd::${name} ${ARG_TEST_DEPS})
  endif()
endfunction()

# Adds every immediate subdirectory of the current one that has a CMakeLists.txt.
function(posd_add_subdirectories)
  file(GLOB children LIST_DIRECTORIES true CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*)
  foreach(child ${children})
    if(IS_DIRECTORY ${child} AND EXISTS ${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()
