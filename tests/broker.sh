# Helpers for CLI tests that need a Kafka broker: a `streamflow broker`
# process of their own, on a free port, stopped when the test ends.
# Source it after tests/lib.sh:
#
#   . "$SF_ROOT/tests/lib.sh"
#   . "$SF_ROOT/tests/broker.sh"
#   broker_start --partitions 3 --topic mytopic:2   # exports BROKERS, BROKER_CONTROL
#   run "$SF" replay -b "$BROKERS" ...
#   broker_ctl 'down 1'; sleep 2; broker_ctl 'up 1'   # fault injection
#   broker_stop                                     # optional: also done at exit
#
# broker_start takes `streamflow broker` options (--brokers N, --partitions N,
# --topic NAME[:PARTITIONS]...). It sets STREAMFLOW_BROKERS too, so commands
# run without -b reach this broker. The control commands are listed in
# `streamflow broker --help` (down/up BROKER|all, leader TOPIC PART BROKER,
# error APIKEY ERR [COUNT], topic-error TOPIC ERR, disconnect, rtt BROKER MS,
# create TOPIC PARTITIONS). broker_start installs an EXIT trap that calls
# broker_stop and then any EXIT trap set before it; a test that sets its own
# EXIT trap afterwards must call broker_stop in it.

BROKERS="" BROKER_CONTROL="" BROKER_PID=""

broker_start() {
  local dir="$SF_TMP/broker.$$.$RANDOM"
  mkdir -p "$dir" || return 1
  BROKER_CONTROL="$dir/control.sock"
  BROKER_LOG="$dir/stderr"
  "$SF" broker --port 0 --control "$BROKER_CONTROL" "$@" </dev/null >"$dir/stdout" 2>"$BROKER_LOG" &
  BROKER_PID=$!
  local i
  for i in $(seq 1 200); do
    if [ -s "$dir/stdout" ] && [ -S "$BROKER_CONTROL" ]; then break; fi
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then break; fi
    sleep 0.05
  done
  BROKERS=$(head -n 1 "$dir/stdout" 2>/dev/null)
  if [ -z "$BROKERS" ] || ! kill -0 "$BROKER_PID" 2>/dev/null; then
    echo "not ok - broker_start: 'streamflow broker $*' did not start"
    sed 's/^/#   stderr: /' "$BROKER_LOG" | head -n 20
    _sf_count=$((_sf_count + 1)); _sf_failed=$((_sf_failed + 1))
    BROKER_PID=""
    return 1
  fi
  export BROKERS BROKER_CONTROL STREAMFLOW_BROKERS="$BROKERS"
  if [ -z "${_broker_trap_set:-}" ]; then
    _broker_trap_set=1
    local prev
    prev=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
    # shellcheck disable=SC2064
    trap "broker_stop; $prev" EXIT
  fi
  return 0
}

# broker_stop: SIGTERM, wait, and a failed check if the broker did not
# exit 0 (a crash or a sanitizer report in the broker is a test failure).
broker_stop() {
  [ -n "$BROKER_PID" ] || return 0
  local pid=$BROKER_PID brc
  BROKER_PID=""
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  brc=$?
  sanitizer_check "streamflow broker" "$brc" "$(cat "$BROKER_LOG" 2>/dev/null)"
  if [ "$brc" -ne 0 ]; then
    echo "not ok - streamflow broker exited with status $brc"
    sed 's/^/#   stderr: /' "$BROKER_LOG" | tail -n 20
    _sf_count=$((_sf_count + 1)); _sf_failed=$((_sf_failed + 1))
  fi
  return 0
}

# broker_ctl 'COMMAND ARGS': sends one control command to the running
# broker; prints the broker's answer; returns non-zero if it was refused.
broker_ctl() {
  "$SF" broker --send "$BROKER_CONTROL" "$*"
}

# coverage IN_TOPIC PRED_TOPIC: "inputs N missing M dups D window W" where W says
# whether, in every partition, the duplicated offsets are one contiguous run
# at which everything before it was scored once.
coverage() {
  kcat -C -b "$BROKERS" -t "$1" -e -q -f '%p %o\n' >"$SF_TMP/cov_in.txt"
  kcat -C -b "$BROKERS" -t "$2" -e -q -f '%s\n' >"$SF_TMP/cov_pred.txt"
  python3 - "$SF_TMP/cov_in.txt" "$SF_TMP/cov_pred.txt" <<'PY'
import collections, json, sys
inputs = set(tuple(map(int, l.split())) for l in open(sys.argv[1]))
seen = collections.Counter()
for l in open(sys.argv[2]):
    if l == "\n":
        continue  # after a message of newline-terminated predictions
    j = json.loads(l)
    seen[(j["partition"], j["offset"])] += 1
dups = sorted(k for k, c in seen.items() if c > 1)
window = True
for p in set(k[0] for k in dups):
    offs = [o for q, o in dups if q == p]
    if offs != list(range(offs[0], offs[-1] + 1)) or any(seen[(p, o)] > 2 for o in offs):
        window = False
print("inputs", len(inputs), "missing", len(inputs - set(seen)), "dups", len(dups), "window", window)
PY
}
