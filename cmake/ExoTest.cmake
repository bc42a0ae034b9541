# One way to register tests with ctest.
#
# exo_add_unit_test(NAME <name> SOURCES <files...> LIBS <targets...>)
#   builds a cmocka test, registers it with label "unit", and, when valgrind is
#   installed and this is not a sanitizer build, registers <name>.valgrind too
#   (label "valgrind"): memcheck with leak checking, any error fails the test.
find_program(EXO_VALGRIND valgrind)

function(exo_add_unit_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS unit)
  if(EXO_VALGRIND AND NOT EXO_SANITIZE)
    add_test(NAME ${T_NAME}.valgrind
             COMMAND ${EXO_VALGRIND} --quiet --error-exitcode=99 --leak-check=full
                     --errors-for-leak-kinds=definite,indirect,possible
                     --show-leak-kinds=definite,indirect,possible $<TARGET_FILE:${T_NAME}>)
    set_tests_properties(${T_NAME}.valgrind PROPERTIES LABELS valgrind)
  endif()
endfunction()
