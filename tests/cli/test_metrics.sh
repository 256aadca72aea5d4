# score --metrics under a real Prometheus server: the page passes promtool,
# Prometheus scrapes it every second and its API shows what was replayed
# (predictions, DLQ copies), the lag back to 0 and a finite p99 latency;
# /readyz goes 503 -> 200 -> 503 -> 200 across start, assignment and a
# second scorer joining the group; /healthz goes 503 while the main loop is
# stalled on outputs it cannot deliver, and back to 200; the options come
# from STREAMFLOW_*; yt-consume --metrics shows likes per video and its lag.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/broker.sh"

N=2000
[ "$SF_SANITIZED" = 1 ] && N=600
model="$SF_TMP/model.safetensors"
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null || ! command -v curl >/dev/null; then
  skip "metrics under Prometheus" "prometheus, promtool or curl missing (scripts/install-deps installs them)"
  exit 0
fi

run "$SF" train --epochs 1 --model "$model" --logdir "$SF_TMP/logs"
check "a one-epoch model trains" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || done_testing

# A taken port is an error that names it (exit 1).
run "$SF" score $score_threads -b 127.0.0.1:1 --model "$model" --metrics 127.0.0.1:nope
check "--metrics with a bad address: exit 1" [ "$rc" -eq 1 ]
check_grep "--metrics with a bad address: the error names it" "127.0.0.1:nope" "$err"

broker_start --partitions 3 || done_testing

score_pid="" score2_pid="" score3_pid="" yt_pid="" prom_pid=""
stop_all() {
  local p
  for p in $yt_pid $score3_pid $score2_pid $score_pid $prom_pid; do kill -TERM "$p" 2>/dev/null; done
  for p in $yt_pid $score3_pid $score2_pid $score_pid $prom_pid; do wait "$p" 2>/dev/null; done
  score_pid="" score2_pid="" score3_pid="" yt_pid="" prom_pid=""
}
trap 'stop_all; broker_stop' EXIT

# status URL: the HTTP status of a GET (000 when nothing answers).
status() { curl -s -o /dev/null -m 20 -w '%{http_code}' "$1"; }

# ---- the scorer, its options from the environment
STREAMFLOW_METRICS=127.0.0.1:0 STREAMFLOW_GROUP=mgroup STREAMFLOW_MODEL="$model" \
  "$SF" score $score_threads >"$SF_TMP/score.out" 2>"$SF_TMP/score.err" </dev/null &
score_pid=$!
url=""
for _ in $(seq 1 200); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$SF_TMP/score.err" | head -n 1)
  [ -n "$url" ] && break
  sleep 0.05
done
check "STREAMFLOW_METRICS=127.0.0.1:0: the scorer says where it serves" [ -n "$url" ]
[ -n "$url" ] || done_testing
# readiness from the start until the first assignment
seq_ready=""
for _ in $(seq 1 600); do
  s=$(status "$url/readyz")
  [ "${seq_ready##* }" = "$s" ] || seq_ready="$seq_ready $s"
  [ "$s" = 200 ] && break
  sleep 0.05
done
check "/readyz: 503 before the assignment, then 200 (seen:$seq_ready)" [ "$seq_ready" = " 503 200" ]
check_grep "STREAMFLOW_GROUP: the scorer joined group mgroup" "assigned connections" "$(cat "$SF_TMP/score.err")"
check "/healthz: 200 while the loop runs" [ "$(status "$url/healthz")" = 200 ]
check "an unknown path: 404" [ "$(status "$url/nope")" = 404 ]

