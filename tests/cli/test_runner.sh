# The runner itself must be able to go red: tests/run is copied into a
# scratch tree whose "build" holds programs that fail in each way it has to
# catch (a failed check, a crash, silence, a sanitizer report), and each
# run must end non-zero with the right closing line.
. "$SF_ROOT/tests/lib.sh"

tree=$SF_TMP/tree
mkdir -p "$tree/tests/cli" "$tree/b/tests"
cp "$SF_ROOT/tests/run" "$tree/tests/run"
: >"$tree/tests/lsan.supp"
printf '#!/bin/sh\nexit 0\n' >"$tree/b/streamflow"
chmod +x "$tree/b/streamflow"

# prog NAME BODY: a test program of the scratch build.
prog() {
  printf '#!/bin/sh\n%s\n' "$2" >"$tree/b/tests/$1"
  chmod +x "$tree/b/tests/$1"
}

# runner_with NAME BODY: runs the scratch runner with only that program.
runner_with() {
  rm -f "$tree/b/tests/"test_*
  prog "$1" "$2"
  run bash "$tree/tests/run" --build b
}

runner_with test_green 'echo "ok - one"; echo "ok - two"; echo "skip - three: not here"'
check "all green: exit 0" [ "$rc" -eq 0 ]
check_grep "all green: closing line" '^2 passed, 0 failed, 1 skipped$' "$out"
check "all green: the closing line is the last" [ "$(tail -n 1 <<<"$out")" = "2 passed, 0 failed, 1 skipped" ]
check_grep "a skip prints why" 'skip - three: not here' "$out"

runner_with test_red 'echo "ok - one"; echo "not ok - deliberately failing"; exit 1'
check "a failing check turns the run red" [ "$rc" -ne 0 ]
check_grep "red: closing line" '^1 passed, 1 failed, 0 skipped$' "$out"
check_grep "red: the failure is named" '\[b\] test_red' "$out"

runner_with test_crash 'echo "ok - one"; kill -SEGV $$'
check "a crash after passing checks turns the run red" [ "$rc" -ne 0 ]
check_grep "crash: counted as a failure" '^1 passed, 1 failed, 0 skipped$' "$out"

runner_with test_silent 'exit 0'
check "a program that runs no test turns the run red" [ "$rc" -ne 0 ]
check_grep "silent: says so" 'ran no test' "$out"

runner_with test_ubsan 'echo "ok - one"; echo "x.c:1:2: runtime error: signed integer overflow" >&2'
check "a sanitizer report turns the run red" [ "$rc" -ne 0 ]
check_grep "sanitizer: says so" 'sanitizer report' "$out"

runner_with test_tsan 'echo "ok - one"; echo "WARNING: ThreadSanitizer: data race (pid=1)" >&2'
check "a ThreadSanitizer report turns the run red" [ "$rc" -ne 0 ]
check_grep "ThreadSanitizer: says so" 'test_tsan .*sanitizer report' "$out"

# DIR:GLOB,GLOB runs only the programs of that build matching a glob.
rm -f "$tree/b/tests/"test_*
prog test_alpha 'echo "ok - alpha"'
prog test_beta 'echo "ok - beta"'
prog test_gamma 'echo "not ok - gamma"; exit 1'
run bash "$tree/tests/run" --build b:test_alpha,test_b*
check "a build's globs select its programs" [ "$rc" -eq 0 ]
check_grep "... alpha and beta ran" '^2 passed, 0 failed, 0 skipped$' "$out"
check_nogrep "... gamma did not" 'test_gamma' "$out"

# A failure early in a long output: the runner shows the tail, and the first
# error too, which is usually the cause.
runner_with test_early 'echo "ok - one"; echo "not ok - the first failure"; echo "#   why: the cause"
i=0; while [ $i -lt 200 ]; do echo "ok - later $i"; i=$((i + 1)); done; exit 1'
check "early failure: the run is red" [ "$rc" -ne 0 ]
check_grep "early failure: its not-ok line is shown" 'not ok - the first failure' "$out"
check_grep "early failure: and the lines after it" 'why: the cause' "$out"
check_grep "early failure: and the tail" 'ok - later 199' "$out"

runner_with test_early_crash 'echo "ok - one"; echo "storage: error: cannot open /nonexistent" >&2
i=0; while [ $i -lt 200 ]; do echo "noise $i"; i=$((i + 1)); done; exit 3'
check "early error then a crash: red" [ "$rc" -ne 0 ]
check_grep "early error then a crash: the first error line is shown" 'error: cannot open /nonexistent' "$out"

done_testing
