# Read by ctest before it runs the tests of a sanitizer build (EXO_SANITIZE;
# TEST_INCLUDE_FILES in the top-level CMakeLists.txt): every test, and every
# binary a test starts, inherits these.
#
# A report must fail the test even where the test expects a failing exit
# status (exo-install's 1 for "not ready", the CLIs' 1 and 2), so each kind
# of report has an exit status of its own: 23 for AddressSanitizer and
# LeakSanitizer (leaks are checked at every exit), 24 for
# UndefinedBehaviorSanitizer (the build already stops at the first one:
# -fno-sanitize-recover=all). Options already set in the environment win.
if(NOT DEFINED ENV{ASAN_OPTIONS})
  set(ENV{ASAN_OPTIONS} "detect_leaks=1:exitcode=23:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1")
endif()
if(NOT DEFINED ENV{UBSAN_OPTIONS})
  set(ENV{UBSAN_OPTIONS} "halt_on_error=1:print_stacktrace=1:exitcode=24")
endif()
