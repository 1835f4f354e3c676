#!/usr/bin/env bash
# Builds everything with AddressSanitizer and UndefinedBehaviorSanitizer in its own folder
# (build-sanitize/) and runs the whole CTest suite under them. Any report fails the test it came
# from (the runtime stops the process at the first finding). Findings inside dependencies are
# suppressed by name in scripts/sanitize/*.supp (see the README).
#   scripts/sanitize.sh [CTEST ARGS...]     e.g. scripts/sanitize.sh -R tst_train_page
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

./scripts/install-deps.sh
# RelWithDebInfo: the reports name files and lines.
HY3_BUILD_DIR=build-sanitize \
  HY3_CMAKE_ARGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHY3_SANITIZE=address,undefined ${HY3_CMAKE_ARGS:-}" \
  ./scripts/build.sh

# The hy3 processes the tests start inherit these, so they run under the sanitizers too.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:strict_string_checks=1:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$root/scripts/sanitize/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/scripts/sanitize/ubsan.supp"
# Qt Test ends a test function after 5 minutes; sanitized runs are several times slower.
export QTEST_FUNCTION_TIMEOUT=1800000
cd build-sanitize
exec ctest --output-on-failure -j "${HY3_TEST_JOBS:-2}" "$@"
