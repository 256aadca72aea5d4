# streamflow score in a group: the lag it reports (0 on a topic already
# scored, before and after a rebalance), and each scorer's instance id
# (distinct for scorers on one host, taken over by a restart after kill -9).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/broker.sh"

N=2000
[ "$SF_SANITIZED" = 1 ] && N=600
model="$SF_TMP/model.safetensors"
# Instance slots are locked in $TMPDIR: this test's own, so that scorers of
# other tests running at the same time do not take them.
export TMPDIR="$SF_TMP"
HOST=$(hostname)

run "$SF" train --epochs 1 --model "$model" --logdir "$SF_TMP/logs"
check "a one-epoch model trains" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || done_testing
broker_start --partitions 3 --topic lag:3 || done_testing

zcat "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" | head -n "$N" >"$SF_TMP/rows.csv"
run "$SF" replay -q -t lag "$SF_TMP/rows.csv"
check "replay of $N rows exits 0" [ "$rc" -eq 0 ]
run "$SF" score -e -q --model "$model" -t lag --output lag_pred -G lagg
check "the topic is scored and committed" [ "$rc" -eq 0 ]

# bg NAME ARGS...: a scorer in the background reporting every 0.2 s to
# NAME.jsonl; its pid in $bg_pid.
bg() {
  local name=$1; shift
  "$SF" score --model "$model" -t lag --output lag_pred -G lagg --stats-json "$SF_TMP/$name.jsonl" \
    --stats 0.2 "$@" </dev/null >"$SF_TMP/$name.out" 2>"$SF_TMP/$name.err" &
  bg_pid=$!
}
# assigned NAME: how many assignments NAME has logged.
assigned() { grep -c '^score: assigned lag ' "$SF_TMP/$1.err"; }
# wait_assigned NAME COUNT: until NAME has logged COUNT assignments (40 s at most).
wait_assigned() {
  local i
  for i in $(seq 1 400); do
    [ "$(assigned "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
# lag NAME: the lag of NAME's latest status, 2 s from now (enough for the
# watermarks of every partition to be known).
lag() {
  sleep 2
  tail -n 1 "$SF_TMP/$1.jsonl" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["lag"])'
}
# stopped NAME PID: SIGTERM, wait (30 s at most), and check the exit code.
stopped() {
  kill -TERM "$2" 2>/dev/null
  local i
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

# ---- a scorer started on a topic already scored has no lag
bg a
apid=$bg_pid
wait_assigned a 1
check "a: assigned the topic" [ "$(assigned a)" -ge 1 ]
l=$(lag a)
check "a scorer on a fully scored topic reports lag 0 (got $l)" [ "$l" = 0 ]
check_grep "a: its instance id is the host name and slot 0" "^score: instance $HOST-0 of group lagg$" \
  "$(cat "$SF_TMP/a.err")"

# ---- a second scorer joins, then leaves: the lag stays 0 on both sides
bg b
bpid=$bg_pid
wait_assigned b 1
wait_assigned a 2
check "b joined: a was given part of the topic again" [ "$(assigned a)" -ge 2 ]
check_grep "b: a second scorer on this host gets slot 1" "^score: instance $HOST-1 of group lagg$" \
  "$(cat "$SF_TMP/b.err")"
la=$(lag a)
lb=$(tail -n 1 "$SF_TMP/b.jsonl" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["lag"])')
check "after b joined, a reports lag 0 (got $la)" [ "$la" = 0 ]
check "b, new to the group, reports lag 0 (got $lb)" [ "$lb" = 0 ]
n=$(assigned a)
stopped b "$bpid"
wait_assigned a $((n + 1))
check "b left: a was given the whole topic again" [ "$(assigned a)" -gt "$n" ]
l=$(lag a)
check "after b left, a reports lag 0 (got $l)" [ "$l" = 0 ]

# ---- new records: the lag counts them until they are scored
run "$SF" replay -q -t lag --limit 100 "$SF_TMP/rows.csv"
for _ in $(seq 1 100); do
  [ "$(tail -n 1 "$SF_TMP/a.jsonl" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["records"])')" -ge 100 ] && break
  sleep 0.1
done
l=$(lag a)
check "a scores new records and is back to lag 0 (got $l)" [ "$l" = 0 ]

# ---- kill -9, then a restart: the new process takes the dead one's id
kill -9 "$apid"
wait "$apid" 2>/dev/null
bg c
cpid=$bg_pid
wait_assigned c 1
check_grep "c: a restart after kill -9 takes the dead scorer's id" "^score: instance $HOST-0 of group lagg$" \
  "$(cat "$SF_TMP/c.err")"
stopped c "$cpid"
bg d --instance-id scorer-d
dpid=$bg_pid
wait_assigned d 1
stopped d "$dpid"
check_grep "--instance-id names the instance" "^score: instance scorer-d of group lagg$" "$(cat "$SF_TMP/d.err")"

# ---- fenced: the cluster says another member runs with this instance id
# (the embedded broker does not enforce static membership; the error is
# injected): exit 1, naming the instance id and what to do
bg e --instance-id twin
epid=$bg_pid
wait_assigned e 1
broker_ctl 'error Heartbeat FENCED_INSTANCE_ID 20' >/dev/null
for _ in $(seq 1 300); do kill -0 "$epid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$epid" 2>/dev/null && kill -9 "$epid"
wait "$epid"
rc=$?
e_err=$(cat "$SF_TMP/e.err")
sanitizer_check "score e" "$rc" "$e_err"
check "fenced: exit 1" [ "$rc" -eq 1 ]
check_grep "fenced: the error names the instance id and the remedy" \
  "another scorer of group 'lagg' runs as instance 'twin'; give each scorer its own --instance-id" "$e_err"

done_testing
