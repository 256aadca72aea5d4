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
#     this broker and these 2 cores;
#   - many records per message: with M rows a message (replay
#     --records-per-message M, the topic filled first), records/s over each
#     scorer's own time from its first record to its last acknowledged
#     output, for `streamflow score --records-per-message many
#     --predictions-per-message batch` and for the Python scorer with the
#     same two options (each record still parsed and scored alone; one
#     output message per micro-batch and partition).
# Each round runs all five one after the other, so the machine's noise hits
# them alike. At the end three ratios for the summary of bench/run, as lines
# of bench/ratio.h: one record a message against the floor (target 0.9) and
# against Python (no target), many records a message against Python with
# the same input (target 10).
#
#   bench/bench_stream.sh [-b BROKERS] [BUILD]     SF_BENCH_RECORDS=N (default 200000)
#                                                  SF_BENCH_RECORDS_PER_MESSAGE=M (default 100)
#                                                  SF_BENCH_RUNS=R (default 3)
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
RPM=${SF_BENCH_RECORDS_PER_MESSAGE:-100}
# A scorer that has not scored its N records after this many seconds failed.
LIMIT=${SF_BENCH_TIMEOUT:-300}
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

# warm TOPIC OUT PID: one record in, wait for its prediction: the scorer
# (PID) has joined its group and owns every partition before the clock
# starts.
warm() {
  "$SF" replay -q -b "$B" -t "$1" --limit 1 "$DATA" </dev/null
  local t_end=$(($(date +%s) + 60))
  while [ "$(date +%s)" -lt "$t_end" ]; do
    [ "$(kcat -C -b "$B" -t "$2" -e -q -f '.\n' 2>/dev/null | wc -l)" -ge 1 ] && return 0
    kill -0 "$3" 2>/dev/null || { echo "bench_stream: the scorer exited before its first prediction" >&2; return 1; }
    sleep 0.1
  done
  echo "bench_stream: no prediction on $2 after 60 s" >&2
  return 1
}

# throughput KIND RUN: records/s for N records, from the start of the
# replay to the scorer's last acknowledged output; the scorer's peak RSS in
# $tmp/rss.KIND.RUN (kB). KIND: c streamflow score, f the floor, p the
# Python scorer, one record a message; cm and pm: streamflow and Python
# with RPM records a message and batched predictions.
throughput() {
  local kind=$1 i=$2 in="${prefix}in_$1_$2" out="${prefix}out_$1_$2" pid t0 t1 many=() per=()
  local run=(timeout -k 5 "$LIMIT" /usr/bin/time -f %M -o "$tmp/rss.$kind.$i")
  if [ "$kind" = cm ] || [ "$kind" = pm ]; then
    many=(--records-per-message many --predictions-per-message batch)
    per=(--records-per-message "$RPM")
  fi
  topics "$in" "$out" || return 1
  if [ "$kind" = cm ] || [ "$kind" = pm ]; then
    prefilled "$kind" "$i" "$in" "$out"
    return
  fi
  if [ "$kind" = f ]; then
    "${run[@]}" "$FLOOR" "$B" "$in" "$out" "g$in" $((N + 1)) "$tmp/end.$kind.$i" \
      </dev/null 2>"$tmp/score.$kind.$i.err" &
  elif [ "$kind" = c ] || [ "$kind" = cm ]; then
    "${run[@]}" "$SF" score -b "$B" -t "$in" --output "$out" -G "g$in" "${many[@]}" \
      --model "$model" -c $((N + 1)) -q --stats 3600 --stats-json "$tmp/end.$kind.$i" \
      </dev/null 2>"$tmp/score.$kind.$i.err" &
  else
    "${run[@]}" $PY bench/bench_stream_py.py "${many[@]}" "$B" "$in" "$out" "g$in" \
      "$model" $((N + 1)) "$tmp/end.$kind.$i" </dev/null >"$tmp/py.$kind.$i.out" 2>"$tmp/score.$kind.$i.err" &
  fi
  pid=$!
  warm "$in" "$out" "$pid" || {
    kill "$pid" 2>/dev/null
    tail -n 5 "$tmp/score.$kind.$i.err" >&2
    return 1
  }
  t0=$(($(now) / 1000000))
  "$SF" replay -q -b "$B" -t "$in" --loop --limit "$N" "${per[@]}" "$DATA" </dev/null || return 1
  wait "$pid" || { echo "bench_stream: scorer failed:" >&2; tail -n 5 "$tmp/score.$kind.$i.err" >&2; return 1; }
  # The end: when the scorer's last output was acknowledged (written by
  # the scorer after its final flush, before it leaves the group).
  t1=$(tail -n 1 "$tmp/end.$kind.$i" | sed -E 's/.*"time_ms":([0-9]+).*/\1/')
  echo "$N $t0 $t1" | awk '{printf "%.0f\n", $1 / (($3 - $2) / 1e3)}'
}

