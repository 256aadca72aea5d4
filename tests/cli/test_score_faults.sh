# streamflow score when things fail: kill -9 and restart (every offset
# scored, duplicates only in the uncommitted window), three scorers in one
# group with one killed mid-stream, the broker down for seconds and forced
# disconnects while scoring. The kill -9 lands once a third of a 6 s
# rate-limited replay is scored: mid-stream however loaded the machine (a
# slow machine only slows the replay down), so it runs beside others.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/broker.sh"

N=3000 RATE=500 # 6 s of replay: time to see a third scored and kill mid-stream, even under load
[ "$SF_SANITIZED" = 1 ] && N=900 RATE=150 # slower builds: 6 s of replay, time to kill mid-stream
model="$SF_TMP/model.safetensors"
run "$SF" train --epochs 1 --model "$model" --logdir "$SF_TMP/logs"
check "a one-epoch model trains" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || done_testing
zcat "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" | head -n "$N" >"$SF_TMP/rows.csv"
broker_start --partitions 3 --topic k9:3 --topic trio:6 --topic flt:3 || done_testing

# wait_scored IN PRED SECONDS: until every input offset has a prediction.
wait_scored() {
  local i
  for i in $(seq 1 $(($3 * 2))); do
    coverage "$1" "$2" | grep -q "missing 0 " && return 0
    sleep 0.5
  done
  return 1
}

# warm TOPIC PRED: one record in, and wait (20 s at most) for its
# prediction: the scorers have joined their group and own the partitions.
warm() {
  "$SF" replay -q -t "$1" --limit 1 "$SF_TMP/rows.csv" </dev/null >/dev/null 2>&1
  local i
  for i in $(seq 1 200); do
    [ "$(kcat -C -b "$BROKERS" -t "$2" -e -q -f '.\n' 2>/dev/null | wc -l)" -ge 1 ] && return 0
    sleep 0.1
  done
  return 1
}

# bg NAME ARGS...: a scorer in the background; its pid in $bg_pid.
bg() {
  local name=$1; shift
  "$SF" score $score_threads --model "$model" -q "$@" </dev/null >"$SF_TMP/$name.out" 2>"$SF_TMP/$name.err" &
  bg_pid=$!
}
# stopped NAME PID: SIGTERM, wait, check it exited 0 without a sanitizer report.
stopped() {
  kill -TERM "$2" 2>/dev/null
  local i
  # Bounded: a scorer that does not finish in 30 s is a failure, not a hang.
  for i in $(seq 1 300); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$2" 2>/dev/null; then
    kill -9 "$2" 2>/dev/null
    echo "# $1 still running 30 s after SIGTERM: killed"
  fi
  wait "$2"
  local r=$?
  sanitizer_check "score $1" "$r" "$(cat "$SF_TMP/$1.err")"
  check "$1: SIGTERM exits 0" [ "$r" -eq 0 ]
}

# ---- kill -9 mid-stream then a restart (topic k9), and three scorers in
# one group over 6 partitions with one killed mid-stream (topic trio): run
# side by side to keep the test short.
X="-X session.timeout.ms=3000 -X heartbeat.interval.ms=300"
bg k9a -t k9 --output k9_pred -G k9 --batch 32 -X auto.commit.interval.ms=200 $X
k9pid=$bg_pid
bg trio1 -t trio --output trio_pred -G trio --batch 32 $X
p1=$bg_pid
bg trio2 -t trio --output trio_pred -G trio --batch 32 $X
p2=$bg_pid
bg trio3 -t trio --output trio_pred -G trio --batch 32 $X
p3=$bg_pid
warm k9 k9_pred
warm trio trio_pred
"$SF" replay -q -t k9 --rate "$RATE" "$SF_TMP/rows.csv" </dev/null >/dev/null 2>"$SF_TMP/replay_k9.err" &
replay_k9=$!
"$SF" replay -q -t trio --rate "$RATE" "$SF_TMP/rows.csv" </dev/null >/dev/null 2>&1 &
replay_trio=$!
# Both replays take N/RATE (6 s): kill k9's scorer once it has scored a
# third of them (however slow the machine: a fixed sleep could come before
# the first), and one of trio's 0.3 s later.
for _ in $(seq 1 300); do
  [ "$(kcat -C -b "$BROKERS" -t k9_pred -e -q -f '.\n' 2>/dev/null | wc -l)" -ge $((N / 3)) ] && break
  sleep 0.1
done
kill -9 "$k9pid"
wait "$k9pid" 2>/dev/null
before=$(kcat -C -b "$BROKERS" -t k9_pred -e -q -f '.\n' | wc -l)
sleep 0.3
kill -9 "$p2"
wait "$p2" 2>/dev/null
wait "$replay_k9"
check "replay into k9 exits 0" [ $? -eq 0 ]
wait "$replay_trio"
check "the killed scorer was mid-stream" [ "$before" -gt 1 -a "$before" -lt "$N" ]
run "$SF" score $score_threads --model "$model" -q -t k9 --output k9_pred -G k9 -e $X
check "restart after kill -9 exits 0" [ "$rc" -eq 0 ]
cov=$(coverage k9 k9_pred)
echo "# kill -9: $cov (before the kill: $before predictions)"
check_grep "kill -9 + restart: every offset has a prediction" "^inputs $((N + 1)) missing 0 " "$cov"
check_grep "kill -9 + restart: duplicates only in the uncommitted window" "window True$" "$cov"
dups=$(sed -E 's/.*dups ([0-9]+).*/\1/' <<<"$cov")
check "kill -9 + restart: fewer duplicates than records scored before the kill" [ "$dups" -lt "$before" ]

wait_scored trio trio_pred 40
cov=$(coverage trio trio_pred)
echo "# three scorers, one killed: $cov"
check_grep "3 scorers, one killed: every record scored" "^inputs $((N + 1)) missing 0 " "$cov"
stopped trio1 "$p1"
stopped trio3 "$p3"

# ---- the broker down for 3 s, then forced disconnects, while scoring
bg flt -t flt --output flt_pred -G flt --batch 64 $X
fpid=$bg_pid
warm flt flt_pred
"$SF" replay -q -t flt --rate "$RATE" "$SF_TMP/rows.csv" </dev/null >/dev/null 2>"$SF_TMP/replay_flt.err" &
replay_pid=$!
sleep 0.5
broker_ctl 'down all' >/dev/null
sleep 3
broker_ctl 'up all' >/dev/null
sleep 0.5
broker_ctl 'disconnect all' >/dev/null
sleep 0.5
broker_ctl 'disconnect all' >/dev/null
wait "$replay_pid"
check "replay through the outage exits 0" [ $? -eq 0 ]
wait_scored flt flt_pred 40
cov=$(coverage flt flt_pred)
echo "# broker down + disconnects: $cov"
# What is checked here is the scorer: every record in the input topic gets
# its prediction. The input topic itself may hold a record more than replay
# sent: seen once in about seven runs, a produce retried across 'down all'
# that the embedded broker (librdkafka's mock) kept twice although the
# producer is idempotent. It is reported, not failed on.
inputs=$(sed -E 's/^inputs ([0-9]+) .*/\1/' <<<"$cov")
check "broker down and disconnects: every replayed record is in the topic" [ "$inputs" -ge $((N + 1)) ]
check_grep "broker down and disconnects: every record scored" "^inputs [0-9]+ missing 0 " "$cov"
[ "$inputs" -gt $((N + 1)) ] &&
  echo "# note: the input topic holds $((inputs - N - 1)) record(s) more than replay sent (see above)"
stopped flt "$fpid"

done_testing
