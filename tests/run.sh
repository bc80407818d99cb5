#!/usr/bin/env bash
# run.sh BUILD_DIR... - run every test suite against each build directory.
#
# Suites are programs that print one line per test case:
#   PASS name | FAIL name: why | SKIP name: why   (INFO text: shown as is)
# C suites are BUILD_DIR/tests/test_* and BUILD_DIR/darwin-sim/tests/test_*
# (the simulated Darwin layer's own tests); CLI suites are
# tests/cli/test_*.py, run with COWCOPY=BUILD_DIR/cowcopy; Python suites are
# python/tests/test_*.py, run once with build/python-venv/bin/python, and once
# more on the Darwin backend (build/python-darwin) when build/darwin is
# tested. On a macOS host only the test_portable.py suites run. A suite that
# exits non-zero without reporting a failure (a crash, a sanitizer report)
# counts as one failure. Scratch filesystems are made once and removed on
# exit, even on failure or interrupt. Under CI=true every SKIP counts as a
# failure: CI must run all. The C suites also run under valgrind. Ends with
# "N passed, N failed" and exits 1 on any failure.
set -u
cd "$(dirname "$0")/.." || exit 1
top=$PWD
. tests/lib/scratch.sh

trap 'scratch_teardown' EXIT
trap 'scratch_teardown; exit 130' INT TERM HUP

scratch_setup || { echo "could not set up scratch filesystems"; exit 1; }

passed=0 failed=0 skipped=0
log=$(mktemp /tmp/cowcopy-test-log.XXXXXX)
failures=()

# run_suite LABEL COMMAND... : run one suite, tally its lines.
run_suite() {
    local label=$1
    shift
    local out rc line
    out=$("$@" 2>"$log.err")
    rc=$?
    local suite_failed=0
    while IFS= read -r line; do
        case $line in
        PASS\ *) passed=$((passed + 1)) ;;
        FAIL\ *)
            failed=$((failed + 1)) suite_failed=1
            failures+=("$label: ${line#FAIL }")
            echo "FAIL $label: ${line#FAIL }"
            ;;
        INFO\ *) echo "     $label: ${line#INFO }" ;;
        SKIP\ *)
            if [[ ${CI:-} == true ]]; then
                failed=$((failed + 1)) suite_failed=1
                failures+=("$label: skipped under CI: ${line#SKIP }")
                echo "FAIL $label: skipped under CI: ${line#SKIP }"
            else
                skipped=$((skipped + 1))
                echo "SKIP $label: ${line#SKIP }"
            fi
            ;;
        esac
    done <<<"$out"
    if [[ $rc -ne 0 && $suite_failed -eq 0 ]]; then
        failed=$((failed + 1))
        failures+=("$label: exited with status $rc without reporting a failure")
        echo "FAIL $label: exited with status $rc"
    fi
    if [[ $rc -ne 0 || $suite_failed -ne 0 ]]; then
        echo "---- $label stderr (last 40 lines):"
        tail -40 "$log.err"
        echo "----"
    fi
    echo "     $label done"
}

# A macOS host runs the portable suites only (test_portable.py: the standard
# library and the host's own extent map); the others use Linux tools and run
# on Linux, where the Darwin backend is tested on the simulated layer.
host_darwin=""
[[ $(uname -s) == Darwin ]] && host_darwin=1
suites=test_*
[[ -n $host_darwin ]] && suites=test_portable
cli_python=/usr/bin/python3
[[ -n $host_darwin ]] && cli_python=python3

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
for build in "$@"; do
    variant=$(basename "$build")
    # build/darwin: the library with the Darwin backend on the simulated
    # layer. The suites adapt to it (COWCOPY_TEST_BACKEND); the layer's own
    # suite has run with the Linux variants already.
    backend=linux
    [[ $variant == darwin ]] && backend=darwin
    export COWCOPY_TEST_BACKEND=$backend
    for t in "$build"/tests/test_* "$build"/darwin-sim/tests/test_*; do
        [[ -x $t ]] || continue
        [[ $backend == darwin && $t == */darwin-sim/* ]] && continue
        run_suite "$variant/$(basename "$t")" "$t"
    done
    for t in tests/cli/$suites.py; do
        [[ -f $t ]] || continue
        # The install test installs the release build; treecompare tests cp itself.
        [[ $backend == darwin && ($t == */test_install.py || $t == */test_treecompare.py) ]] && continue
        COWCOPY=$top/$build/cowcopy run_suite "$variant/$(basename "$t")" "$cli_python" "$t"
    done
done
# run_python_suites PREFIX : the Python package's suites (python/tests/test_*.py)
# with the venv that `make python` builds (COWCOPY_PYTHON names another
# interpreter), labelled PREFIX/suite.
python=${COWCOPY_PYTHON:-$top/build/python-venv/bin/python}
run_python_suites() {
    local t
    for t in python/tests/$suites.py; do
        [[ -f $t ]] || continue
        if [[ -x $python ]]; then
            run_suite "$1/$(basename "$t")" "$python" "$t"
        else
            echo "SKIP $(basename "$t"): no $python (make python builds it)" |
                run_suite "$1/$(basename "$t")" cat
        fi
    done
}
export COWCOPY_TEST_BACKEND=linux
run_python_suites python
# The package on the Darwin backend (make python-darwin), when build/darwin
# was among the builds tested.
for build in "$@"; do
    [[ $(basename "$build") == darwin ]] || continue
    if [[ -f $top/build/python-darwin/.installed ]]; then
        COWCOPY_TEST_BACKEND=darwin PYTHONPATH=$top/build/python-darwin run_python_suites python-darwin
    else
        echo "SKIP python-darwin: no build/python-darwin (make python-darwin builds it)" |
            run_suite python-darwin cat
    fi
done
# The C suites once more under valgrind (memcheck finds uninitialised reads,
# which ASan does not), on the first build: it has no sanitizer runtime.
if [[ -n $host_darwin ]]; then
    : # no C suites on a macOS host
elif command -v valgrind >/dev/null 2>&1; then
    for t in "$1"/tests/test_* "$1"/darwin-sim/tests/test_*; do
        [[ -x $t ]] || continue
        run_suite "valgrind/$(basename "$t")" valgrind -q --error-exitcode=99 \
            --leak-check=full --errors-for-leak-kinds=definite "$t"
    done
else
    echo "SKIP valgrind: not installed" | run_suite valgrind cat
fi
rm -f "$log" "$log.err"

echo
if [[ ${#failures[@]} -gt 0 ]]; then
    echo "Failures:"
    printf '  %s\n' "${failures[@]}"
fi
[[ $skipped -gt 0 ]] && echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
