# The fault-scenario harness of issue 4 (harness.cc) and its CTests: each
# scenario starts its own real broker, so they run one at a time
# (RESOURCE_LOCK) and only where Java and Maven are (tests/broker).
posd_executable(eos_harness
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/harness.cc
  DEPS posd::service posd::posctl posd::workload posd::stream)
find_program(POSD_JAVA java)
find_program(POSD_MVN mvn)
if(POSD_BUILD_TESTS AND POSD_JAVA AND POSD_MVN AND TARGET eos_checker)
  foreach(scenario kill9 broker-restart churn zombie)
    add_test(NAME eos_${scenario}
      COMMAND eos_harness --scenario ${scenario}
              --posd $<TARGET_FILE:posd> --checker $<TARGET_FILE:eos_checker>
              --broker-script ${PROJECT_SOURCE_DIR}/scripts/kafka-broker.sh
              --work ${CMAKE_CURRENT_BINARY_DIR}/eos_${scenario})
    set_tests_properties(eos_${scenario} PROPERTIES
      TIMEOUT 1200 RESOURCE_LOCK real_kafka_broker LABELS eos)
  endforeach()
endif()
