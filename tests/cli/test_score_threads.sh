# streamflow score --threads: N members of one consumer group in one
# process. On a topic of 4 partitions each of two threads gets partitions
# (the assignment lines name the thread), every record is scored once,
# /metrics sums both threads, SIGTERM stops both (each commits its own
# offsets: a rerun scores nothing); more threads than partitions still end
# with -e; -c is refused with several threads.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/broker.sh"

N=2000
[ "$SF_SANITIZED" = 1 ] && N=600
model="$SF_TMP/model.safetensors"
PY=${SF_PYTHON:-python3}

run "$SF" train --epochs 1 --model "$model" --logdir "$SF_TMP/logs"
check "a one-epoch model trains" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || done_testing

run "$SF" score --threads 2 -c 10 --model "$model"
check "-c with --threads 2: usage error" [ "$rc" -eq 2 ]
check_grep "-c with --threads 2: says why" "-c counts the records of one scorer: not with --threads above 1" "$err"
run "$SF" score --threads 0 --model "$model"
check "--threads 0: usage error" [ "$rc" -eq 2 ]

broker_start --partitions 4 || done_testing
zcat "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" | head -n "$N" >"$SF_TMP/rows.csv"
run "$SF" replay -q "$SF_TMP/rows.csv"
check "replay of $N rows exits 0" [ "$rc" -eq 0 ]

# outputs TOPIC: "outputs O distinct D partitions P" over TOPIC's predictions.
outputs() {
  kcat -C -b "$BROKERS" -t "$1" -e -q -f '%s\n' 2>/dev/null | $PY -c '
import json, sys
src = [tuple(json.loads(l)[k] for k in ("partition", "offset")) for l in sys.stdin if l.strip()]
print("outputs", len(src), "distinct", len(set(src)), "partitions", len({p for p, _ in src}))'
}
# metric URL NAME: the value of NAME on the page.
metric() { curl -s -m 5 "$1/metrics" | awk -v n="$2" '$1 == n {print $2}'; }

# ---- two threads on 4 partitions, with /metrics, until SIGTERM
log="$SF_TMP/two.err"
"$SF" score --threads 2 -G two --model "$model" --metrics 127.0.0.1:0 --stats 0.3 \
  </dev/null >/dev/null 2>"$log" &
pid=$!
url=""
for _ in $(seq 1 200); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1)
  [ -n "$url" ] && break
  sleep 0.05
done
check "the scorer serves /metrics" [ -n "$url" ]
for _ in $(seq 1 600); do
  [ "$(metric "$url" streamflow_delivered_total)" = "$N" ] && break
  sleep 0.1
done
check "/metrics: the outputs of both threads are summed" [ "$(metric "$url" streamflow_delivered_total)" = "$N" ]
check "/metrics: the records of both threads are summed" [ "$(metric "$url" streamflow_records_total)" = "$N" ]
check "/metrics: the partitions of both threads are summed" \
  [ "$(metric "$url" streamflow_assigned_partitions)" = 4 ]
check "/metrics: a lag line per partition, of both threads" \
  [ "$(curl -s -m 5 "$url/metrics" | grep -c '^streamflow_consumer_lag{')" -eq 4 ]
check "/readyz: ready with both threads assigned" [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]
check "/healthz: both threads beat" [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ]
sleep 0.5
kill -TERM "$pid"
wait "$pid"
rc=$?
err=$(cat "$log")
sanitizer_check "score --threads 2" "$rc" "$err"
check "SIGTERM stops both threads: exit 0" [ "$rc" -eq 0 ]
check_grep "each thread has its own instance id" "^score: instance .*-t0 of group two$" "$err"
check_grep "... both of them" "^score: instance .*-t1 of group two$" "$err"
a0=$(sed -n 's/^score: assigned connections \[\([0-9 ]*\)\] (thread 0)$/\1/p' <<<"$err" | tail -n 1)
a1=$(sed -n 's/^score: assigned connections \[\([0-9 ]*\)\] (thread 1)$/\1/p' <<<"$err" | tail -n 1)
echo "# thread 0: [$a0], thread 1: [$a1]"
check "thread 0 is assigned partitions, named in the line" [ -n "$a0" ]
check "thread 1 is assigned partitions, named in the line" [ -n "$a1" ]
check "the two threads share the 4 partitions" [ "$(echo $a0 $a1 | tr ' ' '\n' | sort -u | tr '\n' ' ')" = "0 1 2 3 " ]
r0=$(grep -E '^score: [0-9]+ in/s.* \(thread 0\)$' <<<"$err" | tail -n 1 | sed -n 's/.*records \([0-9]*\) .*/\1/p')
r1=$(grep -E '^score: [0-9]+ in/s.* \(thread 1\)$' <<<"$err" | tail -n 1 | sed -n 's/.*records \([0-9]*\) .*/\1/p')
echo "# records: thread 0 ${r0:-?}, thread 1 ${r1:-?}"
check "a status line per thread; both threads scored records, $N in all" \
  [ "${r0:-0}" -gt 0 -a "${r1:-0}" -gt 0 -a $((${r0:-0} + ${r1:-0})) -eq "$N" ]
check_grep "the totals sum both threads" "^score: $N records, $N predictions, 0 to connections.dlq, $N delivered" "$err"
o=$(outputs predictions)
echo "# $o"
check "every record scored exactly once" [ "$o" = "outputs $N distinct $N partitions 4" ]
run "$SF" score --threads 2 -e -q -G two --model "$model"
check "a rerun of the group (2 threads, -e) exits 0" [ "$rc" -eq 0 ]
check "... and scores nothing again: each thread committed its offsets" [ "$(outputs predictions)" = "outputs $N distinct $N partitions 4" ]

# ---- more threads than partitions: the thread with none neither keeps the
# process alive nor lets it end before the others have read to the end
run_within 60000 timeout -s KILL 90 "$SF" score --threads 5 -e -G five --output five_pred --model "$model"
check "-e with 5 threads on 4 partitions: exit 0 (${ms} ms)" [ "$rc" -eq 0 -a "$ms" -lt 60000 ]
check "... every record scored exactly once" [ "$(outputs five_pred)" = "outputs $N distinct $N partitions 4" ]

done_testing
