#!/usr/bin/env bash
# score --threads 1 against --threads 2 on the same prefilled topic (12
# partitions of the embedded broker, N rows of KDDTest+, looped): each round
# runs both, one after the other, in alternating order, each in a group of
# its own reading the whole topic (-e) into a topic of its own; the figures
# are the medians over the rounds and their ratio.
#   - records/s: the scorer's own figure (its totals: from its first record
#     to its last output acknowledged by the broker; joining the group is
#     not in it);
#   - wall: the whole run, start to exit (joining, scoring, leaving);
#   - CPU seconds (user + system) of the scorer process.
# With SF_BENCH_RECORDS_PER_MESSAGE=M the topic holds M records a message
# (replay --records-per-message M) and both scorers run with
# --records-per-message many --predictions-per-message batch.
#
#   bench/bench_threads.sh [BUILD]    SF_BENCH_RECORDS=N (default 200000) SF_BENCH_ROUNDS=R (default 5)
#                                     SF_BENCH_RECORDS_PER_MESSAGE=M (default 1) SF_BENCH_KEEP=1 (keep the logs in /tmp)
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
SF=$PWD/$build/streamflow
N=${SF_BENCH_RECORDS:-200000}
ROUNDS=${SF_BENCH_ROUNDS:-5}
RPM=${SF_BENCH_RECORDS_PER_MESSAGE:-1}
many=()
[ "$RPM" -gt 1 ] && many=(--records-per-message many --predictions-per-message batch)
DATA=data/nsl-kdd/KDDTest+.txt.gz
tmp=$(mktemp -d /tmp/streamflow-bench-threads.XXXXXX)
broker_pid=""
cleanup() {
  [ -n "$broker_pid" ] && kill -TERM "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  [ -n "${SF_BENCH_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

[ -x "$SF" ] || { echo "bench_threads: $SF is not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_threads: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

"$SF" broker --port 0 --partitions 12 --control "$tmp/control" </dev/null >"$tmp/broker.out" 2>"$tmp/broker.err" &
broker_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/broker.out" ] && break; sleep 0.05; done
B=$(head -n 1 "$tmp/broker.out")
[ -n "$B" ] || { echo "bench_threads: the broker did not start" >&2; cat "$tmp/broker.err" >&2; exit 1; }
model=$tmp/model.safetensors
"$SF" train --epochs 1 --model "$model" --logdir "$tmp/logs" >/dev/null || exit 1

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
topic() { "$SF" broker --send "$tmp/control" "create $1 12" >/dev/null; }

topic in || exit 1
"$SF" replay -q -b "$B" -t in --loop --limit "$N" --records-per-message "$RPM" "$DATA" </dev/null || exit 1

# score THREADS ROUND: one run; appends "records/s wall_s cpu_s" to $tmp/t.THREADS.
score() {
  local t=$1 i=$2 out="out_$1_$2" err="$tmp/score.$1.$2.err"
  topic "$out" || return 1
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -f '%U %S' -o "$tmp/cpu.$t.$i" "$SF" score -b "$B" -t in --output "$out" -G "g_${t}_${i}_$$" \
    --model "$model" --threads "$t" "${many[@]}" -e </dev/null 2>"$err" || {
    echo "bench_threads: score --threads $t failed:" >&2
    tail -n 5 "$err" >&2
    return 1
  }
  t1=$(date +%s%N)
  local line rate cpu
  line=$(grep -E '^score: [0-9]+ records[, ]' "$err" | tail -n 1)
  grep -qE "^score: $N records[, ]" <<<"$line" || { echo "bench_threads: $line (wanted $N records)" >&2; return 1; }
  rate=$(sed -E 's/.* s, ([0-9]+) records\/s.*/\1/' <<<"$line")
  cpu=$(awk '{print $1 + $2}' "$tmp/cpu.$t.$i")
  echo "$rate $(((t1 - t0) / 1000000)) $cpu" >>"$tmp/t.$t"
  printf '  round %d, --threads %d: %s records/s, %s ms wall, %s s CPU\n' "$i" "$t" "$rate" \
    "$(((t1 - t0) / 1000000))" "$cpu"
}

echo "score --threads 1 vs 2: $N records ($RPM a message) prefilled on 12 partitions of the embedded broker at $B, $ROUNDS rounds ($(nproc) cores)"
for i in $(seq 1 "$ROUNDS"); do
  if [ $((i % 2)) -eq 1 ]; then order="1 2"; else order="2 1"; fi
  for t in $order; do score "$t" "$i" || exit 1; done
done
for t in 1 2; do
  r[$t]=$(cut -d' ' -f1 "$tmp/t.$t" | median)
  w[$t]=$(cut -d' ' -f2 "$tmp/t.$t" | median)
  c[$t]=$(cut -d' ' -f3 "$tmp/t.$t" | median)
  echo "--threads $t: ${r[$t]} records/s, ${w[$t]} ms wall, ${c[$t]} s CPU (medians of $ROUNDS)"
done
awk -v a="${r[1]}" -v b="${r[2]}" -v wa="${w[1]}" -v wb="${w[2]}" \
  'BEGIN {printf "--threads 2 / --threads 1: %.2fx records/s, %.2fx wall time\n", b / a, wb / wa}'