# ---- Prometheus scrapes it every second
port=$(free_port)
host=${url#http://}
mkdir -p "$SF_TMP/tsdb"
cat >"$SF_TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: streamflow
    static_configs:
      - targets: ['$host']
YML
prometheus --config.file="$SF_TMP/prometheus.yml" --storage.tsdb.path="$SF_TMP/tsdb" \
  --web.listen-address="127.0.0.1:$port" >"$SF_TMP/prom.log" 2>&1 </dev/null &
prom_pid=$!
P="http://127.0.0.1:$port"
for _ in $(seq 1 300); do [ "$(status "$P/-/ready")" = 200 ] && break; sleep 0.1; done
check "Prometheus starts on loopback" [ "$(status "$P/-/ready")" = 200 ]

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3 # no version-manager shim on each query
# query EXPR: the value of an instant query's first sample ("" when none).
query() {
  curl -s -m 20 --data-urlencode "query=$1" "$P/api/v1/query" | $PY -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")'
}
# wait_query EXPR VALUE: until the query gives VALUE (30 s at most).
wait_query() {
  local v="" end=$((SECONDS + 30))
  while [ $SECONDS -lt $end ]; do
    v=$(query "$1")
    [ "$v" = "$2" ] && return 0
    sleep 0.2
  done
  echo "#   $1 = '$v', expected '$2'"
  return 1
}
check "Prometheus scrapes the scorer (up == 1)" wait_query 'up{job="streamflow"}' 1

# ---- N good rows and 2 that go to the DLQ
zcat "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" | head -n "$N" >"$SF_TMP/rows.csv"
run "$SF" replay -q "$SF_TMP/rows.csv"
check "replay: exit 0" [ "$rc" -eq 0 ]
printf 'not,a,row\n1,2\n' >"$SF_TMP/bad.csv"
run "$SF" replay -q "$SF_TMP/bad.csv"
check "wait_query: the counter of predictions ends at the rows replayed" \
  wait_query 'sum(streamflow_predictions_total)' "$N"
check "the records counter ends at every record replayed" wait_query 'streamflow_records_total' "$((N + 2))"
check "2 DLQ copies, reason field_count" wait_query 'streamflow_dlq_records_total{reason="field_count"}' 2
check "every output acknowledged" wait_query 'streamflow_delivered_total' "$((N + 2))"
check "the lag goes to 0 on every partition" wait_query 'max(streamflow_consumer_lag)' 0
check "3 partitions with a lag" wait_query 'count(streamflow_consumer_lag)' 3
check "model_info names the model" wait_query 'count(streamflow_model_info{schema="nsl-kdd",format="safetensors"})' 1
check "a predictions series per class of the schema" wait_query 'count(streamflow_predictions_total)' 5
check "an unseen-values series per categorical column" \
  wait_query 'count(streamflow_unseen_values_total{column=~"protocol_type|service|flag"})' 3
check "a missing-values series per feature column (38 numeric, 3 categorical)" \
  wait_query 'count(streamflow_missing_values_total)' 41
check "no value of these rows is missing" wait_query 'sum(streamflow_missing_values_total)' 0
p99=$(query 'histogram_quantile(0.99, sum by (le) (rate(streamflow_end_to_end_latency_seconds_bucket[5m])))')
check "histogram_quantile(0.99) of the end-to-end latency is finite ($p99 s)" \
  $PY -c 'import math, sys; v = float(sys.argv[1]); sys.exit(0 if math.isfinite(v) and v > 0 else 1)' "${p99:-nan}"
cnt=$(query 'streamflow_end_to_end_latency_seconds_count')
check "a latency observation per prediction acknowledged ($cnt)" [ "$cnt" = "$N" ]

# ---- the page itself passes promtool
curl -s -m 20 "$url/metrics" >"$SF_TMP/metrics.txt"
run promtool check metrics <"$SF_TMP/metrics.txt"
check "promtool check metrics: exit 0" [ "$rc" -eq 0 ]
check "promtool check metrics: no problem" [ -z "$out$err" ]
check_grep "the page has a +Inf bucket" 'streamflow_end_to_end_latency_seconds_bucket\{le="\+Inf"\} ' \
  "$(cat "$SF_TMP/metrics.txt")"
# The drift signal: the predictions' class shares, the training rows' shares
# (KDDTrain+: 67343 normal of 125973 rows), and half the sum of their differences.
cat >"$SF_TMP/shares.py" <<'PY'
import re, sys
m = {}
for line in open(sys.argv[1]):
    g = re.match(r'(streamflow_\w+)(?:\{class="(\w+)"\})? (\S+)$', line.strip())
    if g: m[(g[1], g[2])] = float(g[3])
cls = ["normal", "DoS", "Probe", "R2L", "U2R"]
pred = [m[("streamflow_predictions_total", c)] for c in cls]
share = [m[("streamflow_prediction_class_share", c)] for c in cls]
train = [m[("streamflow_training_class_share", c)] for c in cls]
assert all(abs(s - p / sum(pred)) < 1e-9 for s, p in zip(share, pred)), (share, pred)
assert abs(train[0] - 67343 / 125973) < 1e-9 and abs(sum(train) - 1) < 1e-9, train
drift = sum(abs(s - t) for s, t in zip(share, train)) / 2
assert abs(m[("streamflow_class_share_drift", None)] - drift) < 1e-9, (m.get(("streamflow_class_share_drift", None)), drift)
print(round(drift, 4))
PY
run $PY "$SF_TMP/shares.py" "$SF_TMP/metrics.txt"
check "class shares of the predictions and of training, and their distance (drift $out)" [ "$rc" -eq 0 ]

# ---- a second scorer joins the group: the first is not ready during the rebalance
check "/readyz: 200 before the second scorer starts" [ "$(status "$url/readyz")" = 200 ]
"$SF" score $score_threads -G mgroup --model "$model" -q >/dev/null 2>"$SF_TMP/score2.err" </dev/null &
score2_pid=$!
seq_ready=" 200" why=""
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ]; do
  s=$(status "$url/readyz")
  if [ "$s" = 503 ] && [ -z "$why" ]; then why=$(curl -s -m 20 "$url/readyz"); fi
  [ "${seq_ready##* }" = "$s" ] || seq_ready="$seq_ready $s"
  [ "$seq_ready" = " 200 503 200" ] && break
  sleep 0.02
