#!/usr/bin/env bash
# End-to-end streaming benchmark on `streamflow broker`: replay and score
# running at the same time over 12 partitions (so no partition of the
# embedded broker holds enough to hit its retention), 3 runs each, medians:
#   - throughput: records/s from the start of the replay until the scorer
#     has scored every record (N rows of KDDTest+, looped);
#   - latency p50/p99 (record timestamp -> prediction) with replay --rate at
#     half that throughput;
#   - the scorer's peak RSS (/usr/bin/time);
#   - the same throughput for a Python scorer (confluent-kafka + numpy,
#     bench/bench_stream_py.py) against the same broker, when installed;
#   - the Kafka floor: the same for bench/stream_floor.c, which consumes and
#     produces exactly as the scorer does but does no scoring at all (no
#     parsing, no model, no JSON), the ceiling for any scorer on librdkafka,
#     this broker and these 2 cores.
#
#   bench/bench_stream.sh [-b BROKERS] [BUILD]     SF_BENCH_RECORDS=N (default 200000)
#
# With -b (or $SF_BENCH_BROKERS) everything runs against that cluster
# instead of an embedded broker: its topics are created there for the run
# (bench/stream_topics.c; 12 partitions, replication $SF_BENCH_REPLICATION,
# default 1, names starting with sfbench-) and deleted at the end. The
# figures then say which broker they come from.
set -u
cd "$(dirname "$0")/.."
external=${SF_BENCH_BROKERS:-}
if [ "${1:-}" = "-b" ]; then
  external=${2:-}
  [ -n "$external" ] || { echo "usage: bench/bench_stream.sh [-b BROKERS] [BUILD]" >&2; exit 2; }
  shift 2