# prefilled KIND RUN IN OUT: with RPM records a message, the topic is filled
# first and the scorer then reads all of it: records/s over the scorer's
# own time from its first record to its last acknowledged output (the
# figure both scorers print at the end). Replaying into the topic at the
# same time would time the replay: it produces these few large messages
# more slowly than the scorer scores them.
prefilled() {
  local kind=$1 i=$2 in=$3 out=$4
  local run=(timeout -k 5 "$LIMIT" /usr/bin/time -f %M -o "$tmp/rss.$kind.$i")
  "$SF" replay -q -b "$B" -t "$in" --loop --limit "$N" --records-per-message "$RPM" "$DATA" </dev/null ||
    return 1
  if [ "$kind" = cm ]; then
    "${run[@]}" "$SF" score -b "$B" -t "$in" --output "$out" -G "g$in" --records-per-message many \
      --predictions-per-message batch --model "$model" -c "$N" </dev/null 2>"$tmp/score.$kind.$i.err" ||
      { echo "bench_stream: scorer failed:" >&2; tail -n 5 "$tmp/score.$kind.$i.err" >&2; return 1; }
    grep '^score: ' "$tmp/score.$kind.$i.err" | tail -n 1 | sed -E 's/.* ([0-9]+) records\/s.*/\1/'
  else
    "${run[@]}" $PY bench/bench_stream_py.py --records-per-message many --predictions-per-message batch \
      "$B" "$in" "$out" "g$in" "$model" "$N" "$tmp/end.$kind.$i" </dev/null >"$tmp/py.$kind.$i.out" \
      2>"$tmp/score.$kind.$i.err" ||
      { echo "bench_stream: scorer failed:" >&2; tail -n 5 "$tmp/score.$kind.$i.err" >&2; return 1; }
    sed -nE 's/^python: .* ([0-9]+) records\/s$/\1/p' "$tmp/py.$kind.$i.out"
  fi
}

py_ok=0
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3 # Debian's python3-confluent-kafka lives there
$PY -c 'import confluent_kafka, numpy' 2>/dev/null && py_ok=1
# Many records a message needs both options of score and replay's.
many_ok=0
"$SF" score --help 2>&1 | grep -q -- '--predictions-per-message' &&
  "$SF" replay --help 2>&1 | grep -q -- '--records-per-message' && many_ok=1

# ratio NAME STREAMFLOW ANCHOR RATIO TARGET: a line for bench/run's summary
# (the format of bench/ratio.h), to $SF_BENCH_RATIOS or stdout.
ratio() {
  if [ -n "${SF_BENCH_RATIOS:-}" ]; then
    printf 'RATIO\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$SF_BENCH_RATIOS"
  else
    printf 'RATIO\t%s\t%s\t%s\t%s\t%s\n' "$@"
  fi
}
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
krate() { awk -v a="$1" 'BEGIN {printf "%.1f k records/s", a / 1e3}'; }