done
check "/readyz across a rebalance: 200, 503, 200 (seen:$seq_ready)" [ "$seq_ready" = " 200 503 200" ]
check_grep "/readyz says why it is not ready ($why)" "rebalance in progress|no partition" "$why"
check "the rebalances are counted" wait_query 'streamflow_rebalances_total >= bool 3' 1
check "the first scorer holds fewer partitions" wait_query 'streamflow_assigned_partitions < bool 3' 1

kill -TERM "$score_pid"
wait "$score_pid"
rc=$?
out="" err=$(tail -n 5 "$SF_TMP/score.err")
check "SIGTERM: the scorer exits 0" [ "$rc" -eq 0 ]
sanitizer_check "streamflow score --metrics" "$rc" "$(cat "$SF_TMP/score.err")"
score_pid=""
check "after exit nothing answers on the metrics port" [ "$(status "$url/metrics")" = 000 ]

# ---- /healthz when the main loop really stalls: its outputs cannot be
# delivered (the output topic has no leader), the producer queue (64 kB
# here) fills and the loop waits for room; the HTTP thread still answers.
# wait_status URL CODE: until a GET answers CODE (40 s at most).
wait_status() {
  local end=$((SECONDS + 40))
  while [ $SECONDS -lt $end ]; do
    [ "$(status "$1")" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}
broker_ctl 'create stall_in 1' >/dev/null
broker_ctl 'create stall_out 1' >/dev/null
run "$SF" replay -q -t stall_in "$SF_TMP/rows.csv"
broker_ctl 'topic-error stall_out LEADER_NOT_AVAILABLE' >/dev/null
"$SF" score $score_threads -t stall_in --output stall_out -G stall --model "$model" --metrics 127.0.0.1:0 \
  -X queue.buffering.max.kbytes=64 >/dev/null 2>"$SF_TMP/score3.err" </dev/null &
score3_pid=$!
url3=""
for _ in $(seq 1 200); do
  url3=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$SF_TMP/score3.err" | head -n 1)
  [ -n "$url3" ] && break
  sleep 0.05
done
# wait_stalled URL: until /healthz says the loop has not run (40 s at most;
# the 503 "no heartbeat yet" of a scorer still joining its group is not it).
wait_stalled() {
  local end=$((SECONDS + 40))
  while [ $SECONDS -lt $end ]; do
    curl -s -m 20 "$1" | grep -Eq "has not run for [0-9]+ ms" && return 0
    sleep 0.2
  done
  return 1
}
check "a stalled main loop: /healthz says how long the loop has not run" wait_stalled "$url3/healthz"
check "a stalled main loop: /healthz answers 503" [ "$(status "$url3/healthz")" = 503 ]
check "/metrics still answers while the loop is stalled" [ "$(status "$url3/metrics")" = 200 ]
broker_ctl 'topic-error stall_out NO_ERROR' >/dev/null
check "the outputs go out again: /healthz back to 200" wait_status "$url3/healthz" 200
# caught up: SIGTERM while the queue is still full would be an interrupted send
caught_up() {
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do
    curl -s -m 20 "$url3/metrics" | grep -qx "streamflow_delivered_total $N" && return 0
    sleep 0.2
  done
  return 1
}
check "the stalled scorer catches up: every output delivered" caught_up
kill -TERM "$score3_pid"
wait "$score3_pid"
rc=$?
out="" err=$(cat "$SF_TMP/score3.err")
check "the stalled scorer, recovered, exits 0 on SIGTERM" [ "$rc" -eq 0 ]
sanitizer_check "streamflow score (stalled)" "$rc" "$(cat "$SF_TMP/score3.err")"
score3_pid=""
# ---- yt-consume --metrics: messages, likes per video, lag
V=dQw4w9WgXcQ
{
  printf '%s|{"type":"comment","video_id":"%s","comment_id":"c1","likes":5}\n' "$V" "$V"
  printf '%s|{"type":"comment","video_id":"%s","comment_id":"c2","likes":7}\n' "$V" "$V"
  printf '%s|not json\n' "$V"
} | kcat -P -b "$BROKERS" -t topic_yt -K '|' 2>/dev/null
"$SF" yt-consume -G ytgroup -q --metrics 127.0.0.1:0 >/dev/null 2>"$SF_TMP/yt.err" </dev/null &
yt_pid=$!
yurl=""
for _ in $(seq 1 200); do
  yurl=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$SF_TMP/yt.err" | head -n 1)
  [ -n "$yurl" ] && break
  sleep 0.05
done
# yt_page LINE: until the page has LINE (30 s at most).
yt_page() {
  local end=$((SECONDS + 30))
  while [ $SECONDS -lt $end ]; do
    curl -s -m 20 "$yurl/metrics" | grep -qxF "$1" && return 0
    sleep 0.2
  done
  return 1
}
check "yt-consume: likes per video" yt_page "streamflow_yt_video_likes{video_id=\"$V\"} 12"
check "yt-consume: messages read" yt_page "streamflow_yt_messages_total 3"
check "yt-consume: malformed messages" yt_page "streamflow_yt_malformed_messages_total 1"
check "yt-consume: ready once it holds partitions" wait_status "$yurl/readyz" 200
check "yt-consume: its lag is 0" yt_page "streamflow_yt_consumer_lag{topic=\"topic_yt\",partition=\"0\"} 0"
curl -s -m 20 "$yurl/metrics" >"$SF_TMP/yt_metrics.txt"
run promtool check metrics <"$SF_TMP/yt_metrics.txt"
check "yt-consume: promtool check metrics: exit 0" [ "$rc" -eq 0 ]
check "yt-consume: promtool check metrics: no problem" [ -z "$out$err" ]
kill -TERM "$yt_pid"
wait "$yt_pid"
rc=$?
out="" err=$(cat "$SF_TMP/yt.err")
yt_pid=""
check "yt-consume --metrics: SIGTERM, exit 0" [ "$rc" -eq 0 ]
sanitizer_check "streamflow yt-consume --metrics" "$rc" "$err"
stop_all
done_testing