fi
build=${1:-build}
SF=$PWD/$build/streamflow
FLOOR=$PWD/$build/bench/stream_floor
TOPICS=$PWD/$build/bench/stream_topics
N=${SF_BENCH_RECORDS:-200000}
RUNS=${SF_BENCH_RUNS:-3}
DATA=data/nsl-kdd/KDDTest+.txt.gz
tmp=$(mktemp -d /tmp/streamflow-bench.XXXXXX)
broker_pid=""
created=()
cleanup() {
  [ -n "$broker_pid" ] && kill -TERM "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  [ "${#created[@]}" -gt 0 ] && "$TOPICS" "$B" delete "${created[@]}"
  rm -rf "$tmp"
}
trap cleanup EXIT

[ -x "$SF" ] || { echo "bench_stream: $SF is not built" >&2; exit 1; }
[ -x "$FLOOR" ] || { echo "bench_stream: $FLOOR is not built" >&2; exit 1; }
[ -x "$TOPICS" ] || { echo "bench_stream: $TOPICS is not built" >&2; exit 1; }
command -v kcat >/dev/null || { echo "bench_stream: kcat is needed (apt-get install kcat)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_stream: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

B=""
if [ -n "$external" ]; then
  B=$external
  "$SF" broker --check -b "$B" >/dev/null || { echo "bench_stream: cannot reach Kafka at $B" >&2; exit 1; }
  where="the Kafka cluster at $B"
  # Topic names of this run only: an external cluster outlives it.
  prefix="sfbench-$(hostname)-$$-"
else
  "$SF" broker --port 0 --partitions 12 --control "$tmp/control" </dev/null >"$tmp/broker.out" 2>"$tmp/broker.err" &
  broker_pid=$!
  for _ in $(seq 1 100); do [ -s "$tmp/broker.out" ] && break; sleep 0.05; done
  B=$(head -n 1 "$tmp/broker.out")
  [ -n "$B" ] || { echo "bench_stream: the broker did not start" >&2; cat "$tmp/broker.err" >&2; exit 1; }
  where="the embedded broker (streamflow broker, librdkafka's mock cluster) at $B"
  prefix=""
fi
model=$tmp/model.safetensors
"$SF" train --epochs 1 --model "$model" --logdir "$tmp/logs" >/dev/null || exit 1

now() { date +%s%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# topics NAME...: creates each with 12 partitions (topics created on first
# use would get the broker's default: 4 on the embedded one).
topics() {
  local t
  if [ -n "$external" ]; then
    "$TOPICS" "$B" create 12 "${SF_BENCH_REPLICATION:-1}" "$@" || return 1
    created+=("$@")
    return 0
  fi
  for t in "$@"; do "$SF" broker --send "$tmp/control" "create $t 12" >/dev/null || return 1; done
}

# warm TOPIC OUT: one record in, wait for its prediction: the scorer has
# joined its group and owns every partition before the clock starts.
warm() {
  "$SF" replay -q -b "$B" -t "$1" --limit 1 "$DATA" </dev/null
  for _ in $(seq 1 300); do
    [ "$(kcat -C -b "$B" -t "$2" -e -q -f '.\n' 2>/dev/null | wc -l)" -ge 1 ] && return 0
    sleep 0.1
  done
  echo "bench_stream: no prediction on $2 after 30 s" >&2
  return 1
}

# throughput KIND RUN: records/s for N records, from the start of the
# replay to the scorer's last acknowledged output; the scorer's peak RSS in
# $tmp/rss.KIND.RUN (kB).
throughput() {
  local kind=$1 i=$2 in="${prefix}in_$1_$2" out="${prefix}out_$1_$2" pid t0 t1
  topics "$in" "$out" || return 1
  if [ "$kind" = f ]; then
    /usr/bin/time -f %M -o "$tmp/rss.$kind.$i" "$FLOOR" "$B" "$in" "$out" "g$in" $((N + 1)) "$tmp/end.$kind.$i" \
      </dev/null 2>"$tmp/score.$kind.$i.err" &
  elif [ "$kind" = c ]; then
    /usr/bin/time -f %M -o "$tmp/rss.$kind.$i" "$SF" score -b "$B" -t "$in" --output "$out" -G "g$in" \
      --model "$model" -c $((N + 1)) -q --stats 3600 --stats-json "$tmp/end.$kind.$i" \
      </dev/null 2>"$tmp/score.$kind.$i.err" &
  else
    /usr/bin/time -f %M -o "$tmp/rss.$kind.$i" $PY bench/bench_stream_py.py "$B" "$in" "$out" "g$in" \
      "$model" $((N + 1)) "$tmp/end.$kind.$i" </dev/null >"$tmp/py.$i.out" 2>"$tmp/score.$kind.$i.err" &
  fi
  pid=$!
  warm "$in" "$out" || { kill "$pid"; return 1; }
  t0=$(($(now) / 1000000))
  "$SF" replay -q -b "$B" -t "$in" --loop --limit "$N" "$DATA" </dev/null || return 1
  wait "$pid" || { echo "bench_stream: scorer failed:" >&2; tail -n 5 "$tmp/score.$kind.$i.err" >&2; return 1; }
  # The end: when the scorer's last output was acknowledged (written by
  # the scorer after its final flush, before it leaves the group).
  t1=$(tail -n 1 "$tmp/end.$kind.$i" | sed -E 's/.*"time_ms":([0-9]+).*/\1/')
  echo "$N $t0 $t1" | awk '{printf "%.0f\n", $1 / (($3 - $2) / 1e3)}'
}

py_ok=0
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3 # Debian's python3-confluent-kafka lives there
$PY -c 'import confluent_kafka, numpy' 2>/dev/null && py_ok=1

# Round by round, the three side by side: the machine's noise hits each alike.
echo "streaming benchmark: $N records of KDDTest+ per run, 12 partitions, $RUNS runs, medians"
echo "broker: $where"
rates=() rss=() floors=() pyrates=() pyrss=()
for i in $(seq 1 "$RUNS"); do
  r=$(throughput c "$i") || exit 1
  rates+=("$r")
  rss+=("$(cat "$tmp/rss.c.$i")")
  echo "  run $i: streamflow $r records/s end to end, scorer peak RSS $(( $(cat "$tmp/rss.c.$i") / 1024 )) MB"
  r=$(throughput f "$i") || exit 1
  floors+=("$r")
  echo "  run $i: Kafka floor (consume and produce only, no scoring) $r records/s end to end"
  if [ "$py_ok" = 1 ]; then
    r=$(throughput p "$i") || exit 1
    pyrates+=("$r")
    pyrss+=("$(cat "$tmp/rss.p.$i")")
    echo "  run $i: python (confluent-kafka + numpy) $r records/s end to end, peak RSS $(( $(cat "$tmp/rss.p.$i") / 1024 )) MB"
  fi
done
[ "$py_ok" = 1 ] || echo "  python baseline skipped: install python3-confluent-kafka and python3-numpy to run it"
rate=$(printf '%s\n' "${rates[@]}" | median)
peak=$(printf '%s\n' "${rss[@]}" | median)
floor=$(printf '%s\n' "${floors[@]}" | median)
py=""
if [ "$py_ok" = 1 ]; then
  py=$(printf '%s\n' "${pyrates[@]}" | median)
  pypeak=$(printf '%s\n' "${pyrss[@]}" | median)
fi

# Latency at half the throughput, for 2 s of records per run (at most
# 200000: the embedded broker keeps about 5 MB per partition).
half=$((rate / 2))
L=$((half * 2))
[ "$L" -gt 200000 ] && L=200000
p50s=() p99s=()
for i in $(seq 1 "$RUNS"); do
  in="${prefix}lat_$i" out="${prefix}latout_$i"
  topics "$in" "$out" || exit 1
  "$SF" score -b "$B" -t "$in" --output "$out" -G "g$in" --model "$model" -c $((L + 1)) \
    </dev/null 2>"$tmp/lat.$i.err" &
  pid=$!
  warm "$in" "$out" || exit 1
  # The totals cover the warm-up record too, whose latency includes the
  # group join: one record in L does not move the p99.
  "$SF" replay -q -b "$B" -t "$in" --rate "$half" --loop --limit "$L" "$DATA" </dev/null || exit 1
  wait "$pid" || { tail -n 5 "$tmp/lat.$i.err" >&2; exit 1; }
  line=$(grep '^score: .* records,' "$tmp/lat.$i.err" | tail -n 1)
  p50s+=("$(sed -E 's/.*latency p50 ([0-9.]+) ms.*/\1/' <<<"$line")")
  p99s+=("$(sed -E 's/.*p99 ([0-9.]+) ms.*/\1/' <<<"$line")")
  echo "  run $i: at $half records/s: latency p50 ${p50s[-1]} ms, p99 ${p99s[-1]} ms"
done
p50=$(printf '%s\n' "${p50s[@]}" | median)
p99=$(printf '%s\n' "${p99s[@]}" | median)

echo
echo "figures from $where:"
echo "streamflow score: $rate records/s end to end (median of $RUNS), peak RSS $((peak / 1024)) MB"
echo "latency at $half records/s: p50 $p50 ms, p99 $p99 ms"
if [ -n "$py" ]; then
  echo "python (confluent-kafka + numpy): $py records/s, peak RSS $((pypeak / 1024)) MB"
  echo "speed-up: $(awk -v a="$rate" -v b="$py" 'BEGIN {printf "%.1f", a / b}')x"
fi
echo "Kafka floor (no scoring): $floor records/s$([ -n "$py" ] && awk -v a="$floor" -v b="$py" 'BEGIN {printf ", %.1fx python", a / b}')"
