# Helpers for tests/cli/*.sh. tests/run sets SF (the binary), SF_BUILD,
# SF_ROOT, SF_TMP (a fresh directory removed afterwards), SF_SANITIZED (1 on
# a sanitizer build) and SF_SANITIZER ("address,undefined", "thread" or empty).
#
#   . "$SF_ROOT/tests/lib.sh"
#   run "$SF" train --epochs 1          # sets $out, $err, $rc
#   check "train exits 0" [ "$rc" -eq 0 ]
#   check_grep "names the file" "KDDTrain" "$err"
#   done_testing
set -u
: "${SF:?run this through tests/run}"
: "${SF_TMP:=$(mktemp -d)}"
out="" err="" rc=0 ms=0
# SCORE_THREADS=N in the environment (or set by a script before it sources
# this file): the scoring tests run every `streamflow score` with
# --threads N. score_threads holds those words (unquoted where used).
score_threads=${SCORE_THREADS:+--threads $SCORE_THREADS}
_sf_failed=0 _sf_count=0

# run CMD...: runs it with no stdin, capturing stdout, stderr and the exit
# code. Under the sanitizer build (exit code 99 or a report on stderr) it
# records a failure of its own, so no test can swallow a sanitizer report.
run() {
  "$@" </dev/null >"$SF_TMP/.out" 2>"$SF_TMP/.err"
  rc=$?
  out=$(cat "$SF_TMP/.out")
  err=$(cat "$SF_TMP/.err")
  sanitizer_check "$*" "$rc" "$err"
  return 0
}

# run_within MS CMD...: run CMD (as run does) and set $ms to its wall time
# in milliseconds. A run that took MS or more is run once more, and the
# second run counts: on a busy machine (other tests, other users) a single
# slow run says more about the machine than about the program, while a
# program that is really slow or hangs is slow both times.
run_within() {
  local limit=$1 t0; shift
  t0=${EPOCHREALTIME/./}
  run "$@"
  ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
  if [ "$ms" -ge "$limit" ]; then
    echo "# $* took $ms ms (limit $limit): once more"
    t0=${EPOCHREALTIME/./}
    run "$@"
    ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
  fi
  return 0
}

# sanitizer_check WHAT RC STDERR_TEXT: a failure if a sanitizer spoke.
sanitizer_check() {
  if [ "$2" -eq 99 ] || grep -Eq 'runtime error:|ERROR: (Address|Leak)Sanitizer|(WARNING|ERROR|FATAL): ThreadSanitizer' <<<"$3"; then
    _sf_count=$((_sf_count + 1)); _sf_failed=$((_sf_failed + 1))
    echo "not ok - sanitizer report from: $1"
    head -n 30 <<<"$3" | sed 's/^/#   /'
  fi
}

# check NAME CMD...: one test; passes when CMD succeeds.
check() {
  local name=$1; shift
  _sf_count=$((_sf_count + 1))
  if "$@"; then
    echo "ok - $name"
  else
    echo "not ok - $name"
    echo "#   command: $*"
    echo "#   exit: $rc"
    printf '%s\n' "$out" | head -n 15 | sed 's/^/#   stdout: /'
    printf '%s\n' "$err" | head -n 15 | sed 's/^/#   stderr: /'
    _sf_failed=$((_sf_failed + 1))
  fi
}

# check_grep NAME PATTERN TEXT: TEXT matches the extended regex PATTERN.
check_grep() { check "$1" grep -Eq -- "$2" <<<"$3"; }
# check_nogrep NAME PATTERN TEXT: TEXT does not match.
check_nogrep() { check "$1" _sf_nogrep "$2" "$3"; }
_sf_nogrep() { ! grep -Eq -- "$1" <<<"$2"; }

skip() { echo "skip - $1: $2"; }

# A TCP port nobody listens on right now, from the ephemeral range.
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

done_testing() {
  [ "$_sf_count" -gt 0 ] || echo "not ok - no checks ran"
  [ "$_sf_failed" -eq 0 ]
  exit $?
}
