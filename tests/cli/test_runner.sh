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
run bash "$tree/tests/run" --build 'b:!test_g*'
check "a build's !globs leave programs out" [ "$rc" -eq 0 ]
check_grep "... alpha and beta ran" '^2 passed, 0 failed, 0 skipped$' "$out"
check_nogrep "... gamma did not" 'test_gamma' "$out"
run bash "$tree/tests/run" --build 'b:test_a*,test_b*,!test_a*'
check "globs and !globs together" [ "$rc" -eq 0 ]
check_grep "... beta alone ran" '^1 passed, 0 failed, 0 skipped$' "$out"

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

# -j 2: two programs run at once (each waits to see the other's mark), their
# output stays in one piece each, and the counts add up exactly.
rm -f "$tree/b/tests/"test_*
marks=$SF_TMP/marks
mkdir -p "$marks"
# side NAME OTHER: marks itself, waits up to 20 s for OTHER's mark.
side() {
  prog "$1" "touch $marks/$1; echo \"ok - $1 first\"
i=0; while [ ! -e $marks/$2 ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done
[ -e $marks/$2 ] && echo \"ok - $1 saw $2 running\" || echo \"not ok - $1 ran alone\"
echo \"ok - $1 last\""
}
side test_left test_right
side test_right test_left
run bash "$tree/tests/run" --build b -j 2 -v
check "-j 2: the two programs ran side by side" [ "$rc" -eq 0 ]
check_grep "-j 2: exact closing line" '^6 passed, 0 failed, 0 skipped$' "$out"
# (the log lines, in order, name 2 programs in 2 runs: left x3 then right x3, or the reverse)
pieces=$(grep '^    | ok - test_' <<<"$out" | awk '{ print $4 }' | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
check "-j 2: each program's output is in one piece ($pieces)" \
  grep -Eqx 'test_left:3 test_right:3 |test_right:3 test_left:3 ' <<<"$pieces"

# A program marked "tests/run: alone" runs with nothing beside it: here it
# fails if it sees another program's mark, and those wait for it to have
# ended before they end.
rm -f "$tree/b/tests/"test_* "$marks"/*
mkdir -p "$tree/tests/unit"
printf '/* tests/run: alone */\n' >"$tree/tests/unit/test_solo.c"
prog test_solo "touch $marks/test_solo; sleep 1
if [ -n \"\$(ls $marks | grep -v test_solo)\" ]; then echo \"not ok - solo had company\"; else echo \"ok - solo alone\"; fi
rm -f $marks/test_solo"
for n in one two three; do
  prog "test_$n" "touch $marks/test_$n; sleep 1; [ -e $marks/test_solo ] && echo \"not ok - $n beside solo\" || echo \"ok - $n\"; rm -f $marks/test_$n"
done
run bash "$tree/tests/run" --build b -j 4
check "alone: exit 0" [ "$rc" -eq 0 ]
check_grep "alone: exact closing line" '^4 passed, 0 failed, 0 skipped$' "$out"
rm -f "$tree/tests/unit/test_solo.c"

# A failure under -j: counted once, named, and the run is red.
rm -f "$tree/b/tests/"test_*
prog test_fine 'sleep 0.5; echo "ok - fine"'
prog test_bad 'echo "ok - one"; echo "not ok - bad"; exit 1'
prog test_dead 'echo "ok - one"; kill -SEGV $$'
run bash "$tree/tests/run" --build b -j 3
check "-j 3 with failures: red" [ "$rc" -ne 0 ]
check_grep "-j 3 with failures: exact closing line" '^3 passed, 2 failed, 0 skipped$' "$out"
check_grep "-j 3 with failures: both named" '\[b\] test_bad' "$out"
check_grep "-j 3 with failures: the crash named" '\[b\] test_dead: exited with status' "$out"

# The run ends with a short recap of each failed program, so that a log
# cut to its last lines (as CI shows it) still names the failed checks:
# here they are 100 lines above the program's end and 200 above the run's
# (a C test prints its failed checks above its "not ok" line, a script
# below it).
rm -f "$tree/b/tests/"test_*
prog test_fine 'echo "ok - fine"'
prog test_late 'echo "ok - one"; i=0; while [ $i -lt 100 ]; do echo "noise $i"; i=$((i + 1)); done
echo "#   x.c:12: CHECK(got == 3) failed: got = 2"; echo "not ok - test_two"
i=0; while [ $i -lt 100 ]; do echo "ok - later $i"; i=$((i + 1)); done; exit 1'
prog test_sh 'echo "ok - one"; echo "not ok - the script check"; echo "#   exit: 3"
i=0; while [ $i -lt 100 ]; do echo "ok - later $i"; i=$((i + 1)); done; exit 1'
prog test_race 'echo "ok - one"; echo "WARNING: ThreadSanitizer: data race (pid=1)" >&2
i=0; while [ $i -lt 100 ]; do echo "noise $i"; i=$((i + 1)); done'
run bash "$tree/tests/run" --build b -j 3
last=$(tail -n 80 <<<"$out")
recap=$(sed -n '/^what the failed programs printed last:$/,$p' <<<"$out")
check "recap: red" [ "$rc" -ne 0 ]
check_grep "recap: the failed check is in the last 80 lines" 'CHECK\(got == 3\) failed: got = 2' "$last"
check_grep "recap: with its not ok line" '^    \| not ok - test_two$' "$last"
check_grep "recap: named by program" '^\[b\] test_late: the end of its output' "$last"
check_grep "recap: a script's check with the line below it" 'not ok - the script check.    \| #   exit: 3' "$(tr '\n' . <<<"$last")"
check_grep "recap: a sanitizer report's first line" 'WARNING: ThreadSanitizer: data race' "$last"
check_nogrep "recap: not a passing program" 'test_fine: the end' "$recap"
check "recap: short ($(wc -l <<<"$recap") lines for 3 programs)" [ "$(wc -l <<<"$recap")" -le 80 ]
check "recap: the failed list and the closing line follow it" \
  [ "$(grep -A 4 '^failed:$' <<<"$recap" | tail -n 1)" = "204 passed, 3 failed, 0 skipped" ]
runner_with test_green2 'echo "ok - one"'
check_nogrep "no recap when all pass" 'what the failed programs' "$out"

run bash "$tree/tests/run" --build b -j 0
check "-j 0 is a usage error" [ "$rc" -eq 2 ]

done_testing