# run KIND ROUND WHAT: one throughput run, its figure added to the file
# $tmp/rates.KIND and its peak RSS (kB) to $tmp/rsss.KIND, and a line saying so.
run() {
  local r
  r=$(throughput "$1" "$2") || exit 1
  echo "$r" >>"$tmp/rates.$1"
  cat "$tmp/rss.$1.$2" >>"$tmp/rsss.$1"
  local how="end to end"
  case $1 in cm | pm) how="from a filled topic" ;; esac
  [ -n "$r" ] || { echo "bench_stream: no figure from run $2 of $3" >&2; exit 1; }
  echo "  run $2: $3 $r records/s $how, peak RSS $(($(cat "$tmp/rss.$1.$2") / 1024)) MB"
}
# med FILE: the median of the figures in $tmp/FILE, rounded to a whole number.
med() { median <"$tmp/$1" | awk '{printf "%.0f\n", $1}'; }

# Round by round, all of them side by side: the machine's noise hits each alike.
echo "streaming benchmark: $N records of KDDTest+ per run, 12 partitions, $RUNS runs, medians"
echo "broker: $where"
for i in $(seq 1 "$RUNS"); do
  run c "$i" "streamflow score"
  run f "$i" "Kafka floor (consume and produce only, no scoring)"
  [ "$py_ok" = 1 ] && run p "$i" "python (confluent-kafka + numpy)"
  if [ "$many_ok" = 1 ]; then
    run cm "$i" "$RPM records a message: streamflow score"
    [ "$py_ok" = 1 ] && run pm "$i" "$RPM records a message: python"
  fi
done
[ "$py_ok" = 1 ] || echo "  python baseline skipped: install python3-confluent-kafka and python3-numpy to run it"
[ "$many_ok" = 1 ] || echo "  many records a message skipped: this streamflow has no score --records-per-message"
rate=$(med rates.c)
peak=$(med rsss.c)
floor=$(med rates.f)
py="" pypeak="" m_rate="" m_peak="" pm_rate="" pm_peak=""
if [ "$py_ok" = 1 ]; then
  py=$(med rates.p)
  pypeak=$(med rsss.p)
fi
if [ "$many_ok" = 1 ]; then
  m_rate=$(med rates.cm)
  m_peak=$(med rsss.cm)
  if [ "$py_ok" = 1 ]; then
    pm_rate=$(med rates.pm)
    pm_peak=$(med rsss.pm)
  fi
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
  warm "$in" "$out" "$pid" || exit 1
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
echo "Kafka floor (no scoring): $floor records/s; streamflow at $(div "$rate" "$floor") of it"
if [ -n "$py" ]; then
  echo "python (confluent-kafka + numpy): $py records/s, peak RSS $((pypeak / 1024)) MB"
  echo "speed-up: $(div "$rate" "$py")x"
fi
if [ -n "$m_rate" ]; then
  echo "$RPM records a message, predictions batched, from a filled topic: streamflow score $m_rate records/s, peak RSS $((m_peak / 1024)) MB"
  if [ -n "$pm_rate" ]; then
    echo "$RPM records a message, predictions batched, from a filled topic: python $pm_rate records/s, peak RSS $((pm_peak / 1024)) MB"
    echo "speed-up: $(div "$m_rate" "$pm_rate")x"
  fi
fi

# The summary's lines.
ratio stream_one_vs_floor "$(krate "$rate")" "floor $(krate "$floor")" "$(div "$rate" "$floor")" 0.9
if [ -n "$py" ]; then
  ratio stream_one_vs_python "$(krate "$rate")" "Python $(krate "$py")" "$(div "$rate" "$py")" -
else
  ratio stream_one_vs_python "$(krate "$rate")" "Python scorer not run (confluent-kafka)" - -
fi
if [ -z "$m_rate" ]; then
  ratio stream_many_vs_python "not run (no score --records-per-message)" "-" - 10
elif [ -n "$pm_rate" ]; then
  ratio stream_many_vs_python "$(krate "$m_rate")" "Python $(krate "$pm_rate")" "$(div "$m_rate" "$pm_rate")" 10
else
  ratio stream_many_vs_python "$(krate "$m_rate")" "Python scorer not run (confluent-kafka)" - 10
fi
