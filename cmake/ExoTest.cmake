# One way to register tests with ctest.
#
# exo_add_unit_test(NAME <name> SOURCES <files...> LIBS <targets...> [PG | PG_TLS])
#   builds a cmocka test, registers it with label "unit", and, when valgrind is
#   installed and this is not a sanitizer build, registers <name>.valgrind too
#   (label "valgrind"): memcheck with leak checking, any error fails the test.
#   PG: the test needs a real PostgreSQL 16; it runs inside
#   backend/tests/integration/with_pg.py, which starts one and sets
#   EXO_TEST_DSN (label "pg" as well). PG_TLS: the same with the server
#   offering TLS (with_pg.py --tls: EXO_TEST_TLS_DSN, EXO_TEST_CA,
#   EXO_TEST_OTHER_CA).
find_program(EXO_VALGRIND valgrind)
find_program(EXO_PYTHON python3 REQUIRED)
# The memory checker's command line, for the .valgrind tests here and for the
# tests that run the binaries under it (cli_exo.valgrind, e2e_memcheck.valgrind):
# every error and every definite, indirect or possible leak exits 99.
set(EXO_MEMCHECK ${EXO_VALGRIND} --quiet --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect,possible
    --show-leak-kinds=definite,indirect,possible)

function(exo_add_unit_test)
  cmake_parse_arguments(T "PG;PG_TLS" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  set(prefix "")
  set(labels unit)
  if(T_PG)
    set(prefix ${EXO_PYTHON} ${PROJECT_SOURCE_DIR}/backend/tests/integration/with_pg.py)
    list(APPEND labels pg)
  elseif(T_PG_TLS)
    set(prefix ${EXO_PYTHON} ${PROJECT_SOURCE_DIR}/backend/tests/integration/with_pg.py --tls)
    list(APPEND labels pg)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${prefix} $<TARGET_FILE:${T_NAME}>)
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${labels}")
  if(EXO_VALGRIND AND NOT EXO_SANITIZE)
    add_test(NAME ${T_NAME}.valgrind
             COMMAND ${prefix} ${EXO_MEMCHECK} $<TARGET_FILE:${T_NAME}>)
    set_tests_properties(${T_NAME}.valgrind PROPERTIES LABELS valgrind)
  endif()
endfunction()
